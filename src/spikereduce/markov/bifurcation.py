"""The p_EI bifurcation diagram of the paper: beat histograms and rates.

A plain loop over p_EI with a progress bar; each point is one call of the same functions the run
entries use (``point_summary``), so a sweep engine can compute points independently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import check_choice, check_int, check_positive, check_real, check_seed
from ..progress import progress_bar
from .dsode import simulate_dsode
from .network import simulate_network
from .observables import BEAT_EDGES, default_t_start, mfe_peaks, summary
from .params import MarkovParams, check_dt

MODELS = ("snn", "sde", "dsode")
SCALARS = ("nu_E", "nu_I", "ssi_E", "ssi_I", "mfe_rate")


def point_summary(params: MarkovParams, model: str, t_max: float, *, seed: int = 0,
                  refractory: str = "code", dt: float = 0.1,
                  t_start: float = 200.0) -> tuple[dict[str, float], np.ndarray, str]:
    """Simulate one parameter point; return (scalar summary, Δm histogram, beat pattern)."""
    model = check_choice("model", model, MODELS)
    if model == "dsode":
        ds = simulate_dsode(params, t_max, refractory=refractory, dt=dt, progress=False)
    else:
        ds = simulate_network(params, t_max, seed=seed, model=model, dt=dt, progress=False)
    peaks = mfe_peaks(ds, min(t_start, 100.0))
    return summary(ds, t_start), peaks.hist, peaks.pattern


def bifurcation(params: MarkovParams | None = None, p_ei_start: float = 0.5,
                p_ei_stop: float = 1.0, count: int = 51, *, t_max: float = 1000.0,
                seed: int = 0, models: Sequence[str] = ("snn", "dsode"),
                refractory: str = "code", dt: float = 0.1, t_start: float | None = None,
                progress: bool | None = None) -> xr.Dataset:
    """Beat histograms and rates over p_EI ∈ linspace(start, stop, count) (default 0.5–1.0, 51).

    Returns beat_hist (model, p_ei, dm_bin): counts of successive MFE peak-height differences
    over −300:5:300 spikes/ms; nu_E, nu_I (Hz), ssi_E, ssi_I, mfe_rate (Hz) and pattern
    ('period-1', 'period-2', 'irregular', 'none') per (model, p_ei). Every SNN point uses the
    same seed (common random numbers across p_EI). Statistics use t > t_start (default
    200 ms, or the first fifth of shorter runs).
    """
    params = MarkovParams.check(params if params is not None else MarkovParams())
    p_ei_start = check_real("p_ei_start", p_ei_start, lo=0.0, hi=1.0)
    p_ei_stop = check_real("p_ei_stop", p_ei_stop, lo=0.0, hi=1.0)
    count = check_int("count", count, lo=1)
    t_max = check_positive("t_max", t_max)
    seed = check_seed(seed)
    dt = check_dt(params, dt)
    t_start = default_t_start(t_max) if t_start is None else check_real(
        "t_start", t_start, lo=0.0, hi=t_max, hi_open=True)
    refractory = check_choice("refractory", refractory, ("code", "clean"))
    if isinstance(models, str):
        models = (models,)
    models = tuple(check_choice("models", m, MODELS) for m in models)
    if not models:
        raise ParameterError("models", [], "a non-empty list of " + ", ".join(MODELS))
    p_values = np.linspace(p_ei_start, p_ei_stop, count)
    n_bins = BEAT_EDGES.size - 1
    hist = np.zeros((len(models), count, n_bins), dtype=np.int64)
    scal = {k: np.zeros((len(models), count)) for k in SCALARS}
    pattern = np.empty((len(models), count), dtype="<U10")
    timer = PhaseTimer()
    with progress_bar(len(models) * count, "p_EI bifurcation", enabled=progress,
                      unit="points") as bar:
        for j, p_ei in enumerate(p_values):
            point = params.replace(p_ei=float(p_ei))
            for i, model in enumerate(models):
                with timer(model):
                    s, h, pat = point_summary(point, model, t_max, seed=seed,
                                              refractory=refractory, dt=dt, t_start=t_start)
                hist[i, j] = h
                pattern[i, j] = pat
                for k in SCALARS:
                    scal[k][i, j] = s[k]
                bar.advance()
    centers = 0.5 * (BEAT_EDGES[:-1] + BEAT_EDGES[1:])
    data = {"beat_hist": (("model", "p_ei", "dm_bin"), hist),
            "pattern": (("model", "p_ei"), pattern)}
    units = {"nu_E": "Hz", "nu_I": "Hz", "ssi_E": "1", "ssi_I": "1", "mfe_rate": "Hz"}
    for k in SCALARS:
        data[k] = (("model", "p_ei"), scal[k], {"units": units[k]})
    coords = {"model": list(models), "p_ei": p_values,
              "dm_bin": ("dm_bin", centers, {"units": "spikes/ms"})}
    return make_dataset(data, coords, family="markov", model="bifurcation",
                        params=params.to_dict(), seed=seed, timings=timer, t_max=t_max, dt=dt,
                        refractory_rule=refractory, t_start=t_start)
