"""Micro-vs-macro comparison reports: what a family's reduction keeps and what it loses.

A family's compare entry returns a :class:`Comparison`; ``spikereduce compare`` prints its table
and saves its figure and datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ComparisonRow:
    """One observable measured on both sides."""

    quantity: str
    micro: float
    macro: float
    unit: str = ""
    note: str = ""

    @property
    def abs_error(self) -> float:
        return abs(self.micro - self.macro)

    @property
    def rel_error(self) -> float:
        scale = max(abs(self.micro), abs(self.macro))
        return float("nan") if scale == 0 else self.abs_error / scale


@dataclass
class Comparison:
    family: str
    rows: list[ComparisonRow]
    figure: Any = None
    datasets: dict[str, Any] = field(default_factory=dict)
    title: str = ""


def relative_l2(a: Any, b: Any) -> float:
    """||a - b||_2 / ||b||_2 for two traces on the same grid."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    denom = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else float(np.linalg.norm(a - b))
