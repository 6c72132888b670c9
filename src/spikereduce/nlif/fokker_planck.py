"""The macroscopic NNLIF Fokker–Planck equation, solved by the conservative semi-implicit scheme.

(The scheme of Hu, Liu, Xie & Zhou: flux shift to v_r, Scharfetter–Gummel implicit step,
rate from the last cell). :class:`FokkerPlanckStepper` is the resumable step-level object that
:func:`solve_fokker_planck` and the multi-scale solver share.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import check_choice, check_positive, check_real, check_steps
from ..progress import chunk_bounds, progress_bar
from ._kernels import fp_steps
from .initial import density_on_grid, gaussian_density
from .params import NLIFParams, step_currents

__all__ = ["FokkerPlanckStepper", "solve_fokker_planck", "gaussian_density"]


class PositivityWarning(UserWarning):
    """dt * a > h^2: the scheme is no longer guaranteed to keep the density non-negative."""


#: The most nodes a Fokker–Planck grid may have (about 30 ms of work per time step).
MAX_GRID_NODES = 10**7


def _grid_index(name: str, x: float, v_min: float, h: float) -> int:
    k = (x - v_min) / h
    if abs(k - round(k)) > 1e-6 * max(1.0, abs(k)):
        raise ParameterError("h", h, f"a step that puts {name} = {x:g} on a grid node "
                                     f"(v_min + k h with v_min = {v_min:g})")
    return int(round(k))


class FokkerPlanckStepper:
    """Grid, precomputed Scharfetter–Gummel coefficients and scratch for the scheme.

    Nodes ``v[i] = v_min + i h``, i < n (v_f = v_min + n h is the Dirichlet node, p = 0 there,
    not stored); ``k_r`` is the index of v_r. The density ``p`` and rate are plain arrays/floats
    owned by the caller: :meth:`advance` moves them forward by k steps of ``dt`` from time ``t``,
    so a run may stop, roll back to a saved copy, or restart from any density.
    """

    def __init__(self, params: NLIFParams, *, h: float = 0.01, dt: float = 1e-4,
                 v_min: float = -4.0, strict: bool = True):
        params = NLIFParams.check(params)
        self.params = params
        self.h = check_positive("h", h)
        self.dt = check_positive("dt", dt)
        self.v_min = check_real("v_min", v_min, hi=params.v_r, hi_open=True)
        if (params.v_f - self.v_min) / self.h > MAX_GRID_NODES:
            raise ParameterError(
                "h", h, f">= {(params.v_f - self.v_min) / MAX_GRID_NODES:.3g}, for at most "
                f"{MAX_GRID_NODES:.0e} grid nodes on [v_min, v_f] = [{self.v_min:g}, "
                f"{params.v_f:g}] (MAX_GRID_NODES)")
        self.n = _grid_index("v_f", params.v_f, self.v_min, self.h)
        self.k_r = _grid_index("v_r", params.v_r, self.v_min, self.h)
        if self.n < 3:
            raise ParameterError("h", h, f"small enough for >= 3 cells on [{v_min:g}, v_f]")
        self.v = self.v_min + self.h * np.arange(self.n)
        a = params.a
        # Drift -v at the interfaces v_i + h/2 (i < n-1); each step adds h (b N + I) / a to z.
        self.z_grid = -self.h * (self.v[:-1] + 0.5 * self.h) / a
        self.ez_grid = np.exp(self.z_grid)
        self._scratch = (np.empty(self.n - 1), np.empty(self.n - 1), np.empty(self.n),
                         np.empty(self.n))
        self._no_snapshots = np.empty((0, self.n))
        self.cap = a / self.h**2  # the scheme cannot produce N above a/h^2 (p_{n-1} <= 1/h)
        if self.dt * a > self.h**2:
            msg = (f"dt * a = {self.dt * a:g} > h^2 = {self.h**2:g}: positivity of the density "
                   "is not guaranteed (the scheme needs dt * a <= h^2)")
            if strict:
                raise ParameterError("dt", dt, f"<= h^2 / a = {self.h**2 / a:g} (the scheme's "
                                     "positivity bound; strict=False runs anyway)")
            warnings.warn(msg, PositivityWarning, stacklevel=3)

    def initial(self, p0: Any) -> tuple[np.ndarray, float]:
        """(p, N) from ``p0`` (see initial.py): the normalized grid density and a p_{n-1} / h."""
        p = density_on_grid(p0, self.v, self.h)
        return p, self.rate_of(p)

    def rate_of(self, p: np.ndarray) -> float:
        """N = a p_{n-1} / h, the scheme's firing rate of a density."""
        return float(self.params.a * p[-1] / self.h)

    def mass(self, p: np.ndarray) -> float:
        return float(p.sum() * self.h)

    def advance(self, p: np.ndarray, rate: float, t: float, n_steps: int, *,
                currents: np.ndarray | None = None, rate_cap: float = math.inf,
                snapshots: np.ndarray | None = None, every: int = 0) -> np.ndarray:
        """Advance ``p`` (float64[n], in place) from time ``t`` by up to ``n_steps`` steps.

        ``rate`` is N at time t. Returns N after each step done: fewer than ``n_steps`` values
        when N became non-finite or exceeded ``rate_cap`` (the offending value is the last one).
        The spikes per neuron emitted in step j are dt times the rate *entering* it, see
        :meth:`spikes_per_step`. ``currents`` overrides the per-step input I. With ``every`` > 0
        the density before each step j that is a multiple of ``every`` is copied to
        ``snapshots[j // every]`` (float64[ceil(n_steps / every), n]), for the steps done.
        """
        if currents is None:
            currents = step_currents(self.params.current, t, self.dt, n_steps)
        currents = np.ascontiguousarray(currents, dtype=np.float64)
        if p.dtype != np.float64 or p.shape != (self.n,) or not p.flags.c_contiguous:
            raise ParameterError("p", f"{p.dtype}{p.shape}", f"a float64 array of {self.n} nodes")
        if every:
            rows = -(-currents.size // every)
            if snapshots is None or snapshots.dtype != np.float64 or \
                    snapshots.shape[0] < rows or snapshots.shape[1:] != (self.n,):
                raise ParameterError("snapshots", None if snapshots is None else
                                     f"{snapshots.dtype}{snapshots.shape}",
                                     f"a float64 array of at least {rows} x {self.n}")
        else:
            snapshots = self._no_snapshots
        rates = np.empty(currents.size)
        done = fp_steps(p, float(rate), currents, self.dt, self.h, self.params.a, self.params.b,
                        self.k_r, self.z_grid, self.ez_grid, float(rate_cap), rates,
                        *self._scratch, snapshots, int(every))
        return rates[:done]

    def spikes_per_step(self, rate: float, rates: np.ndarray) -> np.ndarray:
        """Spikes per neuron of each step: dt N^m, the mass moved from v_f to v_r in step m."""
        return self.dt * np.concatenate(([rate], rates[:-1]))


def _compile_fp_kernel() -> None:
    if fp_steps.signatures:
        return
    st = FokkerPlanckStepper(NLIFParams(), h=0.25, dt=1e-3)
    p, r = st.initial(gaussian_density(0.0, 1.0))
    st.advance(p, r, 0.0, 2)


def solve_fokker_planck(params: NLIFParams, p0: Any, t_max: float, *, h: float = 0.01,
                        dt: float = 1e-4, v_min: float = -4.0, blowup_rate: float | None = None,
                        on_blowup: str = "stop", strict: bool = True,
                        save_every: float = 0.05, progress: bool | None = None) -> xr.Dataset:
    """Solve the NNLIF Fokker–Planck equation from density ``p0`` up to ``t_max``.

    Grid step ``h`` on [v_min, v_f] (v_r must be a node), time step ``dt`` (positivity needs
    dt a <= h^2: refused with ParameterError; ``strict=False`` runs anyway with a
    PositivityWarning, and the density may then turn negative).
    Blow-up: when N exceeds ``blowup_rate`` (default a/(10 h^2), a tenth of the grid's cap a/h^2;
    it must lie below the cap) or is not finite, the run stops there and the event is recorded
    in attrs (``blowup``, ``blowup_time``, ``blowup_reason``); ``on_blowup="raise"`` raises
    NumericalError instead. Outputs never contain NaN.

    Returns a Dataset on ``time`` = t_m (m = 0..M): ``rate`` N(t) (spikes per neuron per unit
    time), ``cumulative_spikes`` (spikes per neuron since t = 0), and ``density`` p(v, t) on
    ``density_time`` (every ``save_every``) x ``v``. attrs: ``mass_error`` (max |sum h p - 1|
    over the saved densities), ``min_density``.
    """
    params = NLIFParams.check(params)
    t_max = check_positive("t_max", t_max)
    on_blowup = check_choice("on_blowup", on_blowup, ("stop", "raise"))
    save_every = check_positive("save_every", save_every)
    timer = PhaseTimer()
    with timer("compile"):
        _compile_fp_kernel()
    with timer("setup"):
        stepper = FokkerPlanckStepper(params, h=h, dt=dt, v_min=v_min, strict=strict)
        if blowup_rate is None:
            blowup_rate = 0.1 * stepper.cap
        blowup_rate = check_real("blowup_rate", blowup_rate, lo=0, lo_open=True)
        if blowup_rate >= stepper.cap:
            raise ParameterError("blowup_rate", blowup_rate,
                                 f"< {stepper.cap:g}, the largest rate the grid resolves "
                                 f"(a/h^2 with a = {params.a:g}, h = {h:g})")
        p, rate = stepper.initial(p0)
        n_steps = check_steps(t_max, stepper.dt, bytes_per_step=16)
        every = max(1, round(save_every / stepper.dt))
        save_steps = set(range(0, n_steps + 1, every)) | {n_steps}
        rates = np.empty(n_steps + 1)
        rates[0] = rate

    dens_t: list[float] = [0.0]
    dens: list[np.ndarray] = [p.copy()]
    done = 0
    blowup_reason = ""
    with timer("simulate"), progress_bar(t_max, "nlif Fokker-Planck", enabled=progress) as bar:
        cuts = sorted({b for _, b in chunk_bounds(n_steps, 50)} | save_steps)
        for hi in cuts:
            if hi <= done:
                continue
            got = stepper.advance(p, rates[done], done * stepper.dt, hi - done,
                                  rate_cap=blowup_rate)
            rates[done + 1:done + 1 + got.size] = got
            done += got.size
            if done < hi or (got.size and not got[-1] <= blowup_rate):
                blowup_reason = ("non-finite rate" if not np.isfinite(got[-1])
                                 else f"rate above {blowup_rate:g}")
                break
            if hi in save_steps:
                dens_t.append(hi * stepper.dt)
                dens.append(p.copy())
            bar.update(hi * stepper.dt)

    blowup_time = done * stepper.dt if blowup_reason else float("nan")
    if blowup_reason and on_blowup == "raise":
        raise NumericalError(f"Fokker-Planck blow-up: {blowup_reason}", time=blowup_time)
    last = done
    if blowup_reason and not np.isfinite(rates[done]):
        last = done - 1  # keep only finite states; the event itself is in the attrs
    elif blowup_reason and np.all(np.isfinite(p)):
        dens_t.append(done * stepper.dt)
        dens.append(p.copy())
    rate_out = rates[:last + 1]
    time = stepper.dt * np.arange(last + 1)
    cumulative = np.concatenate(([0.0], np.cumsum(stepper.dt * rate_out[:-1])))
    dens_arr = np.asarray(dens)
    mass_err = float(np.max(np.abs(dens_arr.sum(axis=1) * stepper.h - 1.0)))
    data = {
        "rate": ("time", rate_out, {"units": "spikes per neuron per unit time"}),
        "cumulative_spikes": ("time", cumulative, {"units": "spikes per neuron"}),
        "density": (("density_time", "v"), dens_arr, {"units": "1 / voltage"}),
    }
    coords = {"time": time, "density_time": np.asarray(dens_t), "v": stepper.v}
    return make_dataset(
        data, coords, family="nlif", model="fokker_planck", params=params.to_dict(),
        timings=timer, time_units="tau_m", h=stepper.h, dt=stepper.dt, v_min=stepper.v_min,
        rate_cap=stepper.cap, blowup_rate=blowup_rate, blowup=bool(blowup_reason),
        blowup_time=blowup_time, blowup_reason=blowup_reason, mass_error=mass_err,
        min_density=float(dens_arr.min()))
