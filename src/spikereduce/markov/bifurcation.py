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


def continuation(params: MarkovParams | None = None, name: str = "p_ei",
                 values: Sequence[float] | None = None, *, t_max: float = 1000.0,
                 t_start: float | None = None, refractory: str = "code",
                 variance: str = "reference", dt: float = 0.1,
                 progress: bool | None = None) -> xr.Dataset:
    """Follow the deterministic dsODE's attractors through one parameter, up and back down.

    The map is run at ``values[0]`` from all neurons at reset, then at each next value from the
    last state of the previous run (``simulate_dsode(..., initial=previous)``); then on, back
    from ``values[-1]`` to ``values[0]``. Where the map has two attractors (a synchronous cycle
    of large MFEs and an asynchronous state) and one of them ends inside the range, the two
    sweeps stay on different ones over the range where both are stable: a hysteresis loop.
    ``name`` is any MarkovParams field that leaves the population sizes and the voltage grid as
    they are (default ``"p_ei"``; ``values`` default to 0.85, 0.86, ..., 1.0).

    Returns nu_E, nu_I (Hz), ssi_E, mfe_rate (Hz) and pattern on (sweep, ``name``), sweep
    "up" and "down", each point's statistics over t > t_start of its run (default t_max / 5).
    """
    params = MarkovParams.check(params if params is not None else MarkovParams())
    fixed = ("n_e", "n_i", "v_bin", "v_bin_min", "M")
    fields = tuple(f for f in MarkovParams.model_fields if f not in fixed)
    name = check_choice("name", name, fields)
    if values is None:
        values = np.round(np.linspace(0.85, 1.0, 16), 10) if name == "p_ei" else None
    if values is None:
        raise ParameterError("values", None, f"a list of at least two values of {name}")
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ParameterError("values", values, f"a list of numbers ({name})") from None
    if len(values) < 2:
        raise ParameterError("values", values, f"at least two values of {name}")
    points = [params.replace(**{name: v}) for v in values]  # each point validated up front
    t_max = check_positive("t_max", t_max)
    t_start = default_t_start(t_max) if t_start is None else check_real(
        "t_start", t_start, lo=0.0, hi=t_max, hi_open=True)
    scal = {k: np.zeros((2, len(values))) for k in ("nu_E", "nu_I", "ssi_E", "mfe_rate")}
    pattern = np.empty((2, len(values)), dtype="<U10")
    timer = PhaseTimer()
    with progress_bar(2 * len(values), f"dsODE continuation in {name}", enabled=progress,
                      unit="points") as bar:
        state = None
        for sweep, order in enumerate((range(len(values)), range(len(values) - 1, -1, -1))):
            for j in order:
                with timer("dsode"):
                    state = simulate_dsode(points[j], t_max, refractory=refractory, dt=dt,
                                           variance=variance, initial=state, progress=False)
                s = summary(state, t_start)
                for k in scal:
                    scal[k][sweep, j] = s[k]
                pattern[sweep, j] = mfe_peaks(state, min(t_start, 100.0)).pattern
                bar.advance()
    units = {"nu_E": "Hz", "nu_I": "Hz", "ssi_E": "1", "mfe_rate": "Hz"}
    data = {k: (("sweep", name), v, {"units": units[k]}) for k, v in scal.items()}
    data["pattern"] = (("sweep", name), pattern)
    return make_dataset(data, {"sweep": ["up", "down"], name: values}, family="markov",
                        model="continuation", params=params.to_dict(), seed=None,
                        timings=timer, t_max=t_max, t_start=t_start, dt=dt,
                        refractory_rule=refractory, variance=variance)
