"""Closed-form avalanche size distributions of structured EHE networks.

Homogeneous with and without self-coupling, two coupled populations, ring and line, all in log
space (gammaln, log1p, logaddexp) so that large N and alpha -> 1 stay finite; and the FFT mean
size of the 2-D torus.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, logsumexp

from ..errors import NumericalError, ParameterError
from ..params import check_count, check_int, check_real, memory_budget
from .weights import torus_neighbours

# float64 work arrays per avalanche size while a distribution is evaluated
_BYTES_PER_SIZE = 64


def _log_binom(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    return gammaln(np.asarray(n) + 1.0) - gammaln(np.asarray(k) + 1.0) - gammaln(
        np.asarray(n) - np.asarray(k) + 1.0)


def _finish(logP: np.ndarray, what: str) -> np.ndarray:
    P = np.exp(logP)
    total = P.sum()
    if not np.isfinite(total) or abs(total - 1.0) > 1e-8:
        raise NumericalError(f"closed form {what} sums to {total!r} instead of 1")
    return P


def homogeneous(N: int, alpha: float, self_coupling: bool = True) -> np.ndarray:
    """P(s), s = 1..N, of the all-to-all network with row sum alpha and uniform drive.

    With self-coupling (W = alpha/N 11^T) this is Eurich, Herrmann & Ernst (2002):
    P(L) = (1/N) C(N,L) (L alpha/N)^(L-1) (1 - L alpha/N)^(N-L-1) (1-alpha)/(1-(N-1)alpha/N).
    Without (W = alpha/(N-1)(11^T - I)).
    """
    N = check_count("N", N, lo=1 if self_coupling else 2, bytes_per_item=_BYTES_PER_SIZE)
    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, hi_open=True)
    n = np.arange(1, N + 1, dtype=np.float64)
    if alpha == 0.0:
        P = np.zeros(N)
        P[0] = 1.0
        return P
    if self_coupling:
        w = alpha / N
        log_tail = np.where(n < N, (N - n - 1) * np.log1p(-n * w) + np.log1p(-alpha),
                            0.0)  # n = N: the (1 - N w)^-1 (1 - alpha) factor is 1
        logP = (-np.log(N) + _log_binom(N, n) + (n - 1) * np.log(n * w) + log_tail
                - np.log1p(-(N - 1) * w))
    else:
        w = alpha / (N - 1)
        log_tail = np.where(n < N, (N - n - 1) * np.log1p(-(n - 1) * w) + np.log1p(-alpha),
                            0.0)  # n = N: (1 - (N-1) w)^-1 (1 - alpha) = 1
        logP = (_log_binom(N - 1, n - 1) + (n - 1) * np.log(n * w) + log_tail - np.log(n)
                - (N - 2) * np.log1p(w) - np.log1p(-(N - 2) * w))
    return _finish(logP, "homogeneous")


def two_population(n_s: int, a: float, b: float, joint: bool = False) -> np.ndarray:
    """Two homogeneous populations of n_s units (weight a within, self included; b > 0 between).

    Returns P(s) for s = 1..2 n_s, or with ``joint=True`` the (n_s+1) x (n_s+1) table of
    P(n_1, n_2) (units of the assembly in population 1 and 2; entry [0, 0] is 0).
    """
    n_s = check_count("n_s", n_s, bytes_per_item=2 * _BYTES_PER_SIZE)
    budget = memory_budget()
    if joint and budget is not None:
        n_s = check_int("n_s", n_s, lo=1, hi=max(1, math.isqrt(int(budget / 24)) - 1))
    a = check_real("a", a, lo=0.0)
    b = check_real("b", b, lo=0.0, lo_open=True)
    if n_s * (a + b) >= 1.0:
        raise ParameterError("a", a, "such that the row sum n_s (a + b) < 1 "
                             f"(got {n_s * (a + b):g})")
    n1, n2 = np.meshgrid(np.arange(n_s + 1.0), np.arange(n_s + 1.0), indexing="ij")
    n = n1 + n2
    l1, l2 = n_s - n1, n_s - n2
    s1, s2 = n1 * a + n2 * b, n2 * a + n1 * b
    S1, S2 = 1.0 - s1, 1.0 - s2
    bracket = (S1 - a * l1) * (S2 - a * l2) - l1 * l2 * b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        # exponents n_k - 1 and l_k - 1 reach -1 when a population is absent from the assembly
        # (or fully inside it); the formula holds there too, the where() only avoids log(0)
        log_t1 = np.where(n1 > 0, (n1 - 1) * np.log(np.where(s1 > 0, s1, 1.0)), -np.log(
            np.where(s1 > 0, s1, 1.0)))
        log_t2 = np.where(n2 > 0, (n2 - 1) * np.log(np.where(s2 > 0, s2, 1.0)), -np.log(
            np.where(s2 > 0, s2, 1.0)))
        logS = (np.where(l1 > 0, (l1 - 1) * np.log(S1), -np.log(S1))
                + np.where(l2 > 0, (l2 - 1) * np.log(S2), -np.log(S2)))
        logP = (_log_binom(n_s, n1) + _log_binom(n_s, n2) + np.log(np.where(n > 0, n, 1.0))
                + np.log(b) + log_t1 + log_t2 + logS + np.log(np.abs(bracket))
                - np.log(2 * n_s) - np.log(1 - a * (2 * n_s - 1) + (a * a - b * b) * n_s
                                           * (n_s - 1)))
    logP = np.where(n > 0, logP, -np.inf)
    table = np.exp(logP)
    if not np.all(np.isfinite(table)) or abs(table.sum() - 1.0) > 1e-8:
        raise NumericalError(f"two-population closed form sums to {table.sum()!r}")
    if joint:
        return table
    sizes = (n1 + n2).astype(int).ravel()
    return np.bincount(sizes, weights=table.ravel(), minlength=2 * n_s + 1)[1:]


def _log_diff_pow(a: float, m: np.ndarray) -> np.ndarray:
    """log((1+a)^m - (1-a)^m) for m >= 1, 0 < a < 1, without cancellation."""
    return m * np.log1p(-a) + np.log(np.expm1(2.0 * m * np.arctanh(a)))


def ring(N: int, alpha: float) -> np.ndarray:
    """P(s), s = 1..N, of the N-cycle with neighbour weights alpha/2."""
    N = check_count("N", N, lo=3, bytes_per_item=_BYTES_PER_SIZE)
    alpha = check_real("alpha", alpha, lo=0.0, lo_open=True, hi=1.0, hi_open=True)
    a = np.sqrt(1.0 - alpha * alpha)
    n = np.arange(1, N + 1, dtype=np.float64)
    m = N - n
    with np.errstate(divide="ignore"):
        log_v = np.where(m > 0, np.log(a) + _log_diff_pow(a, np.maximum(m, 1)) - m * np.log(2)
                         - np.log1p(alpha), 0.0)
    log_p0 = _log_diff_pow(a, np.float64(N)) - N * np.log(2) - np.log(a)
    logP = np.log(n) + (n - 1) * np.log(alpha / 2) + log_v - log_p0
    return _finish(logP, "ring")


def line(N: int, alpha: float) -> np.ndarray:
    """P(s), s = 1..N, of the ring with one edge removed, weights alpha/2.

    The sum costs O(N^2): N is limited to 20 000 (about 10 s)."""
    N = check_int("N", N, lo=2, hi=20_000)
    alpha = check_real("alpha", alpha, lo=0.0, lo_open=True, hi=1.0, hi_open=True)
    a = np.sqrt(1.0 - alpha * alpha)
    m = np.arange(N, dtype=np.float64)
    # v_L(m) = ((1-alpha+a)(1+a)^m + (alpha+a-1)(1-a)^m) / (a 2^(m+1)); both terms > 0
    log_vL = (np.logaddexp(np.log(1 - alpha + a) + m * np.log1p(a),
                           np.log(alpha + a - 1) + m * np.log1p(-a)) - np.log(a)
              - (m + 1) * np.log(2))
    log_vL[0] = 0.0
    # r(m) = ((1+a)^(m+1) - (1-a)^(m+1)) / (2^(m+1) a)
    log_r = _log_diff_pow(a, m + 1) - (m + 1) * np.log(2) - np.log(a)
    log_p0 = logsumexp(log_r + log_r[::-1]) - np.log(N)
    logP = np.empty(N)
    for n in range(1, N + 1):
        k = N - n
        conv = logsumexp(log_vL[:k + 1] + log_vL[:k + 1][::-1])
        logP[n - 1] = -np.log(N) + np.log(n) + (n - 1) * np.log(alpha / 2) + conv - log_p0
    return _finish(logP, "line")


def torus_mean_size(l: int, k: int, alpha: float) -> float:
    """Mean avalanche size of the l x l torus with Moore radius k (uniform drive), by FFT:
    <s> = [1/(1 - alpha)] / [(1/N) sum_q 1/lambda_q], lambda_q the eigenvalues of I - W,
    O(N log N)."""
    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, hi_open=True)
    nb = torus_neighbours(l, k)
    c = alpha / nb.shape[1]
    psf = np.zeros(l * l)
    psf[0] = 1.0
    psf[nb[0]] -= c
    lam = np.real(np.fft.fft2(psf.reshape(l, l)))
    return float((1.0 / (1.0 - alpha)) / np.mean(1.0 / lam))


def homogeneous_size_duration(N: int, alpha: float) -> np.ndarray:
    """Joint P(s, D) (rows s = 1..N, columns D = 1..N) of the homogeneous network with
    self-coupling, from the generation-profile formula:

    P(1, n_2, ..., n_D) = C(N-1, n-1) (n-1)!/(n_2! ... n_D!) prod_t (n_{t-1} w)^{n_t}
                          (1 - n w)^(N-n-1) (1 - alpha)/(1 - (N-1) w),   w = alpha/N,

    summed over profiles by a dynamic programme over (units so far, last generation size),
    O(N^3) per generation. N <= 300 keeps the partial sums inside float64.
    """
    N = check_int("N", N, lo=1, hi=300)
    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, hi_open=True)
    w = alpha / N
    k = np.arange(N + 1, dtype=np.float64)
    j = np.arange(1, N + 1, dtype=np.float64)
    # C[k, j-1] = (k alpha)^j / j!; the factor N^-(n-1) of w^(n-1) is applied at the end so
    # that partial sums stay within float64
    with np.errstate(divide="ignore"):
        logC = j[None, :] * np.log(k[:, None] * alpha) - gammaln(j + 1.0)[None, :]
    C = np.exp(logC)
    n = np.arange(1, N + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_tail = np.where(n < N, (N - n - 1) * np.log1p(-n * w) + np.log1p(-alpha), 0.0)
    log_pref = (_log_binom(N - 1, n - 1) + gammaln(n) - (n - 1) * np.log(N) + log_tail
                - np.log1p(-(N - 1) * w))
    f = np.zeros((N + 1, N + 1))
    f[1, 1] = 1.0
    # index pairs (m, j) with m + j <= N: the new generation of j units after m units
    mm, jj = np.nonzero(np.add.outer(np.arange(N + 1), np.arange(N + 1)) <= N)
    keep = jj >= 1
    mm, jj = mm[keep], jj[keep]
    fsum = np.zeros((N, N))
    for d in range(N):
        fsum[:, d] = f[1:, :].sum(axis=1)
        X = f @ C  # X[m, j-1] = sum_k f[m, k] (k alpha)^j / j!
        g = np.zeros_like(f)
        g[mm + jj, jj] = X[mm, jj - 1]
        if not g.any():
            break
        f = g
    with np.errstate(divide="ignore"):
        joint = np.exp(np.log(fsum) + log_pref[:, None])
    if not np.all(np.isfinite(joint)) or abs(joint.sum() - 1.0) > 1e-8:
        raise NumericalError(f"homogeneous profile sum gives total {joint.sum()!r}")
    return joint
