"""Exact i.i.d. avalanche samplers: no burn-in, no autocorrelation.

The torus sampler draws the pre-drive state from the stationary law by relaxing a uniform torus
point; the rejection sampler draws the start unit from its exact law and the other potentials
uniformly on the phase space of the network without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..errors import NumericalError
from ..io import PhaseTimer
from ..params import check_choice, check_count
from ..rng import streams
from . import _kernels_sim as K
from ._checks import as_delta, as_distribution, as_weights, dense
from .simulate import avalanche_dataset
from .theory import cofactors

_MAX_SAMPLER_N = 4000


def sample_avalanches(W: Any, n_avalanches: int, *, method: str = "torus",
                      delta: float | None = None, p: Any = None, random_amplitude: bool = True,
                      seed: int = 0) -> xr.Dataset:
    """``n_avalanches`` independent avalanches from the stationary law.

    ``method="torus"``: u = Relax((I - W)x + W1), x ~ U[0,1)^N, then one drive step; trials that
    trigger nothing are discarded (acceptance = trigger rate; ``n_steps`` counts trials).
    ``method="rejection"``: start i ~ p_i det((I - W)_{-i,-i}), u_{-i} uniform until it passes
    the burning test of the network without i, u_i = 1 (``n_steps`` counts state draws;
    efficient only while those cofactors are not tiny; delta plays no role).
    """
    method = check_choice("method", method, ("torus", "rejection"))
    Wd = np.ascontiguousarray(dense(as_weights(W), limit=_MAX_SAMPLER_N), dtype=np.float64)
    N = Wd.shape[0]
    n_av = check_count("n_avalanches", n_avalanches, bytes_per_item=76)
    pv = as_distribution(p, N)
    d = as_delta(delta, Wd)
    st = streams(seed)
    WT = np.ascontiguousarray(Wd.T)
    timer = PhaseTimer()
    with timer("sample"):
        if method == "torus":
            cum = np.cumsum(pv)
            cum[-1] = 1.0
            out = K.sampler_kernel(Wd, WT, cum, d, bool(random_amplitude), n_av,
                                   st.state("sampler"), K.TORUS)
        else:
            w = pv * cofactors(Wd)
            cum = np.cumsum(w / w.sum())
            cum[-1] = 1.0
            out = K.sampler_kernel(Wd, WT, cum, d, True, n_av, st.state("sampler"),
                                   K.REJECTION)
    sizes, durs, starts, units, steps, status = out
    if status != K.OK:
        raise NumericalError("a unit fired twice within one avalanche (A1-A2 violated)")
    return avalanche_dataset(
        Wd, sizes=sizes, durations=durs, start_units=starts, units=units, delta=d,
        random_amplitude=bool(random_amplitude), p=pv, n_steps=int(steps), seed=int(seed),
        timings=timer, sampler=method)
