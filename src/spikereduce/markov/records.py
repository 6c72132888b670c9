"""Records and result Datasets of the three markov models (shared layout), and the
chunked driver that both network models run their compiled loop through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from ..errors import NumericalError
from ..io import PhaseTimer, make_dataset
from ..progress import chunk_bounds, progress_bar
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


class NetworkRecords:
    """Per-step records of a network run (SNN or SDE), filled chunk by chunk by its kernel."""

    def __init__(self, n_steps: int, n_bins: int, n_neurons: int):
        self.n_neurons = n_neurons
        self.spikes = np.zeros((n_steps, 2), dtype=np.int64)
        self.hbar = np.zeros((n_steps, 4))
        self.refractory = np.zeros((n_steps, 2), dtype=np.int64)
        self.vhist = np.zeros((n_steps, 2, n_bins), dtype=np.int32)
        self._steps: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []

    def raster_buffers(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Room for every neuron spiking in every step of the chunk [a, b)."""
        cap = self.n_neurons * (b - a)
        return np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int32)

    def keep(self, sp_step: np.ndarray, sp_id: np.ndarray, k: int) -> None:
        self._steps.append(sp_step[:k].copy())
        self._ids.append(sp_id[:k].copy())

    def run(self, chunk: Callable[[int, int, np.ndarray, np.ndarray], int], v: np.ndarray,
            dt: float, timer: PhaseTimer, *, label: str, progress: bool | None) -> None:
        """Run ``chunk(a, b, sp_step, sp_id) -> spikes recorded`` over chunks of the steps,
        keeping the raster and checking the voltages ``v`` after each chunk.

        The first chunk's time includes numba compilation (or the cache load); the phases are
        kept apart so users see the steady simulation speed.
        """
        n_steps = self.spikes.shape[0]
        with progress_bar(n_steps * dt, label, enabled=progress) as bar:
            for c, (a, b) in enumerate(chunk_bounds(n_steps, 50)):
                sp_step, sp_id = self.raster_buffers(a, b)
                with timer("compile" if c == 0 else "simulate"):
                    k = chunk(a, b, sp_step, sp_id)
                self.keep(sp_step, sp_id, k)
                if not np.all(np.isfinite(v)):
                    raise NumericalError(f"non-finite membrane voltage in the {label}",
                                         time=b * dt)
                bar.update(b * dt)

    def raster_vars(self, dt: float) -> dict[str, Any]:
        """spike_time (ms, end of the step) and spike_neuron (ids < n_E are E) variables."""
        steps = np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64)
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int32)
        return {"spike_time": ("spike", dt * (steps + 1), {"units": "ms"}),
                "spike_neuron": ("spike", ids, {"long_name": "neuron id (< n_E: E)"})}

    def dataset(self, params: MarkovParams, *, model: str, dt: float, timer: PhaseTimer,
                seed: int, **attrs: Any) -> xr.Dataset:
        return build_dataset(params, model=model, dt=dt, spikes=self.spikes, hbar=self.hbar,
                             refractory=self.refractory, vhist=self.vhist, timer=timer,
                             seed=seed, extra_vars=self.raster_vars(dt),
                             n_steps=self.spikes.shape[0], **attrs)
