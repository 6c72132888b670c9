"""A rich progress bar for long runs, in units of simulated time (or points of a sweep).

Silent when ``enabled=False`` or when standard error is not a terminal, so batch jobs and tests
print nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Progress:
    """Handle given to a simulation loop: call ``update(done)`` with the absolute amount done."""

    def __init__(self, bar: Any, task: int | None, total: float):
        self._bar = bar
        self._task = task
        self.total = float(total)
        self.done = 0.0

    @property
    def active(self) -> bool:
        return self._bar is not None

    def update(self, done: float) -> None:
        self.done = min(float(done), self.total)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)

    def advance(self, amount: float = 1.0) -> None:
        self.update(self.done + amount)


def _interactive() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


@contextmanager
def progress_bar(total: float, description: str = "simulating", *,
                 enabled: bool | None = None, unit: str = "time") -> Iterator[Progress]:
    """Context manager yielding a :class:`Progress`.

    ``enabled=None`` shows the bar only on a terminal; ``False`` never shows it.
    ``unit="time"`` labels the bar with simulated time, ``unit="points"`` with a count.
    """
    show = _interactive() if enabled is None else (bool(enabled) and _interactive())
    if not show:
        yield Progress(None, None, total)
        return
    # rich is imported only when a bar is drawn: batch runs and workers never pay for it.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as _RichProgress

    count = MofNCompleteColumn() if unit == "points" else TextColumn(
        "t={task.completed:.4g}/{task.total:.4g}")
    bar = _RichProgress(TextColumn("{task.description}"), BarColumn(), count,
                        TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
                        console=None)
    with bar:
        task = bar.add_task(description, total=float(total))
        yield Progress(bar, task, total)


def chunk_bounds(n_steps: int, n_chunks: int = 50) -> list[tuple[int, int]]:
    """Split ``n_steps`` into at most ``n_chunks`` contiguous [start, stop) ranges.

    Compiled time loops run chunk by chunk so the bar moves and Ctrl-C is honoured between chunks.
    """
    n_chunks = max(1, min(int(n_chunks), int(n_steps)))
    edges = [round(i * n_steps / n_chunks) for i in range(n_chunks + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
