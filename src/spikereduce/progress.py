"""A rich progress bar for long runs, in units of simulated time (or points of a sweep).

Shown on a terminal and in a Jupyter notebook; silent when ``enabled=False`` or when standard
error is neither, so batch jobs and tests print nothing.
"""

from __future__ import annotations

import sys
import time
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


class _NotebookBar:
    """A text bar in one notebook output, updated in place (IPython's display handles: no
    widget library needed) at most every 0.2 s, and left showing the final state."""

    WIDTH = 40

    def __init__(self, description: str, total: float, unit: str):
        from IPython.display import display

        self.description, self.total, self.unit = description, total, unit
        self.start = time.perf_counter()
        self.last = 0.0
        self.done = 0.0
        self.handle = display({"text/plain": self._text()}, raw=True, display_id=True)

    def _text(self) -> str:
        frac = 0.0 if self.total <= 0 else min(1.0, self.done / self.total)
        n = int(round(frac * self.WIDTH))
        bar = "━" * n + "╺" + " " * (self.WIDTH - n) if n < self.WIDTH else "━" * self.WIDTH
        count = (f"{self.done:.0f}/{self.total:.0f}" if self.unit == "points"
                 else f"t={self.done:.4g}/{self.total:.4g}")
        return (f"{self.description} {bar} {count} {time.perf_counter() - self.start:.1f} s")

    def update(self, task: int, completed: float) -> None:
        self.done = completed
        now = time.perf_counter()
        if now - self.last >= 0.2:
            self.last = now
            self.handle.update({"text/plain": self._text()}, raw=True)

    def close(self) -> None:
        self.handle.update({"text/plain": self._text()}, raw=True)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel, where the bar is a :class:`_NotebookBar`."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


_SILENCED = [0]


@contextmanager
def silenced() -> Iterator[None]:
    """No bar is drawn inside this block, whatever ``enabled`` says (a sweep point on a
    worker: the sweep's own bar is the only one)."""
    _SILENCED[0] += 1
    try:
        yield
    finally:
        _SILENCED[0] -= 1


def _interactive() -> bool:
    if _SILENCED[0]:
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)()) or _in_notebook()


@contextmanager
def progress_bar(total: float, description: str = "simulating", *,
                 enabled: bool | None = None, unit: str = "time") -> Iterator[Progress]:
    """Context manager yielding a :class:`Progress`.

    ``enabled=None`` shows the bar on a terminal or in a notebook; ``False`` never shows it. In
    a notebook the bar is one output that updates in place and stays as a record of the run.
    ``unit="time"`` labels the bar with simulated time, ``unit="points"`` with a count.
    """
    show = _interactive() if enabled is None else (bool(enabled) and _interactive())
    if not show:
        yield Progress(None, None, total)
        return
    if _in_notebook():
        bar = _NotebookBar(description, float(total), unit)
        try:
            yield Progress(bar, 0, total)
        finally:
            bar.close()
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
