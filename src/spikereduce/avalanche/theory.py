"""Exact avalanche theory for EHE networks with arbitrary non-negative weights.

After Schünemann, Ernst & Kesseböhmer (arXiv:2202.02520): phase-space volume, rates, mean
size, the assembly distribution P(i_s = i, J) = p_i det(L_J^(i)) det(M_J) / Z, the size
distribution and, for small N, the generation-pattern and duration distributions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import NumericalError, ParameterError
from ..params import check_int
from . import _kernels_theory as K
from ._checks import (
    MAX_EXACT_N,
    MAX_PATTERN_N,
    MAX_TABLE_N,
    as_delta,
    as_distribution,
    as_weights,
    check_exact_size,
    dense,
)


def _setup(W: Any, p: Any, *, limit: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    Wd = dense(as_weights(W), limit=limit)
    return np.ascontiguousarray(Wd, dtype=np.float64), as_distribution(p, Wd.shape[0])


def _green_diag(W: np.ndarray) -> tuple[np.ndarray, float]:
    """diag of G = (I - W)^{-1} and log det(I - W)."""
    N = W.shape[0]
    IW = np.eye(N) - W
    sign, logdet = np.linalg.slogdet(IW)
    if sign <= 0:
        raise NumericalError("det(I - W) is not positive; W violates condition A1")
    G = np.linalg.inv(IW)
    return np.diag(G).copy(), float(logdet)


def phase_space_volume(W: Any) -> float:
    """Volume of the inhabited region D, det(I - W)."""
    Wd, _ = _setup(W, None)
    sign, logdet = np.linalg.slogdet(np.eye(Wd.shape[0]) - Wd)
    return float(sign * np.exp(logdet))


def cofactors(W: Any) -> np.ndarray:
    """det((I - W)_{-i,-i}) for every unit i (the phase-space volume of the network without i)."""
    Wd, _ = _setup(W, None)
    gd, logdet = _green_diag(Wd)
    return gd * np.exp(logdet)


def start_distribution(W: Any, p: Any = None) -> np.ndarray:
    """pi_i = p_i G_ii / sum_k p_k G_kk: the start unit of an avalanche."""
    Wd, pv = _setup(W, p)
    gd, _ = _green_diag(Wd)
    w = pv * gd
    return w / w.sum()


def trigger_rate(W: Any, p: Any = None, delta: float | None = None, *,
                 random_amplitude: bool = True) -> float:
    """Probability that one drive step triggers an avalanche, E[delta] sum_i p_i G_ii.

    ``delta`` is the amplitude (the top of its support when ``random_amplitude``, where
    E[delta] = delta/2); None means 1 - max row sum.
    """
    Wd, pv = _setup(W, p)
    d = as_delta(delta, Wd)
    gd, _ = _green_diag(Wd)
    return float((d / 2 if random_amplitude else d) * np.dot(pv, gd))


def spike_rates(W: Any, p: Any = None, delta: float | None = None, *,
                random_amplitude: bool = True) -> np.ndarray:
    """Spikes per unit per drive step, E[delta] G p."""
    Wd, pv = _setup(W, p)
    d = as_delta(delta, Wd)
    Ed = d / 2 if random_amplitude else d
    return Ed * np.linalg.solve(np.eye(Wd.shape[0]) - Wd, pv)


def mean_size(W: Any, p: Any = None) -> float:
    """Mean avalanche size <s> = 1^T G p / sum_i p_i G_ii, O(N^3)."""
    Wd, pv = _setup(W, p)
    gd, _ = _green_diag(Wd)
    f = np.linalg.solve(np.eye(Wd.shape[0]) - Wd, pv)
    return float(f.sum() / np.dot(pv, gd))


def _log_z(Wd: np.ndarray, pv: np.ndarray) -> float:
    gd, logdet = _green_diag(Wd)
    z = float(np.dot(pv, gd))
    if z <= 0:
        raise ParameterError("p", "zero drive on every unit", "a distribution with p_i > 0 "
                             "somewhere")
    return logdet + np.log(z)


def size_distribution(W: Any, p: Any = None) -> np.ndarray:
    """Exact P(s), s = 1..N, by compiled enumeration of all 2^N - 1 assemblies.

    Cost O(2^N N^3), in blocks of assemblies run in parallel (the result does not depend on
    the thread count): on two cores N = 16 takes about 0.03 s, N = 21 about 1 s, N = 26 about
    40 s; N <= 26 is accepted. Both determinants are taken by elimination without pivoting,
    which is stable here: M_J is strictly diagonally dominant (every row sum of W is below 1)
    and L_J, with the row and column of a root of J removed, is a non-singular M-matrix.
    Symmetric W uses the root-independence shortcut.
    """
    Wd, pv = _setup(W, p)
    check_exact_size(Wd.shape[0])
    symmetric = bool(np.array_equal(Wd, Wd.T))
    P = K.size_kernel(Wd, pv, _log_z(Wd, pv), symmetric)
    _check_normalised(P, "size distribution")
    return P


def _check_normalised(P: np.ndarray, what: str) -> None:
    total = float(P.sum())
    if not np.isfinite(total) or abs(total - 1.0) > 1e-8:
        raise NumericalError(f"the exact {what} sums to {total!r} instead of 1")


def _mask(units: Iterable[int], N: int) -> int:
    mask = 0
    for u in units:
        u = check_int("units", u, lo=0, hi=N - 1)
        mask |= 1 << u
    if mask == 0:
        raise ParameterError("units", list(units), "a non-empty set of unit indices")
    return mask


def _laplacian(Wd: np.ndarray, J: np.ndarray) -> np.ndarray:
    WJ = Wd[np.ix_(J, J)]
    return np.diag(WJ.sum(axis=1)) - WJ


def _complement_matrix(Wd: np.ndarray, J: np.ndarray) -> np.ndarray:
    N = Wd.shape[0]
    Jc = np.setdiff1d(np.arange(N), J)
    inJ = Wd[:, J].sum(axis=1)
    return np.diag(1.0 - inJ[Jc]) - Wd[np.ix_(Jc, Jc)]


def assembly_probability(W: Any, start: int | None, units: Iterable[int],
                         p: Any = None) -> float:
    """P(i_s = start, assembly = units); ``start=None`` sums over the start unit."""
    Wd, pv = _setup(W, p)
    N = Wd.shape[0]
    J = np.array(sorted(set(int(u) for u in np.atleast_1d(np.asarray(list(units))))))
    _mask(J.tolist(), N)
    starts = J if start is None else [check_int("start", start, lo=0, hi=N - 1)]
    if start is not None and start not in J:
        raise ParameterError("start", start, f"a member of units {J.tolist()}")
    L = _laplacian(Wd, J)
    M = _complement_matrix(Wd, J)
    # Both determinants are positive (a weighted arborescence count, an M-matrix) and can span
    # many orders of magnitude: combine them in log space.
    log_det_m = _log_det(M)
    terms = []
    for i in starts:
        if pv[i] == 0.0 or not _reaches_all(Wd, J, int(i)):
            continue  # not every unit of J is reachable from i: probability exactly zero
        r = int(np.flatnonzero(J == i)[0])
        keep = np.arange(J.size) != r
        terms.append(np.log(pv[i]) + _log_det(L[np.ix_(keep, keep)]))
    if not terms:
        return 0.0
    return float(np.exp(np.logaddexp.reduce(terms) + log_det_m - _log_z(Wd, pv)))


def _log_det(A: np.ndarray) -> float:
    """log det A of a matrix whose determinant is non-negative (0 x 0: log 1)."""
    if A.size == 0:
        return 0.0
    sign, logdet = np.linalg.slogdet(A)
    return float(logdet) if sign > 0 else -np.inf


def _reaches_all(Wd: np.ndarray, J: np.ndarray, start: int) -> bool:
    """Whether every unit of J is reachable from ``start`` along edges k -> j (W[j, k] > 0)
    inside J: a breadth-first search, for networks of any size."""
    inside = np.zeros(Wd.shape[0], bool)
    inside[J] = True
    seen = np.zeros_like(inside)
    seen[start] = True
    frontier = [start]
    while frontier:
        k = frontier.pop()
        new = np.flatnonzero(inside & ~seen & (Wd[:, k] > 0.0))
        seen[new] = True
        frontier.extend(new.tolist())
    return bool(seen[J].all())


@dataclass(frozen=True)
class AssemblyTable:
    """Full start-resolved assembly distribution of a small network.

    ``probabilities[mask, i]`` = P(i_s = i, J = {j : bit j of mask set}); row 0 is unused.
    """

    N: int
    probabilities: np.ndarray

    def __repr__(self) -> str:
        return (f"AssemblyTable(N={self.N}, {np.count_nonzero(self.probabilities)} non-zero "
                f"(start, assembly) probabilities of {self.N * (2 ** self.N - 1)})")

    def probability(self, start: int | None, units: Iterable[int]) -> float:
        mask = _mask(units, self.N)
        row = self.probabilities[mask]
        return float(row.sum() if start is None else row[int(start)])

    def assembly_distribution(self) -> np.ndarray:
        """P(J) summed over start units, indexed by bitmask."""
        return self.probabilities.sum(axis=1)

    def size_distribution(self) -> np.ndarray:
        sizes = np.array([int(m).bit_count() for m in range(1 << self.N)])
        return np.bincount(sizes, weights=self.assembly_distribution(),
                           minlength=self.N + 1)[1:]


def assembly_table(W: Any, p: Any = None) -> AssemblyTable:
    """Every P(i_s = i, J) of a network with N <= 16 (N 2^N numbers)."""
    Wd, pv = _setup(W, p)
    check_exact_size(Wd.shape[0], MAX_TABLE_N, "the full assembly table")
    T = K.table_kernel(Wd) * pv[None, :] / np.exp(_log_z(Wd, pv))
    _check_normalised(T.sum(axis=1), "assembly table")
    return AssemblyTable(Wd.shape[0], T)


def size_duration_distribution(W: Any, p: Any = None) -> np.ndarray:
    """Joint P(s, D) (rows s = 1..N, columns D = 1..N) from generation patterns.

    The number of patterns grows super-exponentially; a dynamic programme over (union, last
    generation) makes N <= 10 feasible.
    """
    Wd, pv = _setup(W, p)
    check_exact_size(Wd.shape[0], MAX_PATTERN_N, "generation-pattern enumeration")
    joint = K.pattern_kernel(Wd, pv, K.complement_dets(Wd)) / np.exp(_log_z(Wd, pv))
    _check_normalised(joint, "size-duration distribution")
    return joint


def duration_distribution(W: Any, p: Any = None) -> np.ndarray:
    """P(D = d), d = 1..N: the number of synchronous generations, N <= 10."""
    return size_duration_distribution(W, p).sum(axis=0)


def pattern_probability(W: Any, generations: Sequence[Iterable[int]], p: Any = None) -> float:
    """P(G_1 = {i}, G_2, ..., G_D) for one ordered list of generations."""
    Wd, pv = _setup(W, p)
    N = Wd.shape[0]
    gens = [sorted(set(int(u) for u in g)) for g in generations]
    if not gens or len(gens[0]) != 1 or any(len(g) == 0 for g in gens):
        raise ParameterError("generations", generations,
                             "a list of non-empty generations, the first a single start unit")
    flat = [u for g in gens for u in g]
    if len(set(flat)) != len(flat):
        raise ParameterError("generations", generations, "disjoint generations")
    _mask(flat, N)
    weight = pv[gens[0][0]]
    for prev, cur in zip(gens[:-1], gens[1:], strict=True):
        weight *= float(np.prod(Wd[np.ix_(cur, prev)].sum(axis=1)))
    M = _complement_matrix(Wd, np.array(sorted(flat)))
    detM = np.linalg.det(M) if M.size else 1.0
    return float(weight * detM / np.exp(_log_z(Wd, pv)))


def isolated_probability(W: Any, unit: int) -> float:
    """P(J = {i} | i_s = i) = det(M_{i}) / det((I - W)_{-i,-i}): an avalanche started at unit i
    stays a single spike. Works for large sparse W (one sparse LU), so it gives the
    exact P(s = 1) of translation-invariant networks such as the torus."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    Wm = as_weights(W)
    N = Wm.shape[0]
    i = check_int("unit", unit, lo=0, hi=N - 1)
    keep = np.flatnonzero(np.arange(N) != i)
    if N == 1:
        return 1.0
    col = (Wm[:, [i]].toarray().ravel() if sp.issparse(Wm) else np.asarray(Wm[:, i]))[keep]
    S = np.flatnonzero(col > 0)
    if S.size == 0:
        return 1.0
    A = (sp.identity(N, format="csr") - sp.csr_array(Wm))[keep][:, keep].tocsc()
    E = np.zeros((N - 1, S.size))
    E[S, np.arange(S.size)] = 1.0
    X = splu(A).solve(E)
    small = np.eye(S.size) - X[S, :] * col[S][None, :]
    return float(np.linalg.det(small))


def in_phase_space(W: Any, u: Any) -> bool | np.ndarray:
    """Burning test: u lies in D iff repeatedly deleting units j of S with
    u_j >= sum_{k in S} W_jk empties S. Accepts one state (N,) or a batch (M, N)."""
    Wd, _ = _setup(W, None)
    U = np.atleast_2d(np.asarray(u, dtype=np.float64))
    if U.shape[1] != Wd.shape[0]:
        raise ParameterError("u", f"shape {U.shape}", f"states of length {Wd.shape[0]}")
    from ._kernels_sim import burning_test

    res = np.array([burning_test(Wd, row) for row in U])
    return bool(res[0]) if np.ndim(u) == 1 else res


__all__ = [
    "MAX_EXACT_N", "AssemblyTable", "assembly_probability", "assembly_table", "cofactors",
    "duration_distribution", "in_phase_space", "isolated_probability", "mean_size",
    "pattern_probability", "phase_space_volume", "size_distribution",
    "size_duration_distribution", "spike_rates", "start_distribution", "trigger_rate",
]
