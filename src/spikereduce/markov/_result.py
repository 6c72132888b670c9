"""Assembling the result Datasets of the three markov models (shared layout, spec §2.5)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..io import PhaseTimer, make_dataset
from .params import SYNAPSES, MarkovParams


def build_dataset(params: MarkovParams, *, model: str, dt: float, spikes: np.ndarray,
                  hbar: np.ndarray, refractory: np.ndarray, vhist: np.ndarray,
                  timer: PhaseTimer, seed: int | None, extra_vars: dict[str, Any] | None = None,
                  **attrs: Any) -> xr.Dataset:
    """Dataset with rate_E/rate_I (population spikes/ms per step), H_QQ', R_E/R_I, vhist_E/I."""
    n_steps = spikes.shape[0]
    time = dt * np.arange(1, n_steps + 1)
    edges = params.bin_edges
    centers = 0.5 * (edges[:-1] + edges[1:])
    data: dict[str, Any] = {
        "rate_E": ("time", spikes[:, 0] / dt, {"units": "spikes/ms (population)"}),
        "rate_I": ("time", spikes[:, 1] / dt, {"units": "spikes/ms (population)"}),
        "R_E": ("time", refractory[:, 0], {"units": "neurons", "long_name": "refractory E"}),
        "R_I": ("time", refractory[:, 1], {"units": "neurons", "long_name": "refractory I"}),
        "vhist_E": (("time", "v_bin"), vhist[:, 0, :],
                    {"units": "neurons", "long_name": "non-refractory E neurons per bin"}),
        "vhist_I": (("time", "v_bin"), vhist[:, 1, :],
                    {"units": "neurons", "long_name": "non-refractory I neurons per bin"}),
    }
    for k, syn in enumerate(SYNAPSES):
        data[f"H_{syn}"] = ("time", hbar[:, k],
                            {"units": "pending spikes per neuron",
                             "long_name": f"mean pending {syn[1]} spikes of {syn[0]} neurons"})
    data.update(extra_vars or {})
    coords = {"time": time, "v_bin": ("v_bin", centers, {"units": "voltage units (M = 100)"}),
              "v_edge": ("v_edge", edges)}
    return make_dataset(data, coords, family="markov", model=model, params=params.to_dict(),
                        seed=seed, timings=timer, time_units="ms", dt=dt, n_E=params.n_e,
                        n_I=params.n_i, **attrs)
