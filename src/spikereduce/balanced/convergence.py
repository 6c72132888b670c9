"""Network-to-limit convergence study: replicates over n, RMS errors, fitted log-log slopes.

Checks the rate n^-1/2 of means, variances and the common drift (which starts with a lag).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import check_int, check_positive, check_real, check_seed
from ..progress import progress_bar
from ..rng import derive_seed
from .limit import STATE, TIME_UNITS, as_state, integrated_drift, solve_limit
from .network import simulate_network
from .params import BalancedParams

SPEC_REPLICATES = {500: 32, 2000: 16, 8000: 8, 32000: 4}


def fit_slope(ns: Sequence[float], errors: Sequence[float]) -> float:
    """Least-squares slope of log(error) against log(n)."""
    x = np.log(np.asarray(ns, dtype=float))
    y = np.log(np.asarray(errors, dtype=float))
    return float(np.polyfit(x, y, 1)[0])


def pooled_slope(ns: Sequence[float], table: np.ndarray) -> float:
    """Common log-log slope of several error columns (one intercept per column).

    ``table`` has shape (len(ns), n_columns); each column is centred in log space and one slope
    is fitted through all points.
    """
    x = np.log(np.asarray(ns, dtype=float))
    y = np.log(np.asarray(table, dtype=float))
    xc = x - x.mean()
    yc = y - y.mean(axis=0)
    return float(np.sum(xc[:, None] * yc) / (y.shape[1] * np.sum(xc * xc)))


def _record_dt(times: np.ndarray, t_max: float, dt: float) -> float:
    steps = [int(round(t / dt)) for t in (*times, t_max)]
    return math.gcd(*steps) * dt


def convergence_study(params: BalancedParams, y0: Any, *,
                      replicates: Mapping[int, int] | None = None, t_max: float = 4.0,
                      times: Sequence[float] = (0.5, 1.0, 2.0, 4.0), dt: float = 1e-3,
                      seed: int = 0, progress: bool | None = None) -> xr.Dataset:
    """Run ``replicates[n]`` networks of each size n and compare them with the limit.

    Returns a Dataset with the signed errors ``err_<stat>`` (dims n, replicate, time; NaN where a
    size has fewer replicates), the RMS over replicates and times ``rms_<stat>`` (dim n), the
    integrated common drift of the network ``drift`` and of the limit ``limit_drift`` (int c dt),
    and in attrs the fitted slopes ``slope_<stat>`` and the pooled slope ``slope_pooled``.
    Replicate k of the whole study (counted over all sizes) runs with the seed
    ``spikereduce.rng.derive_seed(seed, k)``, so any subset can be rerun alone.
    """
    params = BalancedParams.check(params)
    replicates = dict(SPEC_REPLICATES if replicates is None else replicates)
    if not replicates:
        raise ParameterError("replicates", replicates, "a non-empty mapping n -> count")
    sizes = sorted(check_int("replicates (n)", n, lo=2) for n in replicates)
    counts = {n: check_int(f"replicates[{n}]", replicates[n], lo=1) for n in sizes}
    t_max = check_positive("t_max", t_max)
    dt = check_real("dt", dt, lo=0.0, lo_open=True)
    seed = check_seed(seed)
    times = np.asarray([check_real("times", t, lo=0.0, lo_open=True, hi=t_max) for t in times])
    if times.size == 0:
        raise ParameterError("times", [], "at least one observation time")
    y = as_state(y0)
    timer = PhaseTimer()
    with timer("limit"):
        lim = solve_limit(params, y, t_max, t_eval=np.concatenate([[0.0], times]))
    ref = lim.isel(time=slice(1, None))
    ref_drift = integrated_drift(solve_limit(params, y, t_max, n_points=4001))
    grid = np.linspace(0.0, t_max, 4001)
    limit_drift = np.interp(times, grid, ref_drift)
    rec = _record_dt(times, t_max, dt)
    n_rep = max(counts.values())
    err = {k: np.full((len(sizes), n_rep, times.size), np.nan) for k in STATE}
    drift = np.full((len(sizes), n_rep, times.size), np.nan)
    index = 0
    total = sum(counts[n] * n for n in sizes)
    with timer("networks"), progress_bar(total, "convergence study", enabled=progress,
                                         unit="points") as bar:
        for i, n in enumerate(sizes):
            for r in range(counts[n]):
                ds = simulate_network(params, n, t_max, y0=y, dt=dt,
                                      seed=derive_seed(seed, index), record_dt=rec,
                                      progress=False)
                index += 1
                at = ds.sel(time=times, method="nearest")
                for k in STATE:
                    err[k][i, r] = at[k].values - ref[k].values
                drift[i, r] = at["drift"].values
                bar.advance(n)
    rms = {k: np.sqrt(np.nanmean(err[k] ** 2, axis=(1, 2))) for k in STATE}
    # sizes with fewer replicates than the largest count are padded with NaN, and say so
    pad = {"padding": "NaN for replicates beyond the count of a size (see `replicates`)"}
    data: dict[str, Any] = {f"err_{k}": (("n", "replicate", "time"), err[k], pad)
                            for k in STATE}
    data.update({f"rms_{k}": ("n", rms[k]) for k in STATE})
    data["drift"] = (("n", "replicate", "time"), drift, pad)
    data["limit_drift"] = ("time", limit_drift)
    data["replicates"] = ("n", np.array([counts[n] for n in sizes]))
    for k in STATE:
        data[f"limit_{k}"] = ("time", ref[k].values)
    slopes = {f"slope_{k}": fit_slope(sizes, rms[k]) if len(sizes) > 1 else float("nan")
              for k in STATE}
    pooled = (pooled_slope(sizes, np.column_stack([rms[k] for k in STATE]))
              if len(sizes) > 1 else float("nan"))
    return make_dataset(data, {"n": np.array(sizes), "replicate": np.arange(n_rep),
                               "time": times},
                        family="balanced", model="convergence", params=params.to_dict(),
                        seed=seed, timings=timer, time_units=TIME_UNITS, dt=dt,
                        y0=list(y), slope_pooled=pooled, **slopes)
