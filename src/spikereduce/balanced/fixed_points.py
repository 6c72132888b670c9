"""Stationary states of the balanced limit and their stability on the balanced manifold.

v* = s*/(2 gamma), c* = gamma_E m_E* - mu_E = gamma_I m_I* - mu_I, G = 0;
eigenvalues of the reduced flow in (m_E - m_I, v_E, v_I) with the means held on the manifold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtri

from ..params import check_int
from .limit import LimitModel
from .params import BalancedParams


@dataclass(frozen=True)
class FixedPoint:
    """A stationary balanced state of the limit ODEs.

    ``r`` is the E rate r_E (equal to r_I when w_E = w_I and nu = 0); ``eigenvalues`` are those
    of the flow restricted to the balanced manifold (3 values; stable iff all real parts < 0);
    ``D`` < 0 means the manifold itself attracts the common mode (fast stability).
    """

    r: float
    r_E: float
    r_I: float
    m_E: float
    m_I: float
    v_E: float
    v_I: float
    c: float
    D: float
    eigenvalues: np.ndarray

    @property
    def stable(self) -> bool:
        """Stable in the limit: balance attracts (D < 0) and the slow flow is stable."""
        return bool(self.D < 0 and np.all(self.eigenvalues.real < 0))

    @property
    def state(self) -> tuple[float, float, float, float]:
        return (self.m_E, self.m_I, self.v_E, self.v_I)


def _mean_for_rate(model: LimitModel, alpha: str, r: float, v: float) -> float:
    """m with F_alpha(m, v) = r (F increases in m)."""
    _, _, lam, beta, h, _ = model.p.population(alpha)
    if model.sig == "probit":  # closed form
        return h + ndtri(r / lam) * np.sqrt(1.0 + beta * beta * v) / beta

    def g(m):
        (FE, _, _), (FI, _, _) = model.rates(m, m, v, v)
        return (FE if alpha == "E" else FI) - r
    lo, hi = h - 1.0, h + 1.0
    while g(lo) > 0:
        lo = h - 2.0 * (h - lo)
    while g(hi) < 0:
        hi = h + 2.0 * (hi - h)
    return brentq(g, lo, hi, xtol=1e-15, rtol=1e-15)


def _state_for_rate(model: LimitModel, rE: float):
    rI = (model.wE * rE + model.nu) / model.wI
    s = model.wE ** 2 * rE + model.wI ** 2 * rI
    vE = s / (2.0 * model.gE)
    vI = s / (2.0 * model.gI)
    mE = _mean_for_rate(model, "E", rE, vE)
    mI = _mean_for_rate(model, "I", rI, vI)
    return rI, mE, mI, vE, vI


def _reduced_jacobian(model: LimitModel, mE: float, mI: float, vE: float, vI: float) -> np.ndarray:
    guess = [mE]
    rhs = model.reduced_rhs(guess)
    z = np.array([mE - mI, vE, vI])
    J = np.empty((3, 3))
    for j in range(3):
        h = 1e-6 * max(1.0, abs(z[j]))
        zp, zm = z.copy(), z.copy()
        zp[j] += h
        zm[j] -= h
        guess[0] = mE
        fp = np.asarray(rhs(0.0, zp))
        guess[0] = mE
        fm = np.asarray(rhs(0.0, zm))
        J[:, j] = (fp - fm) / (2.0 * h)
    return J


def fixed_points(params: BalancedParams, *, n_grid: int = 2000) -> list[FixedPoint]:
    """All balanced stationary states of the limit, sorted by rate.

    Balanced rates satisfy w_E r_E - w_I r_I + nu = 0; along that line the stationary variances
    and means follow in closed form (probit) or by a 1-D inversion (logistic), and a fixed point
    is a root of gamma_E m_E - mu_E - (gamma_I m_I - mu_I). Roots are bracketed on a grid of
    ``n_grid`` rates and refined with brentq.
    """
    params = BalancedParams.check(params)
    n_grid = check_int("n_grid", n_grid, lo=10)
    model = LimitModel(params)
    # Admissible r_E: 0 < r_E < lam_E and 0 < r_I = (w_E r_E + nu)/w_I < lam_I.
    lo = max(0.0, -model.nu / model.wE)
    hi = min(model.lE, (model.wI * model.lI - model.nu) / model.wE)
    if hi <= lo:
        return []

    def mismatch(rE):
        _, mE, mI, _, _ = _state_for_rate(model, rE)
        return (model.gE * mE - model.muE) - (model.gI * mI - model.muI)

    # Grid in a logit-like spacing so roots near the admissible ends are bracketed too.
    u = np.linspace(-12.0, 12.0, n_grid)
    grid = lo + (hi - lo) / (1.0 + np.exp(-u))
    vals = np.array([mismatch(r) for r in grid])
    points = []
    for k in np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0):
        rE = brentq(mismatch, grid[k], grid[k + 1], xtol=1e-15, rtol=1e-15)
        rI, mE, mI, vE, vI = _state_for_rate(model, rE)
        D = float(model.parts(np.array([mE, mI, vE, vI]))["D"])
        eig = np.linalg.eigvals(_reduced_jacobian(model, mE, mI, vE, vI))
        points.append(FixedPoint(r=float(rE), r_E=float(rE), r_I=float(rI), m_E=float(mE),
                                 m_I=float(mI), v_E=float(vE), v_I=float(vI),
                                 c=float(model.gE * mE - model.muE), D=D,
                                 eigenvalues=eig[np.argsort(eig.real)]))
    return points
