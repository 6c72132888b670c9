"""Shared helpers of the benchmark scripts: timing with warm-up, and one JSON line per figure.

Every ``benchmarks/<name>.py`` prints its results through :func:`emit`, one JSON object per line:
``{"benchmark", "name", "value", "unit", "target", "op", "reference", "ratio", "passed", ...}``,
which ``benchmarks/run.py`` collects into ``benchmarks/results.md``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def timeit(func: Callable[[], Any], *, repeats: int = 3, warmup: int = 1) -> dict[str, float]:
    """Median wall time of ``func()`` over ``repeats`` runs after ``warmup`` runs.

    The first warm-up call is timed separately as ``first_s`` (it includes numba compilation
    unless the cache is warm).
    """
    first = None
    for _ in range(max(warmup, 0)):
        t0 = time.perf_counter()
        func()
        if first is None:
            first = time.perf_counter() - t0
    times = []
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times),
            "first_s": first if first is not None else times[0], "repeats": len(times)}


def emit(benchmark: str, name: str, value: float, unit: str, *, target: float | None = None,
         op: str = "<=", reference: float | None = None, reference_name: str = "",
         ratio: float | None = None, **extra: Any) -> dict[str, Any]:
    """Print one result line. ``op`` says how ``value`` must compare with ``target``."""
    if op not in ("<=", ">="):
        raise ValueError("op must be '<=' or '>='")
    passed = None
    if target is not None:
        passed = bool(value <= target) if op == "<=" else bool(value >= target)
    row = {"benchmark": benchmark, "name": name, "value": float(value), "unit": unit,
           "target": target, "op": op, "reference": reference, "reference_name": reference_name,
           "ratio": ratio, "passed": passed, "cores": os.cpu_count(),
           "load1": os.getloadavg()[0], **extra}
    print(json.dumps(row), flush=True)
    return row


def quick() -> bool:
    """True under ``run.py --quick`` (env ``BENCH_QUICK=1``): use smaller sizes, fewer repeats."""
    return os.environ.get("BENCH_QUICK", "0") == "1"


def log(message: str) -> None:
    """Human-readable progress on stderr (stdout carries only JSON lines)."""
    print(message, file=sys.stderr, flush=True)
