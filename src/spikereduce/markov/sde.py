"""The Markov-approximated network: each neuron an SDE.

dv = μ_Q(v) dt + σ_Q(v) dW with μ, σ² built from the 8 population moments (variance
per neuron, not the reference code's E-indexing quirk); threshold, reset and refractory as the SNN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..io import PhaseTimer
from ..rng import streams
from ._kernels import sde_chunk
from .drive import with_drive
from .params import MarkovParams
from .records import NetworkRecords


def simulate_sde(params: MarkovParams, t_max: float, *, seed: int, dt: float, external: str,
                 lam: np.ndarray, drive: Any, progress: bool | None) -> xr.Dataset:
    """Validated-argument body of ``simulate_network(model="sde")``.

    The external drive enters as mean λ and variance λ (the diffusion limit), so ``external``
    must be "gaussian"; ``lam`` holds λ of every step.
    """
    if external != "gaussian":
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
    rng = st.state("network")
    spare = np.zeros(2)  # the second normal of a Box–Muller pair, carried between chunks

    def chunk(a: int, b: int, sp_step: np.ndarray, sp_id: np.ndarray) -> int:
        return sde_chunk(a, b, rng, spare, params.n_e, v, ref, hbar, sig, r_prev, lam,
                         params.M, params.Mr, params.tau_m, tau, p, s, params.tau_r, dt,
                         float(params.bin_edges[0]), params.v_bin, rec.spikes, rec.hbar,
                         rec.refractory, rec.vhist, sp_step, sp_id)

    rec.run(chunk, v, dt, timer, label="markov SDE network", progress=progress)
    return with_drive(rec.dataset(params, model="sde", dt=dt, timer=timer, seed=seed,
                                  connectivity="annealed", external=external), lam, drive)
