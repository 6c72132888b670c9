"""The Gaussian hydrodynamic limit: mean/variance ODEs under the balance constraint.

The ODEs with the balance multiplier c (Baumgarte-stabilised, or projected onto the balanced
manifold), the projection of unbalanced starts, the balanced initial condition, and the check
D < 0 (else the balance is lost).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import check_choice, check_int, check_positive, check_real
from .gaussian import gauss_rate
from .params import BalancedParams

STATE = ("m_E", "m_I", "v_E", "v_I")
TIME_UNITS = "1 (dimensionless, leak time scale)"
BALANCE_TOL = 1e-6  # |G| accepted as balanced when project=False (6-digit inputs pass)


class LimitModel:
    """Plain-float view of the parameters with the limit's algebra (F, G, D, c)."""

    def __init__(self, params: BalancedParams):
        self.p = params
        self.sig = params.sigmoid
        self.gE, self.muE, self.lE, self.bE, self.hE, self.wE = params.population("E")
        self.gI, self.muI, self.lI, self.bI, self.hI, self.wI = params.population("I")
        self.nu = float(params.nu)

    def rates(self, mE, mI, vE, vI):
        FE = gauss_rate(self.sig, self.lE, self.bE, self.hE, mE, vE)
        FI = gauss_rate(self.sig, self.lI, self.bI, self.hI, mI, vI)
        return FE, FI

    def G(self, mE, mI, vE, vI):
        (FE, _, _), (FI, _, _) = self.rates(mE, mI, vE, vI)
        return self.wE * FE - self.wI * FI + self.nu

    def parts(self, y):
        """Every term of the limit ODEs at y = (m_E, m_I, v_E, v_I): returns a dict of arrays."""
        mE, mI, vE, vI = y
        (FE, FEm, FEv), (FI, FIm, FIv) = self.rates(mE, mI, vE, vI)
        aE = -self.gE * mE + self.muE
        aI = -self.gI * mI + self.muI
        s = self.wE ** 2 * FE + self.wI ** 2 * FI
        dvE = -2.0 * self.gE * vE + s
        dvI = -2.0 * self.gI * vI + s
        D = self.wE * FEm - self.wI * FIm
        G = self.wE * FE - self.wI * FI + self.nu
        bracket = self.wE * (FEm * aE + FEv * dvE) - self.wI * (FIm * aI + FIv * dvI)
        c = -bracket / D
        return dict(FE=FE, FI=FI, aE=aE, aI=aI, s=s, dvE=dvE, dvI=dvI, D=D, G=G, c=c)

    def multiplier_rhs(self, K: float):
        def rhs(_t, y):
            q = self.parts(y)
            c = q["c"] - K * q["G"] / q["D"]  # Baumgarte: dG/dt = -K G
            return [q["aE"] + c, q["aI"] + c, q["dvE"], q["dvI"]]
        return rhs

    def common_shift(self, mE, mI, vE, vI, *, time: float | None = None) -> float:
        """delta with G(m_E + delta, m_I + delta) = 0 reached by the fast common mode.

        The fast dynamics moves both means together in the direction of sign(G) until G first
        vanishes; that root is the one the network reaches, and it is stable iff D < 0 there.
        """
        def g(d):
            return self.G(mE + d, mI + d, vE, vI)

        g0 = g(0.0)
        if g0 == 0.0:
            return 0.0
        direction = 1.0 if g0 > 0 else -1.0
        step, prev = 1e-3, 0.0
        while step < 200.0:
            d = direction * step
            if np.sign(g(d)) != np.sign(g0):
                return float(brentq(g, min(prev, d), max(prev, d), xtol=1e-15, rtol=1e-15))
            prev, step = d, step * 1.5
        raise NumericalError(
            "no balanced state along the common mode: the means drift without bound "
            f"(G = {g0:.4g} keeps its sign for all shifts)", time=time)

    def solve_mE(self, d: float, vE: float, vI: float, guess: float) -> float:
        """m_E on the balanced manifold given d = m_E - m_I and the variances (Newton)."""
        x = guess
        for _ in range(60):
            (FE, FEm, _), (FI, FIm, _) = self.rates(x, x - d, vE, vI)
            Gx = self.wE * FE - self.wI * FI + self.nu
            Dx = self.wE * FEm - self.wI * FIm
            if not (Dx < 0.0):
                break
            step = -Gx / Dx
            step = max(-0.5, min(0.5, step))  # damp far from the root
            x += step
            if abs(step) < 1e-15 * max(1.0, abs(x)):
                return x
        # Newton left the stable branch or stalled: fall back on the common-mode root.
        return x + self.common_shift(x, x - d, vE, vI)

    def reduced_rhs(self, guess: list[float]):
        def rhs(_t, z):
            d, vE, vI = z
            mE = self.solve_mE(d, vE, vI, guess[0])
            guess[0] = mE
            mI = mE - d
            (FE, _, _), (FI, _, _) = self.rates(mE, mI, vE, vI)
            s = self.wE ** 2 * FE + self.wI ** 2 * FI
            dd = (-self.gE * mE + self.muE) - (-self.gI * mI + self.muI)
            return [dd, -2.0 * self.gE * vE + s, -2.0 * self.gI * vI + s]
        return rhs


def as_state(y0: Any) -> tuple[float, float, float, float]:
    if isinstance(y0, Mapping):
        missing = [k for k in STATE if k not in y0]
        if missing:
            raise ParameterError("y0", dict(y0), "a mapping with keys m_E, m_I, v_E, v_I")
        y0 = [y0[k] for k in STATE]
    if isinstance(y0, (str, bytes)) or not isinstance(y0, (Sequence, np.ndarray)) \
            or len(y0) != 4:
        raise ParameterError("y0", y0, "a sequence (m_E, m_I, v_E, v_I)")
    mE = check_real("y0.m_E", y0[0])
    mI = check_real("y0.m_I", y0[1])
    vE = check_real("y0.v_E", y0[2], lo=0.0)
    vI = check_real("y0.v_I", y0[3], lo=0.0)
    return mE, mI, vE, vI


def balanced_initial(params: BalancedParams, m_E0: float, v_E0: float,
                     v_I0: float) -> tuple[float, float, float, float]:
    """Balanced Gaussian start: m_I(0) solving w_E F_E - w_I F_I + nu = 0.

    Returns (m_E, m_I, v_E, v_I). Raises ParameterError if no m_I in [-50, 50] balances.
    """
    params = BalancedParams.check(params)
    m_E0 = check_real("m_E0", m_E0)
    v_E0 = check_real("v_E0", v_E0, lo=0.0)
    v_I0 = check_real("v_I0", v_I0, lo=0.0)
    model = LimitModel(params)

    def g(mI):
        return model.G(m_E0, mI, v_E0, v_I0)

    lo, hi = g(-50.0), g(50.0)
    if lo * hi > 0:  # G decreases in m_I (beta_I > 0): a root exists iff the signs differ
        raise ParameterError(
            "m_E0", m_E0, "such that 0 < w_E F_E + nu < w_I lam_I (otherwise no m_I balances "
            f"the network; G ranges over [{hi:.3g}, {lo:.3g}])")
    mI = brentq(g, -50.0, 50.0, xtol=1e-15, rtol=1e-15, maxiter=500)
    return m_E0, float(mI), v_E0, v_I0


def _diagnostics(model: LimitModel, Y: np.ndarray, K: float) -> dict[str, np.ndarray]:
    q = model.parts(Y)
    (FE, _, _), (FI, _, _) = model.rates(*Y)
    return dict(r_E=np.asarray(FE), r_I=np.asarray(FI), c=q["c"] - K * q["G"] / q["D"],
                D=q["D"], G=q["G"], s=q["s"])


def _last(t) -> float:
    """The last time a failed solver reached (``solve_ivp`` may hand back a list)."""
    t = np.asarray(t, dtype=np.float64)
    return float(t[-1]) if t.size else 0.0


def solve_limit(params: BalancedParams, y0: Any, t_max: float, *,
                t_eval: Sequence[float] | np.ndarray | None = None, project: bool = True,
                method: str = "multiplier", on_loss_of_balance: str = "raise",
                baumgarte: float = 50.0, rtol: float = 1e-10, atol: float = 1e-12,
                n_points: int = 401, max_evaluations: int = 500_000) -> xr.Dataset:
    """Integrate the limit ODEs from the Gaussian start ``y0 = (m_E, m_I, v_E, v_I)``.

    ``method="multiplier"``: the 4-ODE system with the balance multiplier c(t), Baumgarte
    stabilised (``baumgarte`` = K, dG/dt = -K G). ``method="projection"``: the means are kept on
    the balanced manifold at every evaluation (common shift solving G = 0, the implicit form of
    the network-wide average); the two are independent and agree to the solver tolerance.

    An unbalanced ``y0`` is projected along the common mode and the shift stored in
    ``attrs["projection_shift"]``; with ``project=False`` it raises ParameterError instead.
    D >= 0 (balance lost) raises NumericalError, or with ``on_loss_of_balance="stop"`` ends the
    run there and records ``attrs["balance_lost_time"]``.

    Returns a Dataset over ``time`` with m_E, m_I, v_E, v_I, r_E, r_I (rates, 1/time), c (common
    drift), D (balance stiffness), G (balance residual) and s (diffusion coefficient).

    The solver stops with NumericalError after ``max_evaluations`` evaluations of the right-hand
    side (a horizon it cannot reach at this tolerance ends with a message, not a hang).
    """
    params = BalancedParams.check(params)
    t_max = check_positive("t_max", t_max)
    check_choice("method", method, ("multiplier", "projection"))
    check_choice("on_loss_of_balance", on_loss_of_balance, ("raise", "stop"))
    if not isinstance(project, bool):
        raise ParameterError("project", project, "true or false")
    K = check_real("baumgarte", baumgarte, lo=0.0)
    rtol = check_real("rtol", rtol, lo=1e-14, hi=1e-3)
    atol = check_real("atol", atol, lo=1e-16, hi=1e-3)
    n_points = check_int("n_points", n_points, lo=2)
    max_evaluations = check_int("max_evaluations", max_evaluations, lo=100)
    if t_eval is None:
        t_eval = np.linspace(0.0, t_max, n_points)
    t_eval = np.asarray(t_eval, dtype=float)
    if t_eval.ndim != 1 or t_eval.size == 0 or not np.all(np.isfinite(t_eval)) \
            or t_eval[0] < 0 or t_eval[-1] > t_max or np.any(np.diff(t_eval) <= 0):
        raise ParameterError("t_eval", t_eval.tolist() if t_eval.size < 10 else "array",
                             "increasing times in [0, t_max]")
    mE, mI, vE, vI = as_state(y0)
    model = LimitModel(params)
    timer = PhaseTimer()

    with timer("project"):
        G0 = float(model.G(mE, mI, vE, vI))
        shift = 0.0
        if project:
            shift = model.common_shift(mE, mI, vE, vI, time=0.0)
        elif abs(G0) > BALANCE_TOL:
            raise ParameterError(
                "y0", [mE, mI, vE, vI],
                f"balanced (|w_E F_E - w_I F_I + nu| <= {BALANCE_TOL:g}; here {G0:.3g}); "
                "pass project=True to project it onto the balanced manifold")
        y = np.array([mE + shift, mI + shift, vE, vI])
    with np.errstate(divide="ignore", invalid="ignore"):  # c = -bracket / D at D = 0
        D0 = float(model.parts(y)["D"])
    if not D0 < 0:
        if on_loss_of_balance == "raise":
            raise NumericalError(f"loss of balance: D = {D0:.4g} >= 0 at the start, the balanced "
                                 "manifold repels and the limit does not exist", time=0.0)
        return _stopped_at_start(params, y, D0, shift, K, method, model, timer)

    lost_time = None
    # c ~ 1/D is singular where balance is lost: stop slightly before D = 0 so the solver does
    # not grind into the singularity; that point is reported as the loss of balance.
    d_min = 1e-3 * abs(D0)
    with timer("integrate"):
        if method == "multiplier":
            def loss(_t, yy):
                return model.parts(yy)["D"] + d_min
            loss.terminal = True
            sol = solve_ivp(_budgeted(model.multiplier_rhs(K), max_evaluations), (0.0, t_max), y,
                            method="DOP853",
                            t_eval=t_eval, rtol=rtol, atol=atol, events=loss)
            if sol.status == -1:
                raise NumericalError(f"limit ODE failed: {sol.message}",
                                     time=_last(sol.t))
            t, Y = sol.t, sol.y
            if sol.status == 1:  # keep the state at the event as the last point
                lost_time = float(sol.t_events[0][0])
                t, Y = np.append(t, lost_time), np.hstack([Y, sol.y_events[0].T])
        else:
            guess = [float(y[0])]
            z0 = [y[0] - y[1], y[2], y[3]]
            rhs = _budgeted(model.reduced_rhs(guess), max_evaluations)

            def loss(_t, z):
                mE_ = model.solve_mE(z[0], z[1], z[2], guess[0])
                return model.parts(np.array([mE_, mE_ - z[0], z[1], z[2]]))["D"] + d_min
            loss.terminal = True
            sol = solve_ivp(rhs, (0.0, t_max), z0, method="DOP853", t_eval=t_eval, rtol=rtol,
                            atol=atol, events=loss)
            if sol.status == -1:
                raise NumericalError(f"limit ODE failed: {sol.message}",
                                     time=_last(sol.t))
            t, Z = sol.t, sol.y
            if sol.status == 1:
                lost_time = float(sol.t_events[0][0])
                t, Z = np.append(t, lost_time), np.hstack([Z, sol.y_events[0].T])
            mEs = np.empty(t.size)
            g = float(y[0])
            for i, (d, a, b) in enumerate(Z.T):
                g = model.solve_mE(d, a, b, g)
                mEs[i] = g
            Y = np.vstack([mEs, mEs - Z[0], Z[1], Z[2]])
    if lost_time is not None and on_loss_of_balance == "raise":
        raise NumericalError("loss of balance: D reached 0, the balanced manifold stopped "
                             "attracting the common mode", time=lost_time)
    if not np.all(np.isfinite(Y)):
        bad = int(np.argmax(~np.all(np.isfinite(Y), axis=0)))
        raise NumericalError("limit ODE produced a non-finite state", time=float(t[bad]))
    diag = _diagnostics(model, Y, K if method == "multiplier" else 0.0)
    data = {name: ("time", Y[i]) for i, name in enumerate(STATE)}
    data.update({k: ("time", np.asarray(v, dtype=float)) for k, v in diag.items()})
    ds = make_dataset(data, {"time": t}, family="balanced", model="limit",
                      params=params.to_dict(), timings=timer, time_units=TIME_UNITS,
                      method=method, baumgarte=K if method == "multiplier" else 0.0,
                      projection_shift=shift, initial_G=G0, rtol=rtol, atol=atol,
                      balance_lost_time=-1.0 if lost_time is None else lost_time)
    _describe(ds)
    return ds


def _budgeted(rhs: Callable[[float, Any], Any], limit: int) -> Callable[[float, Any], Any]:
    """``rhs`` that raises NumericalError after ``limit`` evaluations: a horizon the solver
    cannot reach at the requested tolerance ends with a message, not a hang."""
    count = [0]

    def wrapped(t: float, y: Any) -> Any:
        count[0] += 1
        if count[0] > limit:
            raise NumericalError(f"limit ODE stopped after {limit} right-hand-side evaluations "
                                 "(max_evaluations) before t_max: lower t_max, loosen rtol/atol "
                                 "or raise max_evaluations", time=float(t))
        return rhs(t, y)
    return wrapped


def _stopped_at_start(params, y, D0, shift, K, method, model, timer) -> xr.Dataset:
    diag = _diagnostics(model, y[:, None], K)
    data = {name: ("time", y[i:i + 1]) for i, name in enumerate(STATE)}
    data.update({k: ("time", np.atleast_1d(np.asarray(v, dtype=float))) for k, v in diag.items()})
    ds = make_dataset(data, {"time": np.array([0.0])}, family="balanced", model="limit",
                      params=params.to_dict(), timings=timer, time_units=TIME_UNITS,
                      method=method, baumgarte=K, projection_shift=shift, balance_lost_time=0.0)
    _describe(ds)
    return ds


DESCRIPTIONS = {
    "m_E": ("mean potentiation of E", "1"), "m_I": ("mean potentiation of I", "1"),
    "v_E": ("variance of E potentiation", "1"), "v_I": ("variance of I potentiation", "1"),
    "r_E": ("mean E spike rate per neuron", "1/time"),
    "r_I": ("mean I spike rate per neuron", "1/time"),
    "c": ("common drift (balance multiplier)", "1/time"),
    "D": ("balance stiffness w_E E f_E' - w_I E f_I' (< 0 is stable)", "1/time"),
    "G": ("balance residual w_E r_E - w_I r_I + nu", "1/time"),
    "s": ("diffusion coefficient w_E^2 r_E + w_I^2 r_I", "1/time"),
}


def _describe(ds: xr.Dataset) -> None:
    for name, (text, units) in DESCRIPTIONS.items():
        if name in ds:
            ds[name].attrs.update(long_name=text, units=units)


def integrated_drift(ds: xr.Dataset) -> np.ndarray:
    """int_0^t c ds on the Dataset's time grid (trapezoid rule), for comparison with a network."""
    t = ds["time"].values
    c = ds["c"].values
    out = np.zeros_like(t)
    out[1:] = np.cumsum(0.5 * (c[1:] + c[:-1]) * np.diff(t))
    return out


def limit_at(ds: xr.Dataset, times: Sequence[float]) -> xr.Dataset:
    """The limit solution at ``times`` (which must be on its time grid to 1e-9)."""
    idx = [int(np.argmin(np.abs(ds["time"].values - t))) for t in times]
    grid = ds["time"].values[idx]
    if np.any(np.abs(grid - np.asarray(times)) > 1e-9):
        raise ParameterError("times", list(times), "times on the solution's grid")
    return ds.isel(time=idx)


__all__ = ["balanced_initial", "solve_limit", "integrated_drift", "limit_at", "STATE"]
