"""A mean-field solver that continues the NNLIF Fokker–Planck equation through blow-ups.

The mean-field equation of the noisy LIF network,

    d_t p + d_v[(-v + b N(t) + I(t)) p] - a d_v^2 p = N(t) delta_{V_R},   p(V_F, t) = 0,
    N(t) = -a d_v p(V_F, t),

blows up in finite time when the coupling b is large: N -> infinity as a finite fraction of the
neurons fires at once (a multiple firing event, MFE). Dou & Zhou ("Dilating blow-up time",
arXiv:2206.06972) and Dou, Tao, Xue & Zhou ("Resolving the blow-up: a time-dilated numerical
framework for multiple firing events", arXiv:2603.18475) continue the solution through the
blow-up by a firing-rate-dependent change of time. This module is our reconstruction of that
idea (the papers' own algorithm and parameters were not available to us; the choices below are
checked against our particle solver with in-step cascades):

* the dilated clock d tau / d t = 1 + N, i.e. tau = t + M(t) with M the spikes per neuron so far.
  Away from MFEs the classical finite-volume scheme (Scharfetter–Gummel, as
  :func:`solve_fokker_planck`) is stepped with dt = min(dt_max, dtau / (1 + N)), so the physical
  step shrinks like 1/N on the approach to a blow-up;
* a mesh-independent flux criterion: an MFE starts when the mass within ``window`` w of the
  threshold reaches w / b (the transport flux b p̄_w of the hyperbolic limit reaches the unit
  dilated rate; for the classical near-threshold profile this is N >= 2a / (b w), a rate set by
  w, not by the grid);
* the jump: with the mass nu(x) above x, an MFE of size
  Lambda = inf{lambda >= w/b : nu(V_F - b lambda) < lambda}
  fires (the "physical jump" of Delarue, Inglis, Rubenthaler & Tanré), shifts the remaining
  density up by b Lambda and resets the fired neurons exactly to V_R, t unchanged;
* the moving Gaussian: the fired mass restarts as a Dirac at V_R, which under
  dV = (-V + b N + I) dt + sqrt(2a) dW stays an exact Gaussian N(m, s^2) with
  dm/dt = -m + b N + I and s^2 = a (1 - e^{-2 theta}) at age theta; it is projected onto the grid
  once s >= kappa h.

The window w biases the spikes fired just before each event: about 0.86 w / b spikes per neuron
are missed per total MFE, so results converge linearly as w -> 0 (with h <= w / 4).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import ndtr

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import check_choice, check_positive, check_real, check_steps
from ..progress import progress_bar
from . import _kernels as K
from .fokker_planck import FokkerPlanckStepper
from .initial import PointMass, density_on_grid
from .params import NLIFParams, Periodic, Pulse

#: Step of the scan for the jump size Lambda (then refined linearly).
JUMP_STEP = 2e-5
#: Rows of (t, tau, N, M) the compiled stage writes before handing back.
_CHUNK = 1 << 16
_MAX_PACKETS = 64


def _current_code(current: Any) -> tuple[int, np.ndarray]:
    if isinstance(current, Pulse):
        return 1, np.array([current.amplitude, current.start, current.stop, current.offset])
    if isinstance(current, Periodic):
        return 2, np.array([current.amplitude, current.period, current.offset, 0.0])
    return 0, np.array([float(current), 0.0, 0.0, 0.0])


def _mass_above_array(p: np.ndarray, x: np.ndarray, v_min: float, h: float) -> np.ndarray:
    """Vectorised :func:`_kernels.grid_mass_above` over the points ``x``."""
    n = p.size
    q = np.append(p, 0.0)  # the node v_f
    cells = 0.5 * h * (q[:-1] + q[1:])  # mass of [v_i, v_{i+1}]
    tail = np.append(np.cumsum(cells[::-1])[::-1], 0.0)  # mass of [v_i, v_f]
    pos = (np.clip(x, v_min, v_min + n * h) - v_min) / h
    i = np.minimum(np.floor(pos).astype(np.int64), n)
    frac = pos - i
    lo = q[np.minimum(i, n)]
    hi = q[np.minimum(i + 1, n)]
    px = lo + frac * (hi - lo)
    part = np.where(i < n, 0.5 * (1.0 - frac) * h * (px + hi), 0.0)
    return part + tail[np.minimum(i + 1, n)]


def _packets_above(pk: np.ndarray, x: np.ndarray, v_f: float, a: float) -> np.ndarray:
    total = np.zeros_like(x)
    for w, m, age in pk:
        s = math.sqrt(-a * math.expm1(-2.0 * age))
        if s > 0:
            total += w * (ndtr((v_f - m) / s) - ndtr((x - m) / s))
        else:
            total += w * ((x < m) & (m <= v_f))
    return total


def jump_size(p: np.ndarray, packets: np.ndarray, *, v_min: float, h: float, a: float,
              b: float, window: float) -> float:
    """The MFE size Lambda = inf{lambda >= window/b : nu(V_F - b lambda) < lambda}, nu(x) the
    mass on (x, V_F] of the grid density (piecewise linear) and the packets; linearly refined
    between scan points JUMP_STEP apart. A total MFE (no such lambda below the mass) gives the
    largest lambda scanned."""
    v_f = v_min + p.size * h
    lam_max = min(1.0, (v_f - v_min) / b)
    lam = np.arange(window / b, lam_max + JUMP_STEP, JUMP_STEP)
    lam = lam[lam <= lam_max + 1e-15]
    if lam.size == 0:
        return 0.0
    x = v_f - b * lam
    nu = _mass_above_array(p, x, v_min, h) + _packets_above(packets, x, v_f, a)
    short = np.nonzero(nu < lam)[0]
    if short.size == 0:
        return float(lam[-1])
    k = int(short[0])
    if k == 0:
        return float(lam[0])
    f0, f1 = nu[k - 1] - lam[k - 1], nu[k] - lam[k]
    return float(lam[k - 1] + (lam[k] - lam[k - 1]) * f0 / (f0 - f1))


def _shift_up(p: np.ndarray, shift: float, v_min: float, h: float) -> np.ndarray:
    """p_lin(v_i - shift) at the nodes (0 below v_min)."""
    n = p.size
    v = v_min + h * np.arange(n)
    nodes = np.append(v, v_min + n * h)
    return np.interp(v - shift, nodes, np.append(p, 0.0), left=0.0, right=0.0)


def _check_settings(params, h, dtau, dt_max, v_min, window, kappa, moving_gaussian, reset,
                    flux):
    params = NLIFParams.check(params)
    h = check_positive("h", h)
    dtau = check_positive("dtau", dtau)
    flux = check_choice("flux", flux, ("explicit", "implicit"))
    bound = h * h / params.a
    if dt_max is None:
        dt_max = min(1e-4, bound)
    dt_max = check_positive("dt_max", dt_max)
    if flux == "implicit":
        dt_max = check_real("dt_max", dt_max, lo=0.0, lo_open=True, hi=1e-2)
    elif dt_max > bound * (1 + 1e-12):
        raise ParameterError("dt_max", dt_max, f"<= h^2/a = {bound:g} (positivity of the "
                             "finite-volume scheme with the explicit flux shift; "
                             "flux='implicit' has no such bound)")
    if window is None:
        window = max(0.01, 4 * h)
    window = check_positive("window", window)
    if window < 4 * h * (1 - 1e-12):
        raise ParameterError("window", window, f">= 4h = {4 * h:g} (the flux criterion needs "
                             "several cells to be independent of the grid)")
    if window > params.v_f - v_min:
        raise ParameterError("window", window, f"<= v_f - v_min = {params.v_f - v_min:g}")
    kappa = check_positive("kappa", kappa)
    if not isinstance(moving_gaussian, bool):
        raise ParameterError("moving_gaussian", moving_gaussian, "true or false")
    reset = check_choice("reset", reset, ("exact", "integral"))
    if reset == "integral":
        raise ParameterError("reset", reset, "'exact': under the integral reset a neuron that "
                             "fires in an MFE keeps its later kicks and, when b Lambda > "
                             "v_f - v_r, fires again without end (the time-dilated solver "
                             "resets every fired neuron exactly to v_r)")
    return params, h, dtau, dt_max, window, kappa, flux


def solve_time_dilated(params: NLIFParams, p0: Any, t_max: float, *, h: float = 0.005,
                       dtau: float = 1e-4, dt_max: float | None = None, v_min: float = -4.0,
                       window: float | None = None, kappa: float = 4.0,
                       moving_gaussian: bool = True, reset: str = "exact",
                       flux: str = "explicit", progress: bool | None = None) -> xr.Dataset:
    """Solve the NNLIF mean-field equation on [0, t_max] through its blow-ups (see the module
    docstring for the method).

    ``p0``: initial data (``gaussian_density``, ``point_mass``, a callable or grid values).
    ``h``: grid step; ``dtau``: step of the dilated clock; ``dt_max``: largest physical step
    (default min(1e-4, h^2/a), at most h^2/a); ``window``: the flux-criterion window w (default
    max(0.01, 4h), at least 4h); ``kappa``: a packet is projected onto the grid once its width
    reaches kappa h; ``moving_gaussian=False`` puts a fired mass straight into the cell of V_R;
    ``flux="implicit"`` moves the firing flux inside the implicit solve, which keeps the density
    non-negative at any step, so ``dt_max`` may exceed h^2/a (up to 1e-2).

    Returns a Dataset on a non-uniform ``time``: ``tau`` (dilated time, tau = t + M),
    ``rate`` (the classical rate N, finite; the jumps are not in it), ``cumulative_spikes`` M
    (jumps included) and ``mode`` ("classical", or "mfe" for the state right after an event);
    on an ``mfe`` dimension ``mfe_time``, ``mfe_size`` (Lambda) and ``mfe_fired`` (the fired
    mass) and the density just before and after each jump (``mfe_density_before``,
    ``mfe_density_after``, the latter without the fired mass, a Dirac at V_R); the final
    density ``density`` on ``v``.
    """
    params, h, dtau, dt_max, window, kappa, flux = _check_settings(
        params, h, dtau, dt_max, v_min, window, kappa, moving_gaussian, reset, flux)
    t_max = check_positive("t_max", t_max)
    v_min = check_real("v_min", v_min, hi=params.v_r, hi_open=True)
    # steps of at most dt_max in t_max, plus those of the dilated clock: about t_max / dt_max
    # and (t_max + spikes) / dtau; each writes one row of 4 numbers
    check_steps(t_max, dt_max, bytes_per_step=40, field="t_max")
    timer = PhaseTimer()
    with timer("setup"):
        stepper = FokkerPlanckStepper(params, h=h, dt=min(dt_max, h * h / params.a),
                                      v_min=v_min)
        a, b = params.a, params.b
        v_f = params.v_f
        packets = np.zeros((_MAX_PACKETS, 3))
        n_pk = 0
        if isinstance(p0, PointMass):
            p0._check(v_f)
            if moving_gaussian:
                p = np.zeros(stepper.n)
                packets[0] = (1.0, p0.v, 0.0)
                n_pk = 1
            else:
                p = p0.on_grid(stepper.v, h)
        else:
            p = density_on_grid(p0, stepper.v, h)
        rate = stepper.rate_of(p)
        width = kappa * h
        # the age at which s = kappa h (if s never gets there, at s = 0.97 sqrt(a))
        proj_age = (-0.5 * math.log1p(-width * width / a) if width * width < a
                    else 0.5 * math.log(20.0))
        kind, cur = _current_code(params.current)
        out = np.empty((_CHUNK, 4))
        scratch = (*stepper._scratch, np.empty(stepper.n))

    rows = [np.array([[0.0, 0.0, rate, 0.0]])]
    modes = [np.zeros(1, dtype=np.int8)]
    mfes: list[tuple[float, float, float]] = []
    jumps: list[tuple[np.ndarray, np.ndarray]] = []
    t = tau = M = 0.0
    force = False
    with timer("solve"), progress_bar(t_max, "time-dilated", enabled=progress,
                                      unit="time") as bar:
        while t < t_max:
            status, rate, t, M, tau, n_pk, got = K.td_steps(
                p, rate, t, t_max, M, tau, dtau, dt_max, h, a, b, v_min, stepper.k_r,
                stepper.z_grid, stepper.ez_grid, kind, cur, window, packets, n_pk, proj_age,
                out, force, flux == "implicit", *scratch)
            force = False
            if got:
                rows.append(out[:got].copy())
                modes.append(np.zeros(got, dtype=np.int8))
            if status == K.TD_NONFINITE:
                raise NumericalError("the rate of the time-dilated solver became non-finite "
                                     "(lower dtau or dt_max)", time=t)
            if status == K.TD_SWITCH:
                before = _final_density(p, packets, n_pk, stepper, a)
                fired, size, p, n_pk = _jump(p, packets, n_pk, v_min=v_min, h=h, a=a, b=b,
                                             window=window, v_r=params.v_r,
                                             moving_gaussian=moving_gaussian, k_r=stepper.k_r)
                if fired <= 0.0:
                    force = True  # nothing fires: take a classical step and test again
                    continue
                M += fired
                tau = t + M  # an MFE of size Lambda advances the dilated clock by the fired mass
                rate = stepper.rate_of(p)
                mfes.append((t, size, fired))
                jumps.append((before, p.copy()))
                rows.append(np.array([[t, tau, rate, M]]))
                modes.append(np.ones(1, dtype=np.int8))
            bar.update(min(t, t_max))
    table = np.concatenate(rows)
    mode = np.concatenate(modes)
    # an event happens at the time of the step before it: keep the state after the jump, so
    # that `time` is strictly increasing (M jumps over the last step before the event)
    keep = np.append(table[1:, 0] > table[:-1, 0], True)
    table, mode = table[keep], mode[keep]
    if not np.all(np.isfinite(table)):
        raise NumericalError("non-finite values in the time-dilated solution", time=t)
    mfe = np.array(mfes, dtype=float).reshape(-1, 3)
    time_attrs = {"units": "tau_m", "long_name": "time (non-uniform steps)"}
    ds = make_dataset(
        {"tau": ("time", table[:, 1], {"long_name": "dilated time tau = t + M"}),
         "rate": ("time", table[:, 2], {"long_name": "firing rate N (classical; jumps in mfe_*)",
                                        "units": "1/tau_m"}),
         "cumulative_spikes": ("time", table[:, 3], {"long_name": "spikes per neuron M"}),
         "mode": ("time", np.where(mode == 1, "mfe", "classical")),
         "mfe_time": ("mfe", mfe[:, 0], {"units": "tau_m"}),
         "mfe_size": ("mfe", mfe[:, 1], {"long_name": "jump size Lambda"}),
         "mfe_fired": ("mfe", mfe[:, 2], {"long_name": "fraction of neurons fired"}),
         "density": ("v", _final_density(p, packets, n_pk, stepper, a)),
         "mfe_density_before": (("mfe", "v"), np.array([j[0] for j in jumps]).reshape(
             -1, stepper.n), {"long_name": "density just before the jump"}),
         "mfe_density_after": (("mfe", "v"), np.array([j[1] for j in jumps]).reshape(
             -1, stepper.n), {"long_name": "density just after the jump, without the fired "
                              "mass (a Dirac of mass mfe_fired at v_r)"})},
        {"time": ("time", table[:, 0], time_attrs), "v": ("v", stepper.v, {"units": "V"})},
        family="nlif", model="time_dilated", params=params.to_dict(), timings=timer,
        time_units="tau_m", h=h, dtau=dtau, dt_max=dt_max, v_min=v_min, window=window,
        kappa=kappa, moving_gaussian=moving_gaussian, reset="exact", flux=flux,
        n_mfe=len(mfes),
        v_r=params.v_r,
        mass_error=abs(stepper.mass(p) + float(packets[:n_pk, 0].sum()) - 1.0))
    return ds


def _final_density(p, packets, n_pk, stepper, a) -> np.ndarray:
    """The grid density with any unprojected packets added, for output only."""
    q = p.copy()
    for w, m, age in packets[:n_pk]:
        s = math.sqrt(-a * math.expm1(-2.0 * age))
        if s > 0:
            K.project_packet(q, w, m, s, stepper.v_min, stepper.h)
        else:
            q += PointMass(float(min(m, stepper.v[-1]))).on_grid(stepper.v, stepper.h) * w
    return q


def _jump(p, packets, n_pk, *, v_min, h, a, b, window, v_r, moving_gaussian, k_r):
    """One MFE at frozen t: returns (fired mass, Lambda, new grid density, packet count)."""
    v_f = v_min + p.size * h
    live = packets[:n_pk]
    size = jump_size(p, live, v_min=v_min, h=h, a=a, b=b, window=window)
    if size <= 0.0:
        return 0.0, 0.0, p, n_pk
    x = np.array([v_f - b * size])
    grid_fired = float(_mass_above_array(p, x, v_min, h)[0])
    grid_mass = float(p.sum() * h)
    shifted = _shift_up(p, b * size, v_min, h)
    keep = grid_mass - grid_fired
    total = float(shifted.sum() * h)
    shifted = shifted * (keep / total) if total > 0 and keep > 0 else np.zeros_like(p)
    fired = grid_fired
    # packets: the mass above v_f - b Lambda fires, the rest moves up by b Lambda
    for k in range(n_pk):
        f = float(_packets_above(live[k:k + 1], x, v_f, a)[0])
        fired += f
        packets[k, 0] -= f
        packets[k, 1] += b * size
    kept = [k for k in range(n_pk) if packets[k, 0] > 1e-15]
    packets[:len(kept)] = packets[kept]
    n_pk = len(kept)
    if moving_gaussian:
        if n_pk >= packets.shape[0]:
            raise NumericalError(f"more than {packets.shape[0]} unprojected packets "
                                 "(raise kappa h or lower dtau)", time=0.0)
        packets[n_pk] = (fired, v_r, 0.0)
        n_pk += 1
    else:
        shifted[k_r] += fired / h
    return fired, size, np.ascontiguousarray(shifted), n_pk
