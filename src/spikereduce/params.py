"""The validation pattern every family uses: frozen parameter models and argument checks.

A family's parameters subclass :class:`Params`; pydantic does the parsing and range checks and
every failure is re-raised as :class:`~spikereduce.errors.ParameterError` naming the field, the
value and the admissible range. Plain function arguments are checked with the ``check_*`` helpers.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from .errors import ParameterError

_PYDANTIC_RANGE = {
    "greater_than": "> {gt}",
    "greater_than_equal": ">= {ge}",
    "less_than": "< {lt}",
    "less_than_equal": "<= {le}",
    "finite_number": "a finite number",
    "literal_error": "one of {expected}",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
}


def _translate(exc: ValidationError, data: Mapping[str, Any]) -> ParameterError:
    err = exc.errors(include_url=False)[0]
    ctx = err.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, ParameterError):
        return original
    field = ".".join(str(p) for p in err.get("loc", ())) or "parameters"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return ParameterError(field, data.get(field), message=f"unknown parameter {field!r}")
    if kind == "missing":
        return ParameterError(field, message=f"missing required parameter {field!r}")
    template = _PYDANTIC_RANGE.get(kind)
    admissible = template.format(**ctx) if template else str(err.get("msg", "")).lower()
    return ParameterError(field, err.get("input"), admissible)


class Params(BaseModel):
    """Base of every family's parameter object: immutable, strict about names, types and
    finite values.

    Subclasses declare fields with the published defaults and pydantic constraints
    (``Field(gt=0)``) and cross-field rules in ``model_validator(mode="after")`` methods that
    raise ParameterError.
    """

    # strict: a number is a number and a flag is true or false ("yes", 2 or "0.5" are refused
    # rather than coerced); an integer is still a valid float.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False,
                              validate_default=True, strict=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Append the fields (default and meaning with units) to the class docstring, so that
        ``help()`` and the API reference list them."""
        super().__pydantic_init_subclass__(**kwargs)
        rows = []
        for name, info in cls.model_fields.items():
            if info.is_required():
                default = "required"
            else:
                default = f"default {info.get_default(call_default_factory=True)!r}"
            meaning = f": {info.description}" if info.description else ""
            rows.append(f"* ``{name}`` ({default}){meaning}")
        if rows:
            head = inspect.cleandoc(cls.__doc__ or "")
            cls.__doc__ = (head + "\n\n" if head else "") + "Fields:\n\n" + "\n".join(rows) + "\n"

    @classmethod
    def check(cls, value: Any, field: str = "params") -> Self:
        """``value`` if it is a ``cls``, else ParameterError naming the type given (a dict is
        the common slip: build the object with ``cls(**values)``). Every public function checks
        its parameter object this way."""
        if not isinstance(value, cls):
            raise ParameterError(field, type(value).__name__,
                                 f"a {cls.__name__} object (build one with {cls.__name__}(...))")
        return value

    def __init__(self, /, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _translate(exc, data) from None

    @field_validator("*", mode="before")
    @classmethod
    def _numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # A boolean where a number belongs is a mistake (say so plainly); an integral number is
        # an integer (N = 1e3 in a config, or a grid value 300.0), as for run options.
        if info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and annotation in (int, float):
            raise ParameterError(info.field_name, value, "a number, not a boolean")
        if annotation is int and isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated like a new object."""
        return type(self)(**{**self.model_dump(), **changes})

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict of all fields (used for provenance attrs and configs)."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


# --- checks for plain function arguments -------------------------------------------------------


def check_real(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``value`` as float if it is a finite real in the given interval, else raise."""
    lo_s = "" if lo is None else (f"> {lo:g}" if lo_open else f">= {lo:g}")
    hi_s = "" if hi is None else (f"< {hi:g}" if hi_open else f"<= {hi:g}")
    admissible = " and ".join(s for s in (lo_s, hi_s) if s) or "a finite number"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ParameterError(name, value, f"a finite number ({admissible})")
    x = float(value)
    if not math.isfinite(x):
        raise ParameterError(name, value, f"finite ({admissible})")
    if lo is not None and (x <= lo if lo_open else x < lo):
        raise ParameterError(name, value, admissible)
    if hi is not None and (x >= hi if hi_open else x > hi):
        raise ParameterError(name, value, admissible)
    return x


def check_positive(name: str, value: Any) -> float:
    return check_real(name, value, lo=0.0, lo_open=True)


def check_int(name: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``value`` as int if it is an integer in [lo, hi], else raise."""
    lo_s = "" if lo is None else f">= {lo}"
    hi_s = "" if hi is None else f"<= {hi}"
    admissible = " and ".join(s for s in (lo_s, hi_s) if s)
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ParameterError(name, value, "an integer" + (f" {admissible}" if admissible
                                                                else ""))
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ParameterError(name, value, admissible)
    return v


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_seed(seed: Any) -> int:
    """Seeds are non-negative integers (as numpy.random.SeedSequence requires)."""
    return check_int("seed", seed, lo=0)


#: The most time steps one run may take. A run that long would take hours at the fastest loop
#: here; a larger request is almost always a unit slip (t_max in ms for s), and is refused
#: before anything is allocated.
MAX_STEPS = 10**9


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def memory_budget() -> float | None:
    """Bytes a run may plan to allocate: 80 % of the available memory (None if unknown)."""
    avail = available_memory()
    return None if avail is None else 0.8 * avail


def check_steps(t_max: float, dt: float, *, bytes_per_step: float = 0.0,
                field: str = "t_max") -> int:
    """The number of steps of ``dt`` in ``t_max`` (at least one whole step), checked before a
    run allocates its records: at most :data:`MAX_STEPS`, and records of ``bytes_per_step``
    per step that fit in the available memory. Raises ParameterError on ``field``."""
    n = t_max / dt
    if n < 1.0 - 1e-9:
        raise ParameterError(field, t_max, f">= dt = {dt:g} (at least one step)")
    if n > MAX_STEPS:
        raise ParameterError(field, t_max, f"<= {MAX_STEPS:.0e} steps of dt = {dt:g}, i.e. "
                             f"<= {MAX_STEPS * dt:g} (or a larger dt)")
    steps = max(1, math.ceil(n - 1e-9))
    need = steps * bytes_per_step
    budget = memory_budget()
    if budget is not None and need > budget:
        raise ParameterError(field, t_max, f"a run whose records fit in memory: "
                             f"{need / 1e9:.3g} GB needed, {budget / 0.8 / 1e9:.3g} GB "
                             f"available (<= {budget / bytes_per_step * dt:g} at dt = {dt:g})")
    return steps


def check_count(name: str, value: Any, *, bytes_per_item: float, lo: int = 1) -> int:
    """An integer count (neurons, avalanches, ...) >= ``lo`` whose arrays of
    ``bytes_per_item`` bytes per item fit in the available memory; refused with the largest
    count that fits, before anything is allocated."""
    n = check_int(name, value, lo=lo)
    budget = memory_budget()
    if budget is not None and n * bytes_per_item > budget:
        raise ParameterError(name, n, f"<= {int(budget / bytes_per_item)} (its arrays need "
                             f"{bytes_per_item:g} bytes each and {budget / 0.8 / 1e9:.3g} GB of "
                             "memory is available)")
    return n
