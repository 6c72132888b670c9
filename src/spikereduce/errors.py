"""Exceptions shared by every family.

``ParameterError`` is raised for invalid input and always names the field, the value and the
admissible range; ``NumericalError`` reports a numerical failure (blow-up, lost balance, NaN).
"""

from __future__ import annotations

from typing import Any


class SpikeReduceError(Exception):
    """Base class of the library's own errors."""


class ParameterError(SpikeReduceError, ValueError):
    """An input is outside its admissible range.

    Attributes ``field``, ``value`` and ``admissible`` carry the three parts of the message so a
    caller (the CLI, a sweep) can report them without parsing text.
    """

    def __init__(self, field: str, value: Any = None, admissible: str | None = None,
                 *, message: str | None = None):
        self.field = field
        self.value = value
        self.admissible = admissible
        if message is None:
            message = f"{field} = {_short_repr(value)} is invalid"
            if admissible:
                message += f": must be {admissible}"
        super().__init__(message)

    def __reduce__(self):
        # Rebuild from the parts, not from args: pickling (Dask, multiprocessing) keeps the text.
        return (_rebuild_parameter_error, (self.field, self.value, self.admissible, str(self)))


def _short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut in the middle when longer than ``limit`` (a message stays a line)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]} ({len(text)} characters)"


def _rebuild_parameter_error(field: str, value: Any, admissible: str | None,
                             message: str) -> ParameterError:
    return ParameterError(field, value, admissible, message=message)


class ConfigError(SpikeReduceError, ValueError):
    """A configuration file is unreadable or malformed (not a parameter out of range)."""


class NumericalError(SpikeReduceError, RuntimeError):
    """A computation failed numerically (blow-up, loss of balance, non-finite state).

    ``time`` is the simulated time of the failure where one applies.
    """

    def __init__(self, message: str, *, time: float | None = None):
        self.time = time
        self.reason = message
        super().__init__(message if time is None else f"{message} (at t = {time:g})")

    def __reduce__(self):
        return (type(self)._from_parts, (self.reason, self.time))

    @classmethod
    def _from_parts(cls, message: str, time: float | None) -> NumericalError:
        return cls(message, time=time)
