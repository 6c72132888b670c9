"""Steady states of the NNLIF equation, the saddle-node coupling b_c, and the CCP blow-up test.

N Psi(N) = 1 and the stationary density, the blow-up certificate,
0, 1 or 2 steady states for b > 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..params import check_int, check_positive, check_real
from .initial import GaussianDensity
from .params import NLIFParams

_GL_X, _GL_W = np.polynomial.legendre.leggauss(96)
# Steady rates are searched on [_N_LO, _N_HI]: far beyond any rate of interest (the upper branch
# for b -> (v_f - v_r)^+ escapes to infinity; it is reported once it is below _N_HI).
_N_LO, _N_HI = 1e-12, 1e8


def _constant_current(params: NLIFParams) -> float:
    c = NLIFParams.check(params).constant_current
    if c is None:
        raise ParameterError("current", params.current,
                             "a constant (steady states exist only for a time-independent input)")
    return c


def _psi_tilde(m: np.ndarray | float, params: NLIFParams) -> np.ndarray:
    """Psi as a function of the drift centre m = b N + I.

    With the order of integration swapped and u = (w - m)/sqrt(a), Psi = sqrt(pi/2) times the
    integral of erfcx(-u/sqrt 2) over [(v_r - m)/sqrt a, (v_f - m)/sqrt a]; erfcx keeps the
    e^{u^2/2} Phi(u) integrand free of overflow. Gauss–Legendre with 96 nodes on an interval of
    length (v_f - v_r)/sqrt(a) (smooth integrand) is exact to round-off for the default values.
    """
    from scipy.special import erfcx  # deferred: scipy.special costs ~0.1 s to import

    m = np.asarray(m, dtype=float)
    sa = math.sqrt(params.a)
    lo = (params.v_r - m[..., None]) / sa
    hi = (params.v_f - m[..., None]) / sa
    u = 0.5 * (hi + lo) + 0.5 * (hi - lo) * _GL_X
    with np.errstate(over="ignore"):
        vals = erfcx(-u / math.sqrt(2.0))
        return math.sqrt(math.pi / 2) * 0.5 * (hi - lo)[..., 0] * (vals @ _GL_W)


def psi(rate: Any, params: NLIFParams) -> np.ndarray:
    """Psi(N) (so steady rates solve N Psi(N) = 1) for a constant input."""
    return _psi_tilde(params.b * np.asarray(rate, float) + _constant_current(params), params)


def _brentq(*args: Any, **kwargs: Any) -> float:
    # scipy.optimize costs ~0.3 s to import: load it when a root is first needed, not with nlif.
    from scipy.optimize import brentq

    return brentq(*args, **kwargs)


def _minimize_scalar(*args: Any, **kwargs: Any) -> Any:
    from scipy.optimize import minimize_scalar

    return minimize_scalar(*args, **kwargs)


def steady_states(params: NLIFParams) -> list[float]:
    """All steady firing rates N_inf > 0 (roots of N Psi(N) = 1), in increasing order.

    One root for b <= v_f - v_r (in particular for inhibitory b <= 0); for larger b two, one
    (at the saddle node b = b_c) or none. Roots are bracketed on a log grid of N in
    [1e-12, 1e8] and refined by Brent's method to 1e-14 relative.
    """
    _constant_current(params)

    def f(x: float) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            val = x * float(psi(x, params)) - 1.0
        return val if math.isfinite(val) else math.inf

    grid = np.geomspace(_N_LO, _N_HI, 2001)
    with np.errstate(over="ignore", invalid="ignore"):
        vals = grid * psi(grid, params) - 1.0
    vals = np.where(np.isfinite(vals), vals, np.inf)
    roots: list[float] = []
    for i in range(grid.size - 1):
        if vals[i] == 0.0:
            roots.append(float(grid[i]))
        elif np.sign(vals[i]) != np.sign(vals[i + 1]):
            roots.append(_brentq(f, grid[i], grid[i + 1], xtol=1e-300, rtol=1e-14))
    # Two roots closer than a grid cell (b just below b_c) give no sign change on the grid:
    # look at every local extremum of f on the grid that stays on one side of zero.
    for i in range(1, grid.size - 1):
        v0, v1, v2 = vals[i - 1], vals[i], vals[i + 1]
        if not (np.isfinite(v0) and np.isfinite(v2)):
            continue
        if v1 < 0 and v1 >= v0 and v1 >= v2 and np.sign(v0) == np.sign(v2) == -1:
            sgn = 1.0  # a local maximum below zero may poke above it
        elif v1 > 0 and v1 <= v0 and v1 <= v2 and np.sign(v0) == np.sign(v2) == 1:
            sgn = -1.0
        else:
            continue
        res = _minimize_scalar(lambda x, s=sgn: -s * f(x), bounds=(grid[i - 1], grid[i + 1]),
                              method="bounded", options={"xatol": 1e-15 * grid[i]})
        x_ext, f_ext = float(res.x), f(float(res.x))
        if sgn * f_ext > 0:
            roots.append(_brentq(f, grid[i - 1], x_ext, xtol=1e-300, rtol=1e-14))
            roots.append(_brentq(f, x_ext, grid[i + 1], xtol=1e-300, rtol=1e-14))
        elif abs(f_ext) < 1e-12:
            roots.append(x_ext)  # tangential (double) root: exactly at the saddle node
    roots.sort()
    return roots


def stationary_density(params: NLIFParams, rate: float, v: Any) -> np.ndarray:
    """The stationary density p_inf(v) for the steady rate ``rate`` (zero above v_f)."""
    _constant_current(params)
    rate = check_positive("rate", rate)
    v = np.asarray(v, dtype=float)
    a, m = params.a, params.b * rate + _constant_current(params)
    lo = np.maximum(v, params.v_r)
    hi = np.full_like(v, params.v_f)
    w = 0.5 * (hi + lo)[..., None] + 0.5 * (hi - lo)[..., None] * _GL_X
    # e^{-(v-m)^2/2a} e^{(w-m)^2/2a} combined in one exponent: no overflow for wide domains.
    expo = ((w - m) ** 2 - (v[..., None] - m) ** 2) / (2 * a)
    inner = 0.5 * (hi - lo) * (np.exp(np.minimum(expo, 700.0)) @ _GL_W)
    return np.where(v < params.v_f, rate / a * inner, 0.0)


def critical_coupling(params: NLIFParams) -> float:
    """The saddle-node coupling b_c: no steady state exists for b > b_c.

    With m = b N + I, N Psi(N) = 1 reads (m - I) Psi~(m) = b, so b_c = max over m > I of
    (m - I) Psi~(m), independent of ``params.b``; the other fields (a, v_f, v_r, I) matter.
    """
    current = _constant_current(params)

    def g(m: float) -> float:
        return -(m - current) * float(_psi_tilde(m, params))

    grid = current + np.geomspace(1e-6, 100.0, 600)
    vals = np.array([g(m) for m in grid])
    j = int(np.argmin(vals))
    if j in (0, grid.size - 1):
        raise ParameterError("params", params.to_dict(),
                             "parameters whose steady-state curve has a fold (b_c finite)")
    res = _minimize_scalar(g, bracket=(grid[j - 1], grid[j], grid[j + 1]),
                          options={"xtol": 1e-12})
    return float(-res.fun)


@dataclass(frozen=True)
class BlowupCertificate:
    """Result of the CCP criterion: blow-up is certified if ``certified``.

    ``mu``: the smallest scanned mu > max(v_f, 0)/a at which b mu E[e^{mu (V - v_f)}] >= 1
    (refined to the crossing), ``value`` that left-hand side at ``mu``; ``best_mu``/``best_value``
    the largest left-hand side found. ``reason`` says why the criterion does not apply, if so.
    """

    certified: bool
    mu: float
    value: float
    best_mu: float
    best_value: float
    reason: str = ""

    def __bool__(self) -> bool:
        return self.certified


def _exp_moment_fn(p0: Any, v_f: float):
    if isinstance(p0, GaussianDensity):
        return lambda mu: p0.exp_moment(mu, v_f)
    if not callable(p0):
        raise ParameterError("p0", type(p0).__name__, "gaussian_density(v0, var) or a callable")
    x = np.linspace(v_f - 30.0, v_f, 30_001)
    p = np.asarray(p0(x), dtype=float)
    if p.shape != x.shape or not np.all(np.isfinite(p)) or np.any(p < 0) or not p.sum() > 0:
        raise ParameterError("p0", "callable", "a non-negative density with mass below v_f")
    p = p / np.trapezoid(p, x)

    def moment(mu: Any) -> np.ndarray:
        mu = np.atleast_1d(np.asarray(mu, float))
        return np.trapezoid(np.exp(mu[:, None] * (x - v_f)) * p, x, axis=1)

    return moment


def blowup_certificate(params: NLIFParams, p0: Any, *, mu_max: float | None = None,
                       n_mu: int = 4000) -> BlowupCertificate:
    """The CCP sufficient condition for finite-time blow-up.

    Requires I = 0 and b > 0; certifies blow-up when some mu > max(v_f, 0)/a satisfies
    b mu int e^{mu v} p0(v) dv >= e^{mu v_f}. mu is scanned on a log grid up to ``mu_max``
    (default 1000 + 100 mu_min). Not certified does not mean no blow-up: the test is sufficient
    only (b > b_c blows up without it).
    """
    params = NLIFParams.check(params)
    n_mu = check_int("n_mu", n_mu, lo=2)
    mu_min = max(params.v_f, 0.0) / params.a
    top = check_real("mu_max", mu_max if mu_max is not None else 1000.0 + 100.0 * mu_min,
                     lo=mu_min, lo_open=True)
    if params.constant_current != 0.0:
        return BlowupCertificate(False, math.nan, math.nan, math.nan, math.nan,
                                 "the criterion needs I = 0")
    if params.b <= 0:
        return BlowupCertificate(False, math.nan, math.nan, math.nan, math.nan,
                                 "the criterion needs b > 0")
    moment = _exp_moment_fn(p0, params.v_f)

    def lhs(mu: Any) -> np.ndarray:
        return params.b * np.asarray(mu, float) * moment(mu)

    start = mu_min * (1 + 1e-9) if mu_min > 0 else 1e-9
    # A tabulated density costs a quadrature per mu: scan it on a coarser grid.
    mus = np.geomspace(start, top, n_mu if isinstance(p0, GaussianDensity) else min(n_mu, 300))
    vals = lhs(mus)
    k = int(np.argmax(vals))
    best_mu, best_value = float(mus[k]), float(vals[k])
    hits = np.flatnonzero(vals >= 1.0)
    if hits.size == 0:
        return BlowupCertificate(False, math.nan, math.nan, best_mu, best_value,
                                 "no mu satisfies the inequality")
    i = int(hits[0])
    if i == 0:
        mu = float(mus[0])
    else:
        mu = _brentq(lambda m: float(np.atleast_1d(lhs(m))[0]) - 1.0, mus[i - 1], mus[i],
                    xtol=1e-13)
        # Report a mu on the certifying side of the crossing (brentq may land a hair below).
        while float(np.atleast_1d(lhs(mu))[0]) < 1.0 and mu < mus[i]:
            mu = min(mu * (1 + 1e-12) + 1e-13, float(mus[i]))
    return BlowupCertificate(True, mu, float(np.atleast_1d(lhs(mu))[0]), best_mu, best_value)


@dataclass(frozen=True)
class SynchronousJump:
    """Mean-field size of a synchronous event for a voltage law.

    ``fraction`` is Lambda = inf{lambda > 0 : nu((v_f - b lambda, v_f]) < lambda}, the fraction
    of neurons that fire together (0 for a classical solution). ``margin`` is
    max over lambda in (0, 1] of nu((v_f - b lambda, v_f]) - lambda: it approaches 0 from below
    as the law nears a jump, and is >= 0 when one happens.
    """

    fraction: float
    margin: float


def synchronous_jump(params: NLIFParams, v: Any, p: Any, *, n_lambda: int = 20_001
                     ) -> SynchronousJump:
    """Lambda and the jump margin for the density ``p`` at nodes ``v`` (<= v_f).

    The law is the piecewise-linear interpolant of (v, p), with p(v_f) = 0 appended when v stops
    short of v_f, normalized to mass 1; lambda is scanned on a uniform grid of (0, 1].
    """
    v = np.asarray(v, dtype=float)
    p = np.asarray(p, dtype=float)
    if v.ndim != 1 or p.shape != v.shape or v.size < 2 or not np.all(np.diff(v) > 0):
        raise ParameterError("v", f"shape {v.shape}", "increasing nodes matching p")
    if v[-1] > params.v_f + 1e-12 or np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ParameterError("p", "invalid", "a non-negative finite density on nodes <= v_f")
    if v[-1] < params.v_f:
        v, p = np.append(v, params.v_f), np.append(p, 0.0)
    cdf = np.concatenate(([0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(v))))
    if not cdf[-1] > 0:
        raise ParameterError("p", "zero mass", "a density with positive mass")
    cdf /= cdf[-1]
    lam = np.linspace(0.0, 1.0, n_lambda)[1:]
    if params.b <= 0:
        return SynchronousJump(0.0, float(np.max(-lam)))
    # Mass above v_f - b lambda: linear interpolation of the CDF is exact for linear p up to
    # the quadratic term inside a cell, ample for a threshold test.
    tail = 1.0 - np.interp(params.v_f - params.b * lam, v, cdf, left=0.0)
    below = np.flatnonzero(tail < lam)
    fraction = 1.0 if below.size == 0 else (0.0 if below[0] == 0 else float(lam[below[0]]))
    return SynchronousJump(fraction, float(np.max(tail - lam)))
