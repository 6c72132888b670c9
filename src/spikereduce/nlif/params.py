"""Parameters of the noisy LIF network and its Fokker–Planck equation, with the input current I(t).

dV = (-V + I(t)) dt + sqrt(2a) dW + b dPhi_N (Du, Xie & Zhou, arXiv:2305.05915, and the
Fokker–Planck equation of Hu, Liu, Xie & Zhou).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..errors import ParameterError
from ..params import Params, check_positive, check_real


class _Positional:
    """Lets a parameter model also take its main fields positionally, as the API reference
    writes them (``NLIFParams(0.5)``, ``Pulse(100.0, 1.0, 1.01)``)."""

    _positional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **data: Any):
        if len(args) > len(self._positional):
            raise ParameterError("arguments", len(args), f"at most {len(self._positional)} "
                                 f"positional ({', '.join(self._positional)})")
        for name, value in zip(self._positional, args, strict=False):
            if name in data:
                raise ParameterError(name, value, message=f"{name} given twice")
            data[name] = value
        super().__init__(**data)


class Pulse(_Positional, Params):
    """A rectangular input: I(t) = offset + amplitude on [start, stop), offset elsewhere."""

    _positional = ("amplitude", "start", "stop", "offset")
    kind: Literal["pulse"] = "pulse"
    amplitude: float = Field(description="input added on [start, stop) (v per tau_m)")
    start: float = Field(ge=0, description="switch-on time (tau_m)")
    stop: float = Field(description="switch-off time (tau_m), > start")
    offset: float = Field(0.0, description="constant input outside the pulse (v per tau_m)")

    @model_validator(mode="after")
    def _ordered(self) -> Pulse:
        if not self.stop > self.start:
            raise ParameterError("stop", self.stop, f"> start = {self.start:g}")
        return self


class Periodic(_Positional, Params):
    """A sinusoidal input: I(t) = offset + amplitude * sin(2 pi t / period)."""

    _positional = ("amplitude", "period", "offset")
    kind: Literal["periodic"] = "periodic"
    amplitude: float = Field(description="amplitude of the sine (v per tau_m)")
    period: float = Field(gt=0, description="period (tau_m)")
    offset: float = Field(0.0, description="constant added to the sine (v per tau_m)")


Current = float | Pulse | Periodic


def _as_current(value: Any) -> Any:
    # Config files give inputs as tables: {kind = "pulse", amplitude = 100, start = 1, ...}.
    if isinstance(value, dict):
        kind = value.get("kind")
        rest = {k: v for k, v in value.items() if k != "kind"}
        if kind == "pulse":
            return Pulse(**rest)
        if kind == "periodic":
            return Periodic(**rest)
        raise ParameterError("current.kind", kind, "'pulse' or 'periodic'")
    return value


class NLIFParams(_Positional, Params):
    """Noisy LIF network / NNLIF Fokker–Planck parameters (dimensionless, time in tau_m).

    ``b`` coupling (b > 0 excitatory; every spike moves the others by b/N), ``a`` diffusion
    (noise sqrt(2a) dW), ``v_f`` threshold, ``v_r`` reset, ``current`` the input I(t): a number or a
    :class:`Pulse` / :class:`Periodic` object.
    """

    _positional = ("b", "a", "v_f", "v_r", "current")
    b: float = Field(0.5, description="coupling: every spike moves the others by b/N (v)")
    a: float = Field(1.0, gt=0, description="noise: dV has diffusion sqrt(2a) dW (v^2 per tau_m)")
    v_f: float = Field(2.0, description="firing threshold (v)")
    v_r: float = Field(1.0, description="reset voltage (v), < v_f")
    current: Current = Field(0.0, description="external input I(t): a number, Pulse or "
                             "Periodic (v per tau_m)")

    @field_validator("current", mode="before")
    @classmethod
    def _parse_current(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ParameterError("current", value, "a number or an input object, not a boolean")
        return _as_current(value)

    @model_validator(mode="after")
    def _reset_below_threshold(self) -> NLIFParams:
        if not self.v_r < self.v_f:
            raise ParameterError("v_r", self.v_r, f"< v_f = {self.v_f:g}")
        return self

    @property
    def constant_current(self) -> float | None:
        """The current if it is constant in time, else None."""
        c = self.current
        return float(c) if isinstance(c, (int, float)) else None


def current_at(current: Current, t: Any) -> np.ndarray:
    """I(t) at the times ``t`` (any array shape)."""
    t = np.asarray(t, dtype=float)
    if isinstance(current, Pulse):
        on = (t >= current.start) & (t < current.stop)
        return current.offset + current.amplitude * on
    if isinstance(current, Periodic):
        return current.offset + current.amplitude * np.sin(2 * math.pi * t / current.period)
    return np.full(t.shape, float(current))


def step_currents(current: Current, t0: float, dt: float, n_steps: int) -> np.ndarray:
    """The input of each time step [t0 + j dt, t0 + (j+1) dt), j < n_steps, as its step average.

    The average equals I(t_j) wherever I is constant over the step and keeps the exact charge
    (integral of I) of a pulse edge or a sine, so a pulse shorter than a step still delivers its
    full input. Both solvers use these values in the drift -v + I.
    """
    t0 = check_real("t0", t0)
    dt = check_positive("dt", dt)
    j = np.arange(int(n_steps), dtype=float)
    lo = t0 + j * dt
    hi = lo + dt
    if isinstance(current, Pulse):
        overlap = np.clip(np.minimum(hi, current.stop) - np.maximum(lo, current.start), 0, None)
        return current.offset + current.amplitude * overlap / dt
    if isinstance(current, Periodic):
        w = 2 * math.pi / current.period
        # cos(w lo) - cos(w hi) written as a product: no cancellation when w dt is small.
        mean_sin = np.sin(w * (lo + hi) / 2) * np.sin(w * dt / 2) / (w * dt / 2)
        return current.offset + current.amplitude * mean_sin
    return np.full(j.shape, float(current))
