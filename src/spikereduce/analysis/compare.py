"""Micro-vs-macro comparison reports: what a family's reduction keeps and what it loses.

A family's compare entry returns a :class:`Comparison`; ``spikereduce compare`` prints its table
and saves its figure, its datasets and the table itself (Markdown and JSON).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class ComparisonRow:
    """One observable measured on both sides.

    ``micro`` and ``macro`` are the two values (NaN where a side does not define the
    quantity). For a row that compares whole traces or distributions, ``distance`` holds the
    family's measure of their difference (e.g. :func:`ks_distance`, :func:`relative_l2`) and
    ``metric`` its name; it is then reported instead of the relative error of the two values.
    ``absolute`` reports |micro − macro| in the row's unit instead of a relative error (for
    quantities near zero, where a relative error says nothing). ``band`` is the agreement band
    (on the distance, else on |micro − macro|, e.g. three standard errors of a sampled value);
    a row with a band gets the verdict "agrees" or "differs".
    """

    quantity: str
    micro: float
    macro: float
    unit: str = ""
    note: str = ""
    distance: float | None = None
    metric: str = ""
    absolute: bool = False
    band: float | None = None

    @property
    def abs_error(self) -> float:
        return abs(self.micro - self.macro)

    @property
    def rel_error(self) -> float:
        scale = max(abs(self.micro), abs(self.macro))
        return float("nan") if scale == 0 else self.abs_error / scale

    @property
    def error(self) -> float:
        """The row's error figure: ``distance`` if given, else the absolute difference for an
        ``absolute`` row, else the relative error."""
        if self.distance is not None:
            return float(self.distance)
        return self.abs_error if self.absolute else self.rel_error

    @property
    def verdict(self) -> str:
        """"agrees" or "differs" against ``band``; "" without a band or a value to judge."""
        if self.band is None:
            return ""
        x = float(self.distance) if self.distance is not None else self.abs_error
        if math.isnan(x):
            return ""
        return "agrees" if x <= self.band else "differs"

    def error_text(self) -> str:
        """The error as shown in tables: a percentage, an absolute difference with its unit, or
        the distance with its metric."""
        if self.distance is not None:
            return f"{_num(self.distance)} {self.metric}".strip()
        if math.isnan(self.micro) or math.isnan(self.macro):
            return "—"
        if self.absolute:
            return f"±{self.abs_error:.3g} {self.unit}".strip() if self.abs_error else "0"
        if self.micro == self.macro:
            return "0%"
        return f"{self.rel_error:.2%}"

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "micro": _json_float(self.micro),
                "macro": _json_float(self.macro), "unit": self.unit,
                "rel_error": _json_float(self.rel_error),
                "abs_error": _json_float(self.abs_error),
                "distance": None if self.distance is None else _json_float(self.distance),
                "metric": self.metric, "band": None if self.band is None else
                _json_float(self.band), "verdict": self.verdict, "note": self.note}


def _num(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.5g}"


def _json_float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


COLUMNS = ("quantity", "micro", "macro", "error", "verdict", "note")


@dataclass
class Comparison:
    """A family's micro-vs-macro report: rows, a figure, and the datasets it was computed from."""

    family: str
    rows: list[ComparisonRow]
    figure: Any = None
    datasets: dict[str, Any] = field(default_factory=dict)
    title: str = ""

    def table_rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """The rows as text cells, in :data:`COLUMNS` order."""
        return [(f"{r.quantity}{f' ({r.unit})' if r.unit else ''}", _num(r.micro),
                 _num(r.macro), r.error_text(), r.verdict or "—", r.note) for r in self.rows]

    def to_markdown(self) -> str:
        lines = [f"## {self.title or f'{self.family}: micro vs macro'}", "",
                 "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for cells in self.table_rows():
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "title": self.title,
                "rows": [r.to_dict() for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False)

    def worst(self) -> ComparisonRow | None:
        """The row with the largest error (ignoring rows without one)."""
        scored = [r for r in self.rows if not math.isnan(r.error)]
        return max(scored, key=lambda r: r.error) if scored else None


def relative_l2(a: Any, b: Any) -> float:
    """||a - b||_2 / ||b||_2 for two traces on the same grid."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    denom = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else float(np.linalg.norm(a - b))


def _pmf(name: str, p: Any) -> np.ndarray:
    p = np.asarray(p, float)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ParameterError(name, "array", "a 1-D array of finite non-negative weights")
    total = p.sum()
    if total <= 0:
        raise ParameterError(name, "array", "weights with a positive sum")
    return p / total


def _same_support(p: Any, q: Any) -> tuple[np.ndarray, np.ndarray]:
    p, q = _pmf("p", p), _pmf("q", q)
    if p.shape != q.shape:
        raise ParameterError("q", f"length {q.size}", f"the length of p ({p.size})")
    return p, q


def ks_distance(p: Any, q: Any) -> float:
    """Kolmogorov–Smirnov distance max_k |F_p(k) - F_q(k)| of two distributions on one support
    (weights are normalised), e.g. a sampled histogram against an exact P(s)."""
    p, q = _same_support(p, q)
    return float(np.max(np.abs(np.cumsum(p) - np.cumsum(q))))


def total_variation(p: Any, q: Any) -> float:
    """Total-variation distance ½ Σ |p_k - q_k| of two distributions on one support."""
    p, q = _same_support(p, q)
    return float(0.5 * np.abs(p - q).sum())


def ks_samples(x: Any, y: Any) -> float:
    """Two-sample Kolmogorov–Smirnov statistic of two sets of observations."""
    from scipy.stats import ks_2samp

    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.size == 0 or y.size == 0:
        raise ParameterError("samples", "empty", "two non-empty sets of observations")
    return float(ks_2samp(x, y).statistic)


def pmf_moments(support: Any, p: Any) -> tuple[float, float]:
    """Mean and variance of the distribution with weights ``p`` on ``support``."""
    p = _pmf("p", p)
    x = np.asarray(support, float)
    if x.shape != p.shape:
        raise ParameterError("support", f"length {x.size}", f"the length of p ({p.size})")
    mean = float(np.dot(x, p))
    return mean, float(np.dot((x - mean) ** 2, p))
