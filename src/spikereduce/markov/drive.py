"""Time-varying external drive for every markov model: the kick rate λ(t) per step.

A drive is one of:

* None: the constant rate ``params.lam``;
* a callable t -> λ(t) (t in ms, λ in kicks per ms), evaluated at the start of each step;
* an array of one rate per step;
* a table (as in a config), or the same input object the nlif family takes
  (:class:`spikereduce.nlif.Pulse`, :class:`spikereduce.nlif.Periodic`), read in kicks per ms:

  - ``{kind = "pulse", amplitude = A, start = t0, stop = t1}`` adds A to ``params.lam`` on
    [t0, t1); without ``stop`` it is a step that lasts to the end of the run;
  - ``{kind = "periodic", amplitude = A, period = T}`` adds A sin(2π t / T);
  - ``{kind = "table", times = [t_0, ...], rates = [λ_0, ...]}`` is a tabulated rate: λ(t)
    itself (not added to ``params.lam``), linear between the points and held constant
    before the first and after the last;

  pulse and periodic tables may also carry ``offset``, added at all times.

Rates must be finite and non-negative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..params import Params, check_positive, check_real
from .params import MarkovParams


def drive_rates(params: MarkovParams, drive: Any, n_steps: int, dt: float) -> np.ndarray:
    """λ of every step (float64[n_steps]) for the ``drive`` of the module docstring."""
    t = dt * np.arange(n_steps)
    if drive is None:
        return np.full(n_steps, float(params.lam))
    if isinstance(drive, Params):  # the nlif family's input objects, read in kicks per ms
        drive = drive.model_dump()
    if isinstance(drive, Mapping):
        lam = _table(params, dict(drive), t)
    elif callable(drive):
        try:
            lam = np.asarray(drive(t), dtype=float)
            if lam.shape != t.shape:
                lam = np.array([float(drive(x)) for x in t])
        except (TypeError, ValueError) as exc:
            raise ParameterError("drive", "callable", f"a function of t (ms) returning a rate "
                                 f"per ms ({exc})") from None
    elif isinstance(drive, (str, bytes, bool)):
        raise ParameterError("drive", drive, "None, a callable t -> rate, an array of rates "
                             "per step, or a pulse/periodic/table input")
    else:
        try:
            lam = np.array(drive, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError("drive", type(drive).__name__, "an array of rates per step"
                                 ) from None
        if lam.shape != (n_steps,):
            raise ParameterError("drive", f"shape {lam.shape}", f"one rate per step "
                                 f"({n_steps} values)")
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ParameterError("drive", "negative or non-finite rates",
                             "finite rates >= 0 (kicks per ms)")
    return np.ascontiguousarray(lam)


def check_drive(drive: Any) -> None:
    """Raise ParameterError for a drive that no run could use (a config's table checked before
    a sweep starts); a valid one passes."""
    drive_rates(MarkovParams(), drive, 1, 0.1)


def _table(params: MarkovParams, spec: dict[str, Any], t: np.ndarray) -> np.ndarray:
    kind = spec.pop("kind", None)
    required, optional = {
        "pulse": ({"amplitude", "start"}, {"stop", "offset"}),
        "periodic": ({"amplitude", "period"}, {"offset"}),
        "table": ({"times", "rates"}, set()),
    }.get(kind, (None, None))
    if required is None:
        raise ParameterError("drive.kind", kind, "'pulse', 'periodic' or 'table'")
    if not required <= set(spec) <= required | optional:
        raise ParameterError("drive", sorted(spec), f"the fields {sorted(required)} for a "
                             f"{kind}" + (f" (optional: {sorted(optional)})" if optional
                                          else ""))
    if kind == "table":
        return _tabulated(spec["times"], spec["rates"], t)
    amp = check_real("drive.amplitude", spec["amplitude"])
    offset = check_real("drive.offset", spec.get("offset", 0.0))
    if kind == "pulse":
        start = check_real("drive.start", spec["start"], lo=0.0)
        stop = spec.get("stop")
        stop = math.inf if stop is None else check_real("drive.stop", stop, lo=start,
                                                          lo_open=True)
        return params.lam + offset + amp * ((t >= start) & (t < stop))
    period = check_positive("drive.period", spec["period"])
    return params.lam + offset + amp * np.sin(2.0 * math.pi * t / period)


def _tabulated(times: Any, rates: Any, t: np.ndarray) -> np.ndarray:
    try:
        tt = np.array(times, dtype=float)
        rr = np.array(rates, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("drive.times", "non-numeric", "two lists of numbers") from None
    if tt.ndim != 1 or tt.size == 0 or rr.shape != tt.shape:
        raise ParameterError("drive.rates", f"shape {rr.shape}", f"one rate per time "
                             f"({tt.size} times, at least one)")
    if not np.all(np.isfinite(tt)) or np.any(np.diff(tt) <= 0):
        raise ParameterError("drive.times", "unordered or non-finite", "finite, strictly "
                             "increasing times (ms)")
    return np.interp(t, tt, rr)


def with_drive(ds: xr.Dataset, lam: np.ndarray, drive: Any) -> xr.Dataset:
    """Record a time-varying drive with a result: ``lam`` on time (a constant one is an attr)."""
    if drive is None:
        return ds
    ds = ds.assign(lam=("time", lam, {"units": "1/ms", "long_name": "external kick rate"}))
    ds.attrs["drive"] = "time-varying (see lam)"
    return ds
