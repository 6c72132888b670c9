"""spikereduce: finite spiking networks side by side with the equations they reduce to.

Families live in subpackages (``spikereduce.markov``, ``.avalanche``, ``.nlif``, ``.balanced``);
shared machinery in ``errors``, ``params``, ``rng``, ``progress``, ``io``, ``plot``.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

from .errors import NumericalError, ParameterError, SpikeReduceError  # noqa: E402

__all__ = ["__version__", "ParameterError", "NumericalError", "SpikeReduceError"]

_FAMILIES = ("markov", "avalanche", "nlif", "balanced")


def __getattr__(name: str) -> Any:
    # Families are imported on first use so `import spikereduce` stays cheap (no numba compiles).
    if name in _FAMILIES:
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
