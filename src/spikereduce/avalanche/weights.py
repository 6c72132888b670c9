"""Weight-matrix constructors of the EHE avalanche networks (W[i, j]: input to i when j spikes).

Homogeneous (with/without self-coupling), two populations, ring,
line, 2-D torus with Moore neighbourhood k, and networkx graphs normalised to row sum alpha.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from ..params import check_int, check_real, memory_budget
from ._checks import as_weights


def _alpha(alpha: Any) -> float:
    return check_real("alpha", alpha, lo=0.0, hi=1.0, hi_open=True)


def _out(W: np.ndarray | sp.spmatrix, sparse: bool) -> np.ndarray | sp.csr_array:
    if sparse:
        return sp.csr_array(W)
    return W.toarray() if sp.issparse(W) else W


def _dense_fits(N: int) -> int:
    """``N`` if an N x N float64 matrix fits in the available memory, else ParameterError."""
    need = 8.0 * N * N
    budget = memory_budget()
    if budget is not None and need > budget:
        raise ParameterError("N", N, f"<= {int((budget / 8.0) ** 0.5)}: an N x N matrix needs "
                             f"{need / 1e9:.3g} GB and {budget / 0.8 / 1e9:.3g} GB of memory is "
                             "available")
    return N


def homogeneous(N: int, alpha: float, self_coupling: bool = True, *,
                sparse: bool = False) -> np.ndarray | sp.csr_array:
    """All-to-all coupling with row sum alpha.

    ``self_coupling=True``: W = (alpha/N) 11^T (the EHE 2002 network); ``False``:
    W = alpha/(N-1) (11^T - I).
    """
    N = _dense_fits(check_int("N", N, lo=1 if self_coupling else 2))
    alpha = _alpha(alpha)
    if self_coupling:
        W = np.full((N, N), alpha / N)
    else:
        W = np.full((N, N), alpha / (N - 1))
        np.fill_diagonal(W, 0.0)
    return _out(W, sparse)


def two_population(n_s: int, a: float, b: float, *,
                   sparse: bool = False) -> np.ndarray | sp.csr_array:
    """Two homogeneous populations of n_s units: weight a within (self included), b between."""
    n_s = check_int("n_s", n_s, lo=1)
    a = check_real("a", a, lo=0.0)
    b = check_real("b", b, lo=0.0)
    if n_s * (a + b) >= 1.0:
        raise ParameterError("a", a, "such that the row sum n_s (a + b) < 1 "
                             f"(got {n_s * (a + b):g})")
    W = np.full((2 * n_s, 2 * n_s), b)
    W[:n_s, :n_s] = a
    W[n_s:, n_s:] = a
    return _out(W, sparse)


def modular(sizes: Any, W_pop: Any, self_coupling: bool = True, *,
            sparse: bool = False) -> np.ndarray | sp.csr_array:
    """The full N x N matrix of K homogeneous populations: W[i, j] = W_pop[pop(i), pop(j)],
    units numbered population by population (population k holds units
    sum_{l<k} N_l .. sum_{l<=k} N_l - 1). ``self_coupling=False`` zeroes the diagonal (the
    exact modular theory assumes self-coupling)."""
    from .modular import check_network

    if not isinstance(self_coupling, bool):
        raise ParameterError("self_coupling", self_coupling, "true or false")
    Nk, Wp, _ = check_network(sizes, W_pop)
    N = _dense_fits(int(Nk.sum()))
    pop = np.repeat(np.arange(Nk.size), Nk)
    W = Wp[np.ix_(pop, pop)]
    if not self_coupling:
        np.fill_diagonal(W, 0.0)
    return _out(W, sparse) if N else W


def _cycle(N: int, alpha: float, *, cut: bool, sparse: bool) -> np.ndarray | sp.csr_array:
    if not sparse:
        _dense_fits(N)
    i = np.arange(N)
    rows = np.concatenate([i, i])
    cols = np.concatenate([(i + 1) % N, (i - 1) % N])
    W = sp.coo_array((np.full(2 * N, alpha / 2), (rows, cols)), shape=(N, N)).tocsr()
    if cut:
        # the line: delete the edge N-1 <-> 0 in both directions; ends keep weight alpha/2
        W = W.tolil()
        W[0, N - 1] = 0.0
        W[N - 1, 0] = 0.0
        W = sp.csr_array(W)
        W.eliminate_zeros()
    return _out(W, sparse)


def ring(N: int, alpha: float, *, sparse: bool = False) -> np.ndarray | sp.csr_array:
    """N-cycle, each unit receiving alpha/2 from each of its two neighbours (no self-weights)."""
    N = check_int("N", N, lo=3)
    return _cycle(N, _alpha(alpha), cut=False, sparse=sparse)


def line(N: int, alpha: float, *, sparse: bool = False) -> np.ndarray | sp.csr_array:
    """The ring with the edge between units N-1 and 0 removed; all weights stay alpha/2."""
    N = check_int("N", N, lo=2)
    if N == 2:
        alpha = _alpha(alpha)
        return _out(np.array([[0.0, alpha / 2], [alpha / 2, 0.0]]), sparse)
    return _cycle(N, _alpha(alpha), cut=True, sparse=sparse)


def torus_neighbours(l: int, k: int) -> np.ndarray:
    """Neighbour lists of the l x l periodic grid: row u lists the ((2k+1)^2 - 1) units within
    Chebyshev distance k of unit u = x*l + y (itself excluded)."""
    l = check_int("l", l, lo=1)
    k = check_int("k", k, lo=1)
    if 2 * k + 1 > l:
        raise ParameterError("k", k, f"<= (l - 1)/2 = {(l - 1) // 2} so neighbourhoods do not wrap "
                             "onto themselves")
    offs = [(dx, dy) for dx in range(-k, k + 1) for dy in range(-k, k + 1) if (dx, dy) != (0, 0)]
    x, y = np.divmod(np.arange(l * l), l)
    return np.stack([((x + dx) % l) * l + (y + dy) % l for dx, dy in offs], axis=1)


def torus(l: int, k: int, alpha: float, *, sparse: bool = True) -> np.ndarray | sp.csr_array:
    """2-D l x l torus, Moore neighbourhood of radius k without self, weight alpha/((2k+1)^2 - 1).

    Sparse (CSR) by default: N = l^2 is large.
    """
    alpha = _alpha(alpha)
    nb = torus_neighbours(l, k)
    N, m = nb.shape
    W = sp.csr_array((np.full(N * m, alpha / m), (np.repeat(np.arange(N), m), nb.ravel())),
                     shape=(N, N))
    return _out(W, sparse)


def from_graph(graph: Any, alpha: float, *, sparse: bool = False) -> np.ndarray | sp.csr_array:
    """Weights from a networkx graph: adjacency (edge u -> v means v receives from u; undirected
    edges act both ways), each row scaled to sum alpha. Isolated units keep a zero row."""
    import networkx as nx

    alpha = _alpha(alpha)
    if not isinstance(graph, nx.Graph):
        raise ParameterError("graph", type(graph).__name__, "a networkx graph")
    if graph.number_of_nodes() < 1:
        raise ParameterError("graph", "empty graph", "a graph with at least one node")
    A = nx.to_numpy_array(graph, nodelist=list(graph.nodes()), weight=None)
    # networkx: A[u, v] = 1 for an edge u -> v; we need W[v, u] (v receives from u)
    A = np.asarray(A.T, dtype=np.float64)
    deg = A.sum(axis=1)
    W = np.divide(alpha * A, deg[:, None], out=np.zeros_like(A), where=deg[:, None] > 0)
    return as_weights(_out(W, sparse))
