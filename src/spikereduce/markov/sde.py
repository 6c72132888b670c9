"""The Markov-approximated network (markov spec §2.3, level b): each neuron an SDE.

dv = μ_Q(v) dt + σ_Q(v) dW with μ, σ² built from the 8 population moments of §2.2 (variance
per neuron, not the reference code's E-indexing quirk); threshold, reset and refractory as the SNN.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from numba import njit

from ..errors import NumericalError
from ..io import PhaseTimer
from ..progress import chunk_bounds, progress_bar
from ..rng import normal, seed_state
from ..seeding import streams
from ._result import NetworkRecords
from .moments import _moment_step
from .network import _exits_and_histogram
from .params import MarkovParams


@njit(cache=True)
def _sde_chunk(s0, s1, rng, spare, n_e, v, ref, hbar, sig, r_prev, lam, M, Mr, tau_m, tau, p, s,
               tau_r, dt, e0, v_bin, spikes, out_h, refr, vhist, sp_step, sp_id):
    """Advance the SDE network over steps [s0, s1) in place; returns the spikes recorded.

    As in the reference, the moments are stepped first (with the previous step's rates) and the
    currents of step n use H(n+1).
    """
    n = v.size
    p_exit = 1.0 - math.exp(-dt / tau_r) if tau_r > 0 else 1.0
    inv_span = 1.0 / (M + Mr)
    if tau_m > 0:
        ext_mu = lam / tau_m
        ext_var = lam / (tau_m * tau_m)
    else:
        ext_mu = lam
        ext_var = lam
    n_sp = 0
    for step in range(s0, s1):
        _moment_step(hbar, sig, r_prev[0], r_prev[1], tau, p, dt)
        count_e = 0
        count_i = 0
        for i in range(n):
            if ref[i]:
                continue
            xi = normal(rng, spare)
            ke = 0 if i < n_e else 2
            ki = ke + 1
            f = (v[i] + Mr) * inv_span
            mu = ext_mu + s[ke] * hbar[ke] / tau[ke] - s[ki] * f * hbar[ki] / tau[ki]
            var = (ext_var + s[ke] * s[ke] * sig[ke] / (tau[ke] * tau[ke])
                   + s[ki] * s[ki] * f * f * sig[ki] / (tau[ki] * tau[ki]))
            if tau_m > 0:
                mu -= v[i] / tau_m
            v[i] += mu * dt + math.sqrt(max(var, 0.0) * dt) * xi
            if v[i] > M:
                v[i] = 0.0
                ref[i] = True
                if i < n_e:
                    count_e += 1
                else:
                    count_i += 1
                sp_step[n_sp] = step
                sp_id[n_sp] = i
                n_sp += 1
        r_e, r_i = _exits_and_histogram(rng, step, n_e, v, ref, p_exit, e0, 1.0 / v_bin, vhist)
        r_prev[0] = count_e / dt
        r_prev[1] = count_i / dt
        spikes[step, 0] = count_e
        spikes[step, 1] = count_i
        for k in range(4):
            out_h[step, k] = hbar[k]
        refr[step, 0] = r_e
        refr[step, 1] = r_i
    return n_sp


def _simulate_sde(params: MarkovParams, t_max: float, *, seed: int, dt: float, external: str,
                  progress: bool | None) -> xr.Dataset:
    """Validated-argument body of ``simulate_network(model="sde")``.

    The external drive enters as mean λ and variance λ (the diffusion limit), so ``external``
    must be "gaussian".
    """
    if external != "gaussian":
        from ..errors import ParameterError
        raise ParameterError("external", external, "'gaussian' for model 'sde'")
    timer = PhaseTimer()
    n_steps = int(round(t_max / dt))
    st = streams(seed)
    n = params.n_e + params.n_i
    tau, p, s = params.synapse_arrays()
    v = np.zeros(n)
    ref = np.zeros(n, dtype=np.bool_)
    hbar = np.zeros(4)
    sig = np.zeros(4)
    r_prev = np.zeros(2)
    rec = NetworkRecords(n_steps, params.n_bins, n)
    rng = seed_state(st.kernel_seed)
    spare = np.zeros(2)  # cached second normal of the polar method, carried between chunks
    with progress_bar(t_max, "markov SDE network", enabled=progress) as bar:
        for c, (a, b) in enumerate(chunk_bounds(n_steps, 50)):
            sp_step, sp_id = rec.raster_buffers(a, b)
            with timer("compile" if c == 0 else "simulate"):
                k = _sde_chunk(a, b, rng, spare, params.n_e, v, ref, hbar, sig, r_prev,
                               params.lam, params.M, params.Mr, params.tau_m, tau, p, s,
                               params.tau_r, dt, float(params.bin_edges[0]), params.v_bin,
                               rec.spikes, rec.hbar, rec.refractory, rec.vhist, sp_step, sp_id)
            rec.keep(sp_step, sp_id, k)
            if not np.all(np.isfinite(v)):
                raise NumericalError("non-finite membrane voltage in the SDE network",
                                     time=b * dt)
            bar.update(b * dt)
    return rec.dataset(params, model="sde", dt=dt, timer=timer, seed=seed,
                       connectivity="annealed", external=external)
