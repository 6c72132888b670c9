"""The dsODE one-step transition kernel: uniform-in-bin voltages plus a Gaussian increment.

The dsODE's bin transport: X = U + Z with U ~ Unif[a, b], Z ~ N(μ, σ²); closed forms of
F(x) = P(X ≤ x) and of the shortfall D(x) = E[(x − X)⁺], from which
G(x) = E[X·1{X ≤ x}] = x·F(x) − D(x).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from scipy.special import ndtr

from ..errors import ParameterError
from ..params import check_positive, check_real
from ..rng.generators import binomial_small

_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
# Beyond this many σ the normal tail (Φ(−6.5) = 4e-11) is below the reference 1e-10 tolerance.
_CUT = 6.5
# Below this width (relative to σ) the uniform is treated as a point mass: the closed form's
# differences of O(y²) terms would lose more digits than the O(width²) the point mass costs.
_POINT = 1e-3


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def _cdf_shortfall(x, a, b, mu, sigma):
    """(F(x), D(x)) for X = Unif[a, b] + N(mu, sigma²)."""
    w = b - a
    return _cdf_shortfall_fast(x, a + mu, b + mu, sigma, 1.0 / sigma, 1.0 / w, w < _POINT * sigma)


# Quintic Hermite interpolants of Φ and of the pdf φ on [−_CUT, _CUT], matching values and
# first two derivatives at the nodes: interpolation error ≤ max|f⁽⁶⁾|·h⁶/(2⁶·6!) ≈ 2e-12 at
# h = 0.05, far below the transport's 1e-10 tolerance, and several times cheaper than erfc + exp.
# Each interval's two quintics are stored as monomial coefficients in u = (t − t_j)/h (row j:
# six for Φ, six for φ) and evaluated by Horner's rule.
_H = 0.05
_INV_H = 20.0


def _hermite_coefficients() -> np.ndarray:
    nodes = np.linspace(-_CUT, _CUT, int(round(2 * _CUT / _H)) + 1)
    pdf = np.exp(-0.5 * nodes ** 2) / math.sqrt(2.0 * math.pi)
    # per interval: values, h·(first derivative), h²·(second derivative) at both ends
    f, d, e = ndtr(nodes), _H * pdf, _H * _H * (-nodes) * pdf
    pd, pe = _H * (-nodes) * pdf, _H * _H * (nodes ** 2 - 1.0) * pdf
    # rows: the basis functions h0, h1, g0, g1, k0, k1 as coefficients of u^0..u^5
    basis = np.array([[1, 0, 0, -10, 15, -6], [0, 0, 0, 10, -15, 6],
                      [0, 1, 0, -6, 8, -3], [0, 0, 0, -4, 7, -3],
                      [0, 0, 0.5, -1.5, 1.5, -0.5], [0, 0, 0, 0.5, -1.0, 0.5]])
    cdf = np.stack([f[:-1], f[1:], d[:-1], d[1:], e[:-1], e[1:]], axis=1) @ basis
    dens = np.stack([pdf[:-1], pdf[1:], pd[:-1], pd[1:], pe[:-1], pe[1:]], axis=1) @ basis
    return np.ascontiguousarray(np.concatenate([cdf, dens], axis=1))


_COEF = _hermite_coefficients()
_N_INTERVALS = _COEF.shape[0]


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def _normal_cdf_pdf(t):
    """(Φ(t), φ(t)) by quintic Hermite interpolation for |t| < _CUT (exact outside)."""
    x = (t + _CUT) * _INV_H
    if not (x >= 0.0 and x < _N_INTERVALS):
        return 0.5 * math.erfc(-t * _INV_SQRT2), _INV_SQRT2PI * math.exp(-0.5 * t * t)
    j = int(x)
    u = x - j
    c = _COEF[j]
    cdf = c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * (c[4] + u * c[5]))))
    pdf = c[6] + u * (c[7] + u * (c[8] + u * (c[9] + u * (c[10] + u * c[11]))))
    return cdf, pdf


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def _antiderivatives(y, sigma, inv_s):
    """(Φ, A0, B) at y for Z ~ N(0, σ²): Φ = P(Z ≤ y), A0(y) = yΦ + σ²·pdf = E[(y − Z)⁺] and
    B(y) = ((y² + σ²)/2)Φ + (σ²y/2)·pdf, its antiderivative; exact limits beyond ±_CUT·σ, where
    the normal tail is below the reference tolerance (saves the erfc/exp pair there).
    """
    cut = _CUT * sigma
    if y >= cut:
        return 1.0, y, 0.5 * (y * y + sigma * sigma)
    if y <= -cut:
        return 0.0, 0.0, 0.0
    big_phi, pdf = _normal_cdf_pdf(y * inv_s)
    dens = sigma * pdf
    a0 = y * big_phi + dens
    return big_phi, a0, 0.5 * ((y * y + sigma * sigma) * big_phi + y * dens)


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def _cdf_shortfall_fast(x, lo, hi, sigma, inv_s, inv_w, point):
    """(F(x), D(x)) for X uniform on [lo, hi] plus N(0, sigma²); reciprocals precomputed.

    F = [A0(x−lo) − A0(x−hi)]/w and D = [B(x−lo) − B(x−hi)]/w (see :func:`_antiderivatives`);
    a width below _POINT·σ is treated as a point mass at the centre.
    """
    if x <= lo - _CUT * sigma:
        return 0.0, 0.0
    if x >= hi + _CUT * sigma:
        return 1.0, x - 0.5 * (lo + hi)
    if point:
        big_phi, a0, _ = _antiderivatives(x - 0.5 * (lo + hi), sigma, inv_s)
        return big_phi, a0
    _, a0a, ba = _antiderivatives(x - lo, sigma, inv_s)
    _, a0b, bb = _antiderivatives(x - hi, sigma, inv_s)
    f = (a0a - a0b) * inv_w
    if f < 0.0:
        f = 0.0
    elif f > 1.0:
        f = 1.0
    return f, (ba - bb) * inv_w


@njit(cache=True, inline="always", fastmath={"contract", "arcp", "nsz"})
def _step_law(a, b, mu, sigma):
    """The support [lo, hi] of Unif[a, b] + mu, 1/σ, 1/(b − a) and whether the uniform is
    narrow enough to be a point mass: the arguments of :func:`_cdf_shortfall_fast`."""
    w = b - a
    return a + mu, b + mu, 1.0 / sigma, 1.0 / w, w < _POINT * sigma


@njit(cache=True, inline="always")
def _first_bin(edges, bottom):
    """The first bin d >= 1 whose upper edge lies above ``bottom`` (binary search): below it
    F = 0 = D."""
    nb = edges.size - 1
    if edges[2] > bottom:
        return 1
    lo_i = 2
    hi_i = nb
    while lo_i < hi_i:  # smallest j with edges[j] > bottom
        mid = (lo_i + hi_i) // 2
        if edges[mid] <= bottom:
            lo_i = mid + 1
        else:
            hi_i = mid
    return lo_i - 1


@njit(cache=True, inline="always", fastmath={"contract", "arcp", "nsz"})
def _bin_mean(edges, d, f_d, d_d, d_prev, qd):
    """Mean voltage of the mass qd that lands in bin d, from F and D at its two edges: the
    partial first moment relative to the lower edge is G(hi) − G(lo) − lo·q."""
    part = (edges[d + 1] - edges[d]) * f_d - (d_d - d_prev)
    v = edges[d] + part / qd
    if v < edges[d]:
        return edges[d]
    if v > edges[d + 1]:
        return edges[d + 1]
    return v


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def transport(a, b, mu, sigma, edges, nm, n_out, w_out):
    """Move ``nm`` neurons, uniform on [a, b], by one Gaussian step N(mu, sigma²) onto the grid.

    Adds nm·q_d to n_out[d] and nm·q_d·V̄_d to w_out[d] for bins d ≥ 1, d = (edges[d],
    edges[d+1]]; bin 0 receives nothing (mass below edges[1] is dropped, as in the reference).
    Probabilities under 1e-10 are set to 0 (reference tolerance). Returns (q_spike = 1 − F(M),
    mass fraction dropped below edges[1], total fraction placed in bins).
    """
    nb = edges.size - 1
    lo, hi, inv_s, inv_w, point = _step_law(a, b, mu, sigma)
    f_prev, d_prev = _cdf_shortfall_fast(edges[1], lo, hi, sigma, inv_s, inv_w, point)
    below = f_prev
    placed = 0.0
    # edges wholly below the support have F = 0; above it F = 1 and nothing more lands
    top = hi + _CUT * sigma
    bottom = lo - _CUT * sigma
    for d in range(_first_bin(edges, bottom), nb):
        if f_prev >= 1.0 or edges[d] >= top:
            f_prev = 1.0
            break
        f_d, d_d = _cdf_shortfall_fast(edges[d + 1], lo, hi, sigma, inv_s, inv_w, point)
        qd = f_d - f_prev
        if qd > 1e-10:
            v = _bin_mean(edges, d, f_d, d_d, d_prev, qd)
            n_out[d] += nm * qd
            w_out[d] += nm * qd * v
            placed += qd
        f_prev = f_d
        d_prev = d_d
    spike = 1.0 - f_prev
    if spike < 1e-10:
        spike = 0.0
    return spike, below, placed


@njit(cache=True, inline="always", fastmath={"contract", "arcp", "nsz"})
def transport_sample(a, b, mu, sigma, edges, count, n_out, w_out, rng):
    """Move ``count`` whole neurons, uniform on [a, b], by one Gaussian step N(mu, sigma²):
    the multinomial draw of :func:`transport`'s destinations, as successive exact binomials.

    Below the grid first, then bin by bin upward, each the binomial of the neurons left with the
    destination's probability given that they lie above its lower edge, q_d / (1 − F(e_d)); the
    neurons left above the top edge spike. The walk stops when every neuron is placed. Each
    neuron carries its bin's conditional mean to w_out; probabilities under 1e-10 are 0, as in
    :func:`transport`. ``rng``: the generator state. Returns (fired, dropped) counts.
    """
    nb = edges.size - 1
    left = count
    lo, hi, inv_s, inv_w, point = _step_law(a, b, mu, sigma)
    f_prev, d_prev = _cdf_shortfall_fast(edges[1], lo, hi, sigma, inv_s, inv_w, point)
    dropped = 0
    if f_prev > 1e-10:
        dropped = binomial_small(rng, 0, left, f_prev)
        left -= dropped
    top = hi + _CUT * sigma
    for d in range(_first_bin(edges, lo - _CUT * sigma), nb):
        # above ``top`` F = 1 to within 1e-10: a neuron still left there (probability of that
        # order) is counted with the spikes, the mass the deterministic transport drops
        if left == 0 or edges[d] >= top:
            break
        f_d, d_d = _cdf_shortfall_fast(edges[d + 1], lo, hi, sigma, inv_s, inv_w, point)
        qd = f_d - f_prev
        if qd > 1e-10:
            above = 1.0 - f_prev
            k = left if qd >= above else binomial_small(rng, 0, left, qd / above)
            if k > 0:
                n_out[d] += k
                w_out[d] += k * _bin_mean(edges, d, f_d, d_d, d_prev, qd)
                left -= k
        f_prev = f_d
        d_prev = d_d
    return left, dropped


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def closure(vbar, lo, hi, eps):
    """Support [a, b] of the uniform inside bin (lo, hi] with mean vbar."""
    if vbar < lo + eps:
        return lo, lo + eps
    if vbar <= 0.5 * (lo + hi):
        return lo, 2.0 * vbar - lo
    if vbar >= hi:
        return hi - eps, hi
    return 2.0 * vbar - hi, hi


def transition(a: float, b: float, mu: float, sigma: float, edges: Any
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """One-step transition from voltages Unif[a, b] with Gaussian increment N(mu, sigma²).

    Returns (q, vbar, q_spike): q[d] the probability to land in bin d = (edges[d], edges[d+1]],
    vbar[d] the conditional mean voltage there (0 where q = 0), q_spike = P(X > edges[-1]).
    Bin 0 never receives mass (the reference drops mass below edges[1]).
    """
    a = check_real("a", a)
    b = check_real("b", b, lo=a, lo_open=True)
    mu = check_real("mu", mu)
    sigma = check_positive("sigma", sigma)
    edges = np.ascontiguousarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 3 or np.any(np.diff(edges) <= 0):
        raise ParameterError("edges", edges.tolist(), "an increasing 1-D array of >= 3 edges")
    q = np.zeros(edges.size - 1)
    w = np.zeros(edges.size - 1)
    spike, _, _ = transport(a, b, mu, sigma, edges, 1.0, q, w)
    vbar = np.divide(w, q, out=np.zeros_like(w), where=q > 0)
    return q, vbar, float(spike)
