"""Figures of the balanced family: trajectories, population histograms, convergence in n.

Limit against network, the error against n with an n^-1/2 guide, and Gaussianity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..plot import loglog_distribution, new_figure
from .limit import STATE

_LABELS = {"m_E": "mean E", "m_I": "mean I", "v_E": "variance E", "v_I": "variance I"}


def trajectories_figure(limit: xr.Dataset | None = None,
                        networks: Sequence[xr.Dataset] = (), *, title: str = "") -> Figure:
    """Means (left) and variances (right): network runs as thin lines, the limit dashed."""
    fig, axes = new_figure(1, 2, figsize=(10.0, 3.6))
    for ax, keys in zip(axes, (("m_E", "m_I"), ("v_E", "v_I")), strict=True):
        for j, key in enumerate(keys):
            color = f"C{j}"
            for k, ds in enumerate(networks):
                label = f"{_LABELS[key]}, network n={ds.attrs.get('n')}" if k == 0 else None
                ax.plot(ds["time"], ds[key], color=color, lw=0.8, alpha=0.7, label=label)
            if limit is not None:
                ax.plot(limit["time"], limit[key], "--", color="k" if j == 0 else "0.4", lw=1.4,
                        label=f"{_LABELS[key]}, limit")
        ax.set_xlabel("time t (dimensionless)")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("mean potentiation m (dimensionless)")
    axes[1].set_ylabel("variance v (dimensionless)")
    if title:
        fig.suptitle(title)
    return fig


def histogram_figure(network: xr.Dataset, limit: xr.Dataset, *, bins: int = 60) -> Figure:
    """Population histograms at the snapshot times against the limit Gaussians N(m, v)."""
    snaps = network["snapshot_time"].values
    fig, axes = new_figure(2, len(snaps), figsize=(2.6 * len(snaps) + 0.6, 4.8))
    axes = np.asarray(axes).reshape(2, len(snaps))
    t_lim = limit["time"].values
    for j, t in enumerate(snaps):
        k = int(np.argmin(np.abs(t_lim - t)))
        for i, pop in enumerate(("E", "I")):
            ax = axes[i, j]
            x = network[f"x_{pop}"].values[j]
            m = float(limit[f"m_{pop}"].values[k])
            v = float(limit[f"v_{pop}"].values[k])
            ax.hist(x, bins=bins, density=True, color=f"C{i}", alpha=0.6, label="network")
            grid = np.linspace(x.min(), x.max(), 200)
            pdf = np.exp(-0.5 * (grid - m) ** 2 / v) / np.sqrt(2 * np.pi * v) if v > 0 else None
            if pdf is not None:
                ax.plot(grid, pdf, "k-", lw=1.2, label="limit N(m, v)")
            ax.set_title(f"{pop}, t = {t:g}", fontsize="small")
            if j == 0:
                ax.set_ylabel("density")
            if i == 1:
                ax.set_xlabel("potentiation x")
    axes[0, 0].legend(fontsize="x-small")
    return fig


def convergence_figure(study: xr.Dataset) -> Figure:
    """RMS network-limit error against n (log-log) with the n^-1/2 guide."""
    ns = study["n"].values
    curves = {f"{_LABELS[k]} (slope {study.attrs[f'slope_{k}']:.2f})":
              (ns, study[f"rms_{k}"].values) for k in STATE}
    top = max(float(study[f"rms_{k}"].values[0]) for k in STATE)
    fig = loglog_distribution(curves, guide_exponent=0.5, guide_anchor=(float(ns[0]), top),
                              xlabel="n (neurons per population)",
                              ylabel="RMS error vs limit",
                              title=f"network -> limit, pooled slope "
                                    f"{study.attrs['slope_pooled']:.2f}")
    ax = fig.axes[0]
    for line in ax.get_lines():
        if line.get_label().startswith("s^-"):
            line.set_label("n^-1/2")
    ax.legend(fontsize="small")
    return fig
