"""The E/I pending-spike network and the public ``simulate_network``.

Continuous voltage, no leak by default, voltage-dependent inhibition, pending spikes born
Binomial per presynaptic spike and consumed at rate 1/τ, exponential refractory exits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..io import PhaseTimer
from ..params import check_choice, check_positive, check_seed, check_steps
from ..rng import streams
from ._kernels import snn_chunk
from .drive import drive_rates, with_drive
from .params import MarkovParams, check_dt
from .records import NetworkRecords
from .sde import simulate_sde


def fixed_connectivity(params: MarkovParams, rng: np.random.Generator) -> np.ndarray:
    """Erdős–Rényi matrix conn[post, pre] with probability p_QQ' (self-connections kept)."""
    n_e, n = params.n_e, params.n_e + params.n_i
    post_e = np.arange(n) < n_e
    prob = np.empty((n, n))
    prob[np.ix_(post_e, post_e)] = params.p_ee
    prob[np.ix_(post_e, ~post_e)] = params.p_ei
    prob[np.ix_(~post_e, post_e)] = params.p_ie
    prob[np.ix_(~post_e, ~post_e)] = params.p_ii
    return rng.random((n, n)) < prob


def simulate_network(params: MarkovParams, t_max: float = 1000.0, *, seed: int = 0,
                     model: str = "snn", connectivity: str = "annealed", dt: float = 0.1,
                     external: str = "gaussian", drive: Any = None,
                     progress: bool | None = None) -> xr.Dataset:
    """Simulate the spiking network for ``t_max`` ms.

    ``model="snn"`` is the pending-spike network; ``model="sde"`` the
    Markov-approximated network.
    ``connectivity`` is "annealed" (postsynaptic sets redrawn per spike) or "fixed" (seeded
    Erdős–Rényi); ``external`` is "gaussian" (reference) or "poisson" (exact unit kicks).
    Returns rate_E, rate_I (population spikes/ms per step), H_EE/H_EI/H_IE/H_II (mean pending
    spikes per neuron), R_E, R_I, vhist_E/I on the dsODE bins and the raster (spike_time in ms,
    spike_neuron: ids < n_e are E). ``drive``: a time-varying external rate (see
    :mod:`spikereduce.markov.drive`; None keeps ``params.lam``), stored as ``lam`` on time.
    """
    params = MarkovParams.check(params)
    model = check_choice("model", model, ("snn", "sde"))
    connectivity = check_choice("connectivity", connectivity, ("annealed", "fixed"))
    external = check_choice("external", external, ("gaussian", "poisson"))
    t_max = check_positive("t_max", t_max)
    dt = check_dt(params, dt)
    n = params.n_e + params.n_i
    # records per step: counts, H, refractory, voltage histograms, the chunk's raster buffer
    check_steps(t_max, dt, bytes_per_step=72 + 8 * params.n_bins + 0.24 * n)
    seed = check_seed(seed)
    lam = drive_rates(params, drive, int(round(t_max / dt)), dt)
    if model == "sde":
        if connectivity != "annealed":
            raise ParameterError("connectivity", connectivity,
                                 "'annealed' for model 'sde' (it has no graph)")
        return simulate_sde(params, t_max, seed=seed, dt=dt, external=external, lam=lam,
                            drive=drive, progress=progress)
    return _simulate_snn(params, t_max, seed=seed, dt=dt, connectivity=connectivity,
                         external=external, lam=lam, drive=drive, progress=progress)


def _simulate_snn(params: MarkovParams, t_max: float, *, seed: int, dt: float,
                  connectivity: str, external: str, lam: np.ndarray, drive: Any,
                  progress: bool | None) -> xr.Dataset:
    timer = PhaseTimer()
    n_steps = int(round(t_max / dt))
    st = streams(seed)
    n = params.n_e + params.n_i
    fixed = connectivity == "fixed"
    with timer("setup"):
        conn = (fixed_connectivity(params, st.generator("initial")) if fixed
                else np.zeros((1, 1), dtype=np.bool_))
    tau, p, s = params.synapse_arrays()
    v = np.zeros(n)
    ref = np.zeros(n, dtype=np.bool_)
    h_e = np.zeros(n, dtype=np.int64)
    h_i = np.zeros(n, dtype=np.int64)
    rec = NetworkRecords(n_steps, params.n_bins, n)
    rng = st.state("network")
    spare = np.zeros(2)  # the second normal of a Box–Muller pair, carried between chunks

    def chunk(a: int, b: int, sp_step: np.ndarray, sp_id: np.ndarray) -> int:
        return snn_chunk(a, b, rng, spare, params.n_e, v, ref, h_e, h_i, conn, fixed,
                         lam, params.M, params.Mr, params.tau_m, tau, p, s,
                         params.tau_r, dt, external == "poisson", float(params.bin_edges[0]),
                         params.v_bin, rec.spikes, rec.hbar, rec.refractory, rec.vhist,
                         sp_step, sp_id)

    rec.run(chunk, v, dt, timer, label="markov SNN", progress=progress)
    return with_drive(rec.dataset(params, model="snn", dt=dt, timer=timer, seed=seed,
                                  connectivity=connectivity, external=external), lam, drive)
