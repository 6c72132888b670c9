"""The validation pattern every family uses: frozen parameter models and argument checks.

A family's parameters subclass :class:`Params`; pydantic does the parsing and range checks and
every failure is re-raised as :class:`~spikereduce.errors.ParameterError` naming the field, the
value and the admissible range. Plain function arguments are checked with the ``check_*`` helpers.
"""

from __future__ import annotations

import json
import math
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
    """Base of every family's parameter object: immutable, strict about names, finite values.

    Subclasses declare fields with spec defaults and pydantic constraints (``Field(gt=0)``) and
    cross-field rules in ``model_validator(mode="after")`` methods that raise ParameterError.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False,
                              validate_default=True)

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
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads True as 1.0; a boolean where a number belongs is a mistake.
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if annotation in (int, float):
                raise ParameterError(info.field_name, value, "a number, not a boolean")
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
