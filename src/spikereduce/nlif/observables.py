"""Observables of nlif results: firing rates on a common grid for every solver.

Particle and Fokker–Planck rates are compared in bins of equal width.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def _cumulative(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(t, M(t)) of any nlif result, starting at (0, 0): particle records begin after the
    first step, Fokker–Planck and time-dilated ones at t = 0 themselves."""
    t = np.concatenate(([0.0], np.asarray(ds.time, float)))
    c = np.concatenate(([0.0], np.asarray(ds.cumulative_spikes, float)))
    if t[1] == 0.0:
        t, c = t[1:], c[1:]
    return t, c


def binned_rate(ds: xr.Dataset, width: float, t_end: float | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Mean firing rate in consecutive bins of ``width``, from ``cumulative_spikes``.

    Works for both solvers (cumulative spikes are exact at their own time points and linearly
    interpolated at the bin edges), so particle and Fokker–Planck rates share one grid.
    """
    t, c = _cumulative(ds)
    stop = t[-1] if t_end is None else min(t_end, t[-1])
    n_bins = max(1, int(np.floor(stop / width + 1e-9)))
    edges = width * np.arange(n_bins + 1)
    ce = np.interp(edges, t, c)
    return 0.5 * (edges[1:] + edges[:-1]), np.diff(ce) / width


def mfe_events(ds: xr.Dataset, threshold: float = 0.01) -> tuple[np.ndarray, np.ndarray,
                                                                  float]:
    """Multiple firing events of any nlif result: (start times, sizes, spikes per neuron fired
    before the first one).

    A time-dilated result lists its events (``mfe_time``, ``mfe_fired``). Otherwise every
    record interval in which more than ``threshold`` of the neurons fired counts, and
    consecutive such intervals merge into one event whose size is their sum (particles split an
    event over several steps when dt is coarse).
    """
    if "mfe_time" in ds:
        times = np.asarray(ds["mfe_time"].values, float)
        sizes = np.asarray(ds["mfe_fired"].values, float)
        if times.size == 0:
            return times, sizes, float("nan")
        after = ds["cumulative_spikes"].values[ds["mode"].values == "mfe"][0]
        return times, sizes, float(after - sizes[0])
    t, c = _cumulative(ds)
    inc = np.diff(c)
    big = inc > threshold
    starts = np.nonzero(big & ~np.concatenate(([False], big[:-1])))[0]
    times, sizes = [], []
    for k in starts:
        stop = k
        while stop + 1 < big.size and big[stop + 1]:
            stop += 1
        times.append(t[k])
        sizes.append(c[stop + 1] - c[k])
    before = float(c[starts[0]]) if starts.size else float("nan")
    return np.array(times), np.array(sizes), before
