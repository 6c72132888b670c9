"""Time-varying external drive for every markov model: the kick rate λ(t) per step.

A drive is one of:

* None: the constant rate ``params.lam``;
* a callable t -> λ(t) (t in ms, λ in kicks per ms), evaluated at the start of each step;
* an array of one rate per step;
* a table (as in a config): ``{kind = "pulse", amplitude = A, start = t0, stop = t1}`` adds A to
  ``params.lam`` on [t0, t1); ``{kind = "periodic", amplitude = A, period = T}`` adds
  A sin(2π t / T).

Rates must be finite and non-negative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..params import check_positive, check_real
from .params import MarkovParams


def drive_rates(params: MarkovParams, drive: Any, n_steps: int, dt: float) -> np.ndarray:
    """λ of every step (float64[n_steps]) for the ``drive`` of the module docstring."""
    t = dt * np.arange(n_steps)
    if drive is None:
        return np.full(n_steps, float(params.lam))
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
                             "per step, or a pulse/periodic table")
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


def _table(params: MarkovParams, spec: dict[str, Any], t: np.ndarray) -> np.ndarray:
    kind = spec.pop("kind", None)
    if kind == "pulse":
        keys = {"amplitude", "start", "stop"}
    elif kind == "periodic":
        keys = {"amplitude", "period"}
    else:
        raise ParameterError("drive.kind", kind, "'pulse' or 'periodic'")
    if set(spec) != keys:
        raise ParameterError("drive", sorted(spec), f"the fields {sorted(keys)} for a {kind}")
    amp = check_real("drive.amplitude", spec["amplitude"])
    if kind == "pulse":
        start = check_real("drive.start", spec["start"], lo=0.0)
        stop = check_real("drive.stop", spec["stop"], lo=start, lo_open=True)
        return params.lam + amp * ((t >= start) & (t < stop))
    period = check_positive("drive.period", spec["period"])
    return params.lam + amp * np.sin(2.0 * math.pi * t / period)


def with_drive(ds: xr.Dataset, lam: np.ndarray, drive: Any) -> xr.Dataset:
    """Record a time-varying drive with a result: ``lam`` on time (a constant one is an attr)."""
    if drive is None:
        return ds
    ds = ds.assign(lam=("time", lam, {"units": "1/ms", "long_name": "external kick rate"}))
    ds.attrs["drive"] = "time-varying (see lam)"
    return ds
