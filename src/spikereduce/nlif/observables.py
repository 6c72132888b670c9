"""Observables of nlif results: firing rates on a common grid for every solver.

Spec nlif §4: T4 compares particle and Fokker–Planck rates in bins of equal width.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def binned_rate(ds: xr.Dataset, width: float, t_end: float | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Mean firing rate in consecutive bins of ``width``, from ``cumulative_spikes``.

    Works for both solvers (cumulative spikes are exact at their own time points and linearly
    interpolated at the bin edges), so particle and Fokker–Planck rates share one grid.
    """
    t = np.concatenate(([0.0], np.asarray(ds.time, float)))
    c = np.concatenate(([0.0], np.asarray(ds.cumulative_spikes, float)))
    if t[1] == 0.0:  # Fokker–Planck results start at t = 0 themselves
        t, c = t[1:], c[1:]
    stop = t[-1] if t_end is None else min(t_end, t[-1])
    n_bins = max(1, int(np.floor(stop / width + 1e-9)))
    edges = width * np.arange(n_bins + 1)
    ce = np.interp(edges, t, c)
    return 0.5 * (edges[1:] + edges[:-1]), np.diff(ce) / width
