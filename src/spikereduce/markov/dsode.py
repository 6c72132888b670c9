"""The dsODE: bin-transport reduction of the network, 150 state variables.

Per population: neurons per voltage bin n_m, their mean voltage (stored as W_m = n_m·V̄_m) and
the refractory pool R; shared: the 8 pending-spike moments. A fixed-step map at dt (ms).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer
from ..params import check_choice, check_positive, check_steps
from ..progress import chunk_bounds, progress_bar
from ..rng import streams
from ._kernels import (
    NOISE_AUTHORS,
    NOISE_MULTINOMIAL,
    VARIANCE_COLORED,
    VARIANCE_REFERENCE,
    VARIANCE_SHOT,
    dsode_chunk,
)
from .drive import drive_rates, with_drive
from .params import SYNAPSES, MarkovParams, check_dt
from .records import build_dataset

#: the synaptic input variance per unit time, by name (see simulate_dsode)
VARIANCE_RULES = {"reference": VARIANCE_REFERENCE, "shot": VARIANCE_SHOT,
                  "colored": VARIANCE_COLORED}


def simulate_dsode(params: MarkovParams, t_max: float = 1000.0, *, refractory: str = "code",
                   dt: float = 0.1, finite_size: bool | str = False, seed: int | None = None,
                   variance: str = "reference", drive: Any = None,
                   initial: xr.Dataset | None = None,
                   progress: bool | None = None) -> xr.Dataset:
    """Run the dsODE for ``t_max`` ms from all neurons at v ≈ 0 and all moments 0.

    ``refractory="code"`` uses the reference code's outflow L = |(−R'/τ_r + nf)·dt| (gives the
    SNN's period-2 beats); ``"clean"`` the textbook L = R'·dt/τ_r. Returns rate_E, rate_I
    (population spikes/ms), H_QQ' and Sigma_QQ' (moments), R_E/R_I, vhist_E/I (n_m per bin) and
    lost_E/lost_I (cumulative mass dropped below the grid or under the 1e-10 tolerance); at every
    step Σ n + R + lost = N_Q.

    ``finite_size`` (needs a ``seed``; the same seed gives the same run) makes the map
    stochastic, with noise that vanishes as the population sizes grow:

    * ``"authors"`` (also ``True``: of the two, the closer to the network at N = 400 and 1600):
      the finite-size noise present (commented out) in the reference code of the dsODE: each
      bin's step mean and variance get their sampling errors, N(0, σ²/N_Q) and
      N(0, 2σ⁴/(N_Q − 1)), and the output rate r (spikes/ms) gets N(0, r); the bins keep their
      deterministic mass;
    * ``"multinomial"``: the N_Q neurons are integers; each step the neurons of a bin go to a
      spike, to each bin or below the grid by one multinomial draw with the transport
      probabilities, and the refractory pool releases a binomial number.

    ``variance``: the variance per unit time of each neuron's synaptic input, whose spread
    across neurons comes from the spread Σ of their pending-spike counts:

    * ``"reference"`` (default): s²Σ/τ², the prescription of the reference code;
    * ``"colored"``: 2s²Σ/τ. A neuron's current s·h/τ varies across neurons with variance
      s²Σ/τ², and its excess relaxes over τ (each pending spike lives an exponential time of
      mean τ), so over times beyond τ its voltage spreads with this diffusion. Like the
      reference it vanishes as N grows at fixed N·s.
    * ``"shot"``: s²H/τ + s²Σ·dt/τ², as if each pending spike were consumed in one kick s.

    ``drive``: a time-varying external rate (see :mod:`spikereduce.markov.drive`).

    ``initial``: a result of this function to continue from (its last step: bin counts and
    mean voltages, refractory pools, moments, last rates), instead of all neurons at reset. It
    must have the same population sizes and voltage grid; any other parameter may differ, so a
    sequence of runs follows an attractor while a parameter changes (see
    :func:`spikereduce.markov.continuation`). The continued run's clock starts at 0. A stochastic
    ``"multinomial"`` run from a deterministic state first rounds the bins to whole neurons
    (largest remainders, the population kept).
    """
    params = MarkovParams.check(params)
    variance = check_choice("variance", variance, tuple(VARIANCE_RULES))
    if finite_size is True:
        finite_size = "authors"  # the variant closest to the network (see the docs' tables)
    if finite_size is False:
        noise = 0
    else:
        finite_size = check_choice("finite_size", finite_size, ("multinomial", "authors"))
        noise = NOISE_MULTINOMIAL if finite_size == "multinomial" else NOISE_AUTHORS
        if seed is None:
            raise ParameterError("seed", None, "an integer >= 0 with finite_size (the run is "
                                 "stochastic)")
    # generator state only for a stochastic run (the deterministic map draws nothing)
    rng = streams(seed).state("reduction") if noise else np.zeros(1, dtype=np.uint64)
    spare = np.zeros(2)
    refractory = check_choice("refractory", refractory, ("code", "clean"))
    t_max = check_positive("t_max", t_max)
    dt = check_dt(params, dt)
    check_steps(t_max, dt, bytes_per_step=120 + 16 * params.n_bins)
    timer = PhaseTimer()
    n_steps = int(round(t_max / dt))
    nb = params.n_bins
    m0 = params.reset_bin
    if initial is None:
        n = np.zeros((2, nb))
        w = np.zeros((2, nb))
        n[0, m0] = params.n_e
        n[1, m0] = params.n_i
        w[:, m0] = 1e-4
        refr = np.zeros(2)
        hbar = np.zeros(4)
        sig = np.zeros(4)
        r_prev = np.zeros(2)
        lost = np.zeros(2)
    else:
        n, w, refr, hbar, sig, r_prev, lost = last_state(params, initial)
        if noise == NOISE_MULTINOMIAL:
            _whole_neurons(n, w, refr, lost, params)
    tau, p, s = params.synapse_arrays()
    edges = params.bin_edges.astype(float)
    out_rate = np.zeros((n_steps, 2))
    out_h = np.zeros((n_steps, 4))
    out_sig = np.zeros((n_steps, 4))
    out_r = np.zeros((n_steps, 2))
    out_n = np.zeros((n_steps, 2, nb))
    out_lost = np.zeros((n_steps, 2))
    n_pop = np.array([params.n_e, params.n_i], dtype=float)
    lam = drive_rates(params, drive, n_steps, dt)
    chunks = chunk_bounds(n_steps, 20)
    with progress_bar(t_max, "markov dsODE", enabled=progress) as bar:
        for c, (a, b) in enumerate(chunks):
            # the first chunk carries numba compilation (or the cache load)
            with timer("compile" if c == 0 else "simulate"):
                dsode_chunk(a, b, n, w, refr, hbar, sig, r_prev, lost, n_pop, lam,
                             params.M, params.Mr, params.tau_m, tau, p, s, params.tau_r, dt,
                             refractory == "code", edges, m0, out_rate, out_h, out_sig, out_r,
                             out_n, out_lost, noise, rng, spare, VARIANCE_RULES[variance])
            if not (np.all(np.isfinite(n)) and np.all(np.isfinite(hbar))
                    and np.all(np.isfinite(sig))):
                raise NumericalError("non-finite dsODE state", time=b * dt)
            bar.update(b * dt)
    extra = {"lost_E": ("time", out_lost[:, 0], {"units": "neurons"}),
             "lost_I": ("time", out_lost[:, 1], {"units": "neurons"}),
             # the last step's first moments W_m = n_m·V̄_m (with vhist and the moments at the
             # last step, the whole state: what a continued run starts from)
             "W_E_final": ("v_bin", w[0].copy(), {"units": "neurons x voltage units"}),
             "W_I_final": ("v_bin", w[1].copy(), {"units": "neurons x voltage units"})}
    for k, syn in enumerate(SYNAPSES):
        extra[f"Sigma_{syn}"] = ("time", out_sig[:, k], {"units": "pending spikes^2"})
    return with_drive(build_dataset(params, model="dsode", dt=dt, spikes=out_rate, hbar=out_h,
                         refractory=out_r, vhist=out_n, timer=timer,
                         seed=seed if noise else None, extra_vars=extra,
                         refractory_rule=refractory, n_steps=n_steps,
                         finite_size=finite_size if noise else "off", variance=variance,
                         initial="reset" if initial is None else "continued"),
                      lam, drive)


_STATE_VARS = ("vhist_E", "vhist_I", "W_E_final", "W_I_final", "R_E", "R_I", "rate_E", "rate_I",
               "lost_E", "lost_I", *(f"{q}_{syn}" for q in ("H", "Sigma") for syn in SYNAPSES))


def last_state(params: MarkovParams, ds: Any) -> tuple[np.ndarray, ...]:
    """The state at the last step of a dsODE result ``ds``: (n, w, refr, hbar, sig, r_prev,
    lost) as the kernel takes them; ParameterError unless ``ds`` is a dsODE result on the grid
    and population sizes of ``params``."""
    need = "a simulate_dsode result with the same n_e, n_i, v_bin and v_bin_min"
    if not isinstance(ds, xr.Dataset) or ds.attrs.get("model") != "dsode":
        raise ParameterError("initial", type(ds).__name__, need)
    missing = [v for v in _STATE_VARS if v not in ds]
    if missing:
        raise ParameterError("initial", f"a Dataset without {missing[0]}", need)
    if (int(ds.attrs.get("n_E", -1)), int(ds.attrs.get("n_I", -1))) != (params.n_e, params.n_i):
        raise ParameterError("initial", f"n_E, n_I = {ds.attrs.get('n_E')}, "
                             f"{ds.attrs.get('n_I')}", f"{need} (here {params.n_e}, "
                             f"{params.n_i})")
    edges = np.asarray(ds["v_edge"].values, dtype=float)
    if edges.shape != params.bin_edges.shape or not np.allclose(edges, params.bin_edges):
        raise ParameterError("initial", f"a grid of {edges.size - 1} bins from {edges[0]:g}",
                             f"{need} (here {params.n_bins} bins from "
                             f"{params.bin_edges[0]:g})")
    last = ds.isel(time=-1)
    n = np.stack([last["vhist_E"].values, last["vhist_I"].values]).astype(float)
    w = np.stack([ds["W_E_final"].values, ds["W_I_final"].values]).astype(float)
    refr = np.array([last["R_E"].item(), last["R_I"].item()], dtype=float)
    hbar = np.array([last[f"H_{syn}"].item() for syn in SYNAPSES])
    sig = np.array([last[f"Sigma_{syn}"].item() for syn in SYNAPSES])
    r_prev = np.array([last["rate_E"].item(), last["rate_I"].item()], dtype=float)
    lost = np.array([last["lost_E"].item(), last["lost_I"].item()], dtype=float)
    state = (n, w, refr, hbar, sig, r_prev, lost)
    if not all(np.all(np.isfinite(x)) for x in state) or n.min() < 0 or refr.min() < 0:
        raise ParameterError("initial", "a state with negative or non-finite values", need)
    return state


def _whole_neurons(n: np.ndarray, w: np.ndarray, refr: np.ndarray, lost: np.ndarray,
                   params: MarkovParams) -> None:
    """Round a state to whole neurons in place: the refractory pool to the nearest count, the
    bins by largest remainders so that bins + pool = N_Q; each bin keeps its mean voltage."""
    for pop, size in enumerate((params.n_e, params.n_i)):
        refr[pop] = min(float(round(refr[pop])), float(size))
        target = int(size - refr[pop])
        whole = np.floor(n[pop])
        short = target - int(whole.sum())
        if short > 0:
            whole[np.argsort(whole - n[pop])[:short]] += 1.0
        elif short < 0:  # more neurons in the bins than the population: trim the largest
            whole[np.argsort(n[pop] - whole)[:-short]] -= 1.0
            whole = np.maximum(whole, 0.0)
        centres = 0.5 * (params.bin_edges[:-1] + params.bin_edges[1:])
        mean = np.where(n[pop] > 0, w[pop] / np.where(n[pop] > 0, n[pop], 1.0), centres)
        n[pop] = whole
        w[pop] = whole * mean
        lost[pop] = 0.0
