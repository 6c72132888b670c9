"""Exact avalanche statistics of modular EHE networks: K homogeneous populations.

Population k has N_k units; a spike of a unit of population l adds W[k, l] to every unit of
population k (itself included when k = l: the block is constant, as in the all-to-all network of
Eurich, Herrmann & Ernst 2002). Population s is driven with total probability p_s, spread evenly
over its units (p_s / N_s per unit). By default p_s = N_s / N: every *unit* is equally likely to
be driven, as in :func:`spikereduce.avalanche.simulate` with ``p=None``. (A drive uniform over
*populations*, p_s = 1/K, is a different network when the N_k differ; pass it explicitly.)

The general theory (Schünemann, Ernst & Kesseböhmer) gives the probability of the assembly J
started at unit i as p_i det(L_J^(i)) det(M_J) / Z. In a modular network every assembly with the
same composition n = (n_1, ..., n_K) and a start in the same population s has the same
probability, and both determinants reduce to K x K ones. With U = W n (the input one unit of each
population receives from the assembly) and, for a count vector m and values x,

    V(m; x) = det(diag(x) - W diag(m)) Prod_k x_k^(m_k - 1)     (over the populations with m_k > 0),

the total weight of the compositions n started in population s is

    vol(s, n) = Prod_k C(N_k, n_k) (p_s / N_s) n_s V(n - e_s; U) V(N - n; 1 - U),

and P(size = m) = Sum_{s, |n| = m} vol(s, n) / Sum_{s, n != 0} vol(s, n). The sum runs over
Prod_k (N_k + 1) compositions instead of 2^N subsets, in log space, so N in the thousands stays
finite. The theory needs the self-coupled blocks; :func:`spikereduce.avalanche.weights.modular`
builds the same network as a full N x N matrix for the simulator and the general theory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp

from ..errors import NumericalError, ParameterError
from ..params import check_int, memory_budget
from . import _kernels_modular as K

#: The most compositions Prod_k (N_k + 1) one call enumerates (N = (10^4, 10^4) is 1e8).
MAX_TERMS = 4 * 10**8
#: The joint table P(n) is offered for K <= MAX_JOINT_K populations.
MAX_JOINT_K = 3


def check_network(sizes: Any, W_pop: Any, p_pop: Any = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a modular network; returns (sizes as int64[K], W_pop as K x K, p_pop as K).

    W_pop must be finite and non-negative with every unit's row sum Sum_l W[k, l] N_l < 1 (each
    spike dissipates, so avalanches end); p_pop a probability vector over the populations
    (default N_k / N, uniform per unit) that drives at least one population.
    """
    try:
        raw = list(np.atleast_1d(np.asarray(sizes, dtype=object)))
    except (TypeError, ValueError):
        raise ParameterError("sizes", sizes, "a list of population sizes N_k >= 1") from None
    if not 1 <= len(raw) <= 16:
        raise ParameterError("sizes", sizes, "1 to 16 population sizes")
    try:
        Nk = np.array([check_int("sizes", v, lo=1) for v in raw], dtype=np.int64)
    except ParameterError:
        raise ParameterError("sizes", list(raw) if len(raw) <= 8 else "a list",
                             "population sizes that are integers >= 1") from None
    Kp = Nk.size
    try:
        W = np.array(W_pop, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError("W_pop", W_pop, f"a {Kp} x {Kp} array of weights") from None
    if W.ndim == 0 and Kp == 1:
        W = W.reshape(1, 1)
    if W.shape != (Kp, Kp):
        raise ParameterError("W_pop", f"shape {W.shape}", f"a {Kp} x {Kp} array (one row and "
                             "one column per population)")
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise ParameterError("W_pop", W.tolist() if Kp <= 4 else "negative or non-finite",
                             "finite and non-negative")
    rows = W @ Nk.astype(np.float64)
    if np.any(rows >= 1.0):
        k = int(np.argmax(rows))
        raise ParameterError("W_pop", f"row {k}: sum_l W[{k}, l] N_l = {rows[k]:.6g}",
                             "< 1 for every population (every spike must dissipate)")
    if p_pop is None:
        p = Nk / Nk.sum()
    else:
        try:
            p = np.array(p_pop, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ParameterError("p_pop", p_pop, "a probability vector over the populations"
                                 ) from None
        if p.size != Kp or not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ParameterError("p_pop", p_pop, f"{Kp} non-negative probabilities")
        if abs(p.sum() - 1.0) > 1e-9:
            raise ParameterError("p_pop", p.tolist(), "probabilities summing to 1")
    return Nk, W, p


def _enumerate(Nk, W, p, *, joint: bool):
    terms = math.prod(int(n) + 1 for n in Nk)
    if terms > MAX_TERMS:
        raise ParameterError("sizes", Nk.tolist(), f"Prod_k (N_k + 1) <= {MAX_TERMS:.0e} "
                             f"compositions (here {terms:.3g})")
    if joint:
        if Nk.size > MAX_JOINT_K:
            raise ParameterError("joint", True, f"K <= {MAX_JOINT_K} populations for the "
                                 "joint table (use the size distribution)")
        budget = memory_budget()
        if budget is not None and 16 * Nk.size * terms > budget:
            raise ParameterError("sizes", Nk.tolist(), "a joint table that fits in memory "
                                 f"({16 * Nk.size * terms / 1e9:.3g} GB needed)")
    n_max = int(Nk.max())
    k = np.arange(n_max + 1, dtype=np.float64)
    log_binom = np.full((Nk.size, n_max + 1), -np.inf)
    for q, N in enumerate(Nk):
        log_binom[q, :N + 1] = gammaln(N + 1.0) - gammaln(k[:N + 1] + 1.0) - gammaln(
            N - k[:N + 1] + 1.0)
    with np.errstate(divide="ignore"):
        log_p_unit = np.log(p) - np.log(Nk.astype(np.float64))
        log_int = np.log(k)
    return K.modular_kernel(Nk, np.ascontiguousarray(W), log_p_unit, log_binom, log_int,
                            _start_table(W), joint)


def _start_table(W: np.ndarray) -> np.ndarray:
    """starts_ok[mask]: the populations of ``mask`` (bitmask) from which a cascade can reach
    every population of ``mask`` along W[k, l] > 0 (l -> k) without leaving it. An assembly
    whose populations no start reaches has volume 0 and is skipped."""
    Kp = W.shape[0]
    out_of = [sum(1 << k for k in range(Kp) if k != l and W[k, l] > 0) for l in range(Kp)]
    table = np.zeros(1 << Kp, dtype=np.int64)
    for mask in range(1, 1 << Kp):
        for s in range(Kp):
            if not (mask >> s) & 1:
                continue
            seen = frontier = 1 << s
            while frontier:
                nxt = 0
                for l in range(Kp):
                    if (frontier >> l) & 1:
                        nxt |= out_of[l]
                frontier = nxt & mask & ~seen
                seen |= frontier
            if seen == mask:
                table[mask] |= 1 << s
    return table


def _log_total(M: np.ndarray, S: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return M + np.log(S)


def _normaliser(logPs: np.ndarray) -> float:
    log_z = float(logsumexp(logPs))
    if not np.isfinite(log_z):
        raise NumericalError("no assembly has positive probability: the drive reaches no "
                             "population that can start an avalanche")
    return log_z


def _check_sum(P: np.ndarray, what: str) -> np.ndarray:
    total = float(P.sum())
    if not np.all(np.isfinite(P)) or abs(total - 1.0) > 1e-9:
        raise NumericalError(f"the modular {what} sums to {total!r} instead of 1")
    return P


def size_distribution(sizes: Any, W_pop: Any, p_pop: Any = None, *,
                      joint: bool = False) -> np.ndarray:
    """Exact P(s), s = 1..N (N = Sum_k N_k), of the modular network (see the module docstring).

    ``sizes``: the population sizes N_k; ``W_pop[k, l]``: the weight onto each unit of
    population k from a spike in population l; ``p_pop``: the drive probability of each
    population (default N_k / N, uniform per unit). With ``joint=True`` (K <= 3) returns the
    table P(n_1, ..., n_K) of shape (N_1 + 1, ..., N_K + 1) instead; entry 0 is 0.
    """
    Nk, W, p = check_network(sizes, W_pop, p_pop)
    if not isinstance(joint, bool):
        raise ParameterError("joint", joint, "true or false")
    if joint:
        return joint_distribution(Nk, W, p)
    return _start_resolved(Nk, W, p).sum(axis=0)


def size_distribution_by_start(sizes: Any, W_pop: Any, p_pop: Any = None) -> np.ndarray:
    """P(start population = s, size = m) as a K x N array (rows s, columns m = 1..N).

    Row sums are the start-population probabilities; a row divided by its sum is the size
    distribution of the avalanches started in that population.
    """
    return _start_resolved(*check_network(sizes, W_pop, p_pop))


def _start_resolved(Nk: np.ndarray, W: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(start population, size) of a checked network, normalised over both."""
    M, S, _, _ = _enumerate(Nk, W, p, joint=False)
    logP = _log_total(M, S)[:, 1:]
    return _check_sum(np.exp(logP - _normaliser(logP)), "size distribution")


def joint_distribution(sizes: Any, W_pop: Any, p_pop: Any = None, *,
                       by_start: bool = False) -> np.ndarray:
    """The composition of an avalanche: P(n_1, ..., n_K), shape (N_1 + 1, ..., N_K + 1), K <= 3.

    With ``by_start=True`` the leading axis is the start population: P(s, n_1, ..., n_K).
    """
    Nk, W, p = check_network(sizes, W_pop, p_pop)
    _, _, _, J = _enumerate(Nk, W, p, joint=True)
    log_z = _normaliser(J)
    T = np.exp(J - log_z).reshape((Nk.size, *(int(n) + 1 for n in Nk)))
    _check_sum(T, "joint distribution")
    return T if by_start else T.sum(axis=0)


def composition(sizes: Any, W_pop: Any, p_pop: Any = None) -> np.ndarray:
    """Mean composition of the avalanches started in each population: C[s, k] = E[n_k | start
    in population s] (K x K)."""
    Nk, W, p = check_network(sizes, W_pop, p_pop)
    M, S, Cs, _ = _enumerate(Nk, W, p, joint=False)
    # sum over sizes on one scale per start population
    top = M.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    w = np.exp(M - top)
    total = (w * S).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = (w[:, :, None] * Cs).sum(axis=1) / total[:, None]
    C[total == 0] = np.nan  # a population that is never driven starts nothing
    return C


def mean_size(sizes: Any, W_pop: Any, p_pop: Any = None) -> float:
    """Exact mean avalanche size, in O(K^3): <s> = 1^T G p / Sum_i p_i G_ii with the unit-level
    Green function G = (I - W_full)^-1, which for constant blocks is G = I + E X E^T,
    X = (I - W diag(N))^-1 W (E the unit-to-population indicator)."""
    Nk, W, p = check_network(sizes, W_pop, p_pop)
    D = np.diag(Nk.astype(np.float64))
    X = np.linalg.solve(np.eye(Nk.size) - W @ D, W)
    num = 1.0 + float(Nk @ (X @ p))
    den = float(p @ (1.0 + np.diag(X)))
    return num / den
