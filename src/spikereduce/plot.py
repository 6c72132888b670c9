"""Shared figure helpers: raster, rate traces, density heat map, log-log distributions.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot global state), so
they work headless, in threads and in Dask workers. :func:`save_png` writes atomically.
"""

from __future__ import annotations

import io as _io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .io import atomic_write_bytes

Trace = tuple[Any, Any]


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
               sharex: bool = False, **kwargs: Any) -> tuple[Figure, Any]:
    """A Figure and its axes (an Axes, or an array of them), with constrained layout."""
    if figsize is None:
        figsize = (4.5 * ncols + 1.0, 2.8 * nrows + 0.6)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=sharex, squeeze=True, **kwargs)
    return fig, axes


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = new_figure(figsize=figsize)
    return fig, ax


def raster(spike_times: Any, neuron_ids: Any, *, ax: Axes | None = None,
           groups: Mapping[str, tuple[int, int]] | None = None, max_points: int = 200_000,
           time_units: str = "", title: str | None = None) -> Figure:
    """Spike raster. ``groups`` maps a label to a [first, stop) id range coloured separately.

    At most ``max_points`` spikes are drawn (evenly thinned) so huge rasters stay quick to render.
    """
    t = np.asarray(spike_times, dtype=float).ravel()
    i = np.asarray(neuron_ids).ravel()
    if t.shape != i.shape:
        raise ValueError("spike_times and neuron_ids must have the same length")
    if t.size > max_points:
        keep = np.linspace(0, t.size - 1, max_points).astype(np.int64)
        t, i = t[keep], i[keep]
    fig, ax = _axes(ax, (7.0, 3.2))
    if groups:
        for k, (label, (lo, hi)) in enumerate(groups.items()):
            sel = (i >= lo) & (i < hi)
            ax.plot(t[sel], i[sel], ",", color=f"C{k}", label=label, rasterized=True)
        ax.legend(loc="upper right", markerscale=8, fontsize="small")
    else:
        ax.plot(t, i, ",", color="k", rasterized=True)
    ax.set_xlabel(f"time{f' ({time_units})' if time_units else ''}")
    ax.set_ylabel("neuron")
    if title:
        ax.set_title(title)
    return fig


def rate_traces(traces: Mapping[str, Trace], *, ax: Axes | None = None, xlabel: str = "time",
                ylabel: str = "rate", title: str | None = None, logy: bool = False,
                styles: Mapping[str, Mapping[str, Any]] | None = None) -> Figure:
    """Overlay several (t, rate) traces, one per label."""
    fig, ax = _axes(ax, (7.0, 3.0))
    for k, (label, (t, r)) in enumerate(traces.items()):
        style = {"color": f"C{k}", "lw": 1.0, **dict((styles or {}).get(label, {}))}
        ax.plot(np.asarray(t), np.asarray(r), label=label, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if len(traces) > 1:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def density_heatmap(t: Any, v: Any, p: Any, *, ax: Axes | None = None, xlabel: str = "time",
                    ylabel: str = "v", title: str | None = None, cmap: str = "viridis",
                    colorbar_label: str = "density") -> Figure:
    """Heat map of a density p[t, v] over time (rows of ``p`` follow ``t``)."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(v, dtype=float)
    p = np.asarray(p, dtype=float)
    if p.shape != (t.size, v.size):
        raise ValueError(f"p has shape {p.shape}, expected (len(t), len(v)) = {(t.size, v.size)}")
    fig, ax = _axes(ax, (7.0, 3.2))
    mesh = ax.pcolormesh(t, v, p.T, shading="auto", cmap=cmap, rasterized=True)
    fig.colorbar(mesh, ax=ax, label=colorbar_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return fig


def loglog_distribution(empirical: Mapping[str, Trace] | Trace | None = None,
                        theory: Mapping[str, Trace] | Trace | None = None, *,
                        ax: Axes | None = None, guide_exponent: float | None = None,
                        guide_anchor: tuple[float, float] | None = None, xlabel: str = "s",
                        ylabel: str = "P(s)", title: str | None = None) -> Figure:
    """Log-log plot of distributions: empirical as markers, theory as lines, an s^-k guide.

    Each argument is one (x, P) pair or a mapping label -> (x, P). Zero probabilities are
    dropped (they have no place on a log axis).
    """
    fig, ax = _axes(ax, (5.0, 3.8))

    def as_map(obj: Any, default: str) -> dict[str, Trace]:
        if obj is None:
            return {}
        if isinstance(obj, Mapping):
            return dict(obj)
        return {default: obj}

    xs_all: list[np.ndarray] = []
    for k, (label, (x, p)) in enumerate(as_map(empirical, "simulation").items()):
        x, p = np.asarray(x, float), np.asarray(p, float)
        keep = p > 0
        ax.plot(x[keep], p[keep], "o", ms=3, color=f"C{k}", label=label, alpha=0.8)
        xs_all.append(x[keep])
    for k, (label, (x, p)) in enumerate(as_map(theory, "theory").items()):
        x, p = np.asarray(x, float), np.asarray(p, float)
        keep = p > 0
        ax.plot(x[keep], p[keep], "-", color="k" if k == 0 else f"C{k + 3}", lw=1.2,
                label=label)
        xs_all.append(x[keep])
    if guide_exponent is not None and xs_all:
        xs = np.concatenate(xs_all)
        x0, y0 = guide_anchor if guide_anchor else (max(xs.min(), 1.0), 1.0)
        xg = np.geomspace(x0, xs.max(), 50)
        ax.plot(xg, y0 * (xg / x0) ** (-guide_exponent), "--", color="0.5",
                label=f"s^-{guide_exponent:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def shade_spans(ax: Axes, t: Sequence[float] | np.ndarray, mask: Sequence[bool] | np.ndarray,
                *, color: str = "0.85", label: str | None = None) -> None:
    """Shade the time spans where ``mask`` is true (e.g. the micro phases of a multi-scale run)."""
    t = np.asarray(t, float)
    m = np.asarray(mask, bool)
    if t.size == 0 or not m.any():
        return
    edges = np.flatnonzero(np.diff(np.concatenate(([0], m.astype(np.int8), [0]))))
    for k, (a, b) in enumerate(zip(edges[::2], edges[1::2], strict=True)):
        ax.axvspan(t[a], t[min(b, t.size - 1)], color=color, lw=0,
                   label=label if k == 0 else None, zorder=0)


def save_png(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 120) -> Path:
    """Render ``fig`` to PNG and write it atomically."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return atomic_write_bytes(path, buf.getvalue())
