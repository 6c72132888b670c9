"""Figures of the avalanche family: simulated P(s) against exact theory on log-log axes.

The torus near criticality with an s^-3/2 guide, and small networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..plot import loglog_distribution, new_figure


def size_distribution_figure(simulated: Mapping[str, tuple[Any, Any]],
                             theory: Mapping[str, tuple[Any, Any]] | None = None, *,
                             guide_exponent: float | None = None,
                             guide_anchor: tuple[float, float] | None = None,
                             title: str | None = None, ax: Any = None) -> Figure:
    """Markers for simulated P(s), lines for theory, optional s^-k guide."""
    return loglog_distribution(dict(simulated), dict(theory or {}), ax=ax,
                               guide_exponent=guide_exponent, guide_anchor=guide_anchor,
                               xlabel="avalanche size s (spikes)", ylabel="P(s)", title=title)


def run_figure(ds: xr.Dataset) -> Figure:
    """Figure of a ``spikereduce run`` result: P(s) and P(D) from the simulation and theory."""
    if "P_theory_by_start" in ds:
        return start_population_figure(ds)
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(9.5, 3.8))
    s = ds["s"].values
    theory = {}
    if "P_theory" in ds:
        theory[ds["P_theory"].attrs.get("long_name", "theory")] = (s, ds["P_theory"].values)
    size_distribution_figure({"simulation": (s, ds["P_sim"].values)}, theory, ax=ax1,
                             title=f"{ds.attrs.get('model', '')}: sizes")
    d, pd = np.unique(ds["durations"].values, return_counts=True)
    ax2.semilogy(d, pd / pd.sum(), "o", ms=3)
    ax2.set_xlabel("duration D (generations)")
    ax2.set_ylabel("P(D)")
    ax2.set_title("durations")
    return fig


def start_population_figure(ds: xr.Dataset) -> Figure:
    """P(s) of the avalanches started in each population of a modular network: simulation
    (markers) against the exact modular theory (lines), and the total."""
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(10, 3.8))
    s = ds["s"].values
    exact = ds["P_theory_by_start"].values
    sim = ds["P_sim_by_start"].values
    for k in range(exact.shape[0]):
        line, = ax1.loglog(s, exact[k], "-", lw=1.2, label=f"exact, start in population {k}")
        keep = sim[k] > 0
        ax1.loglog(s[keep], sim[k][keep], "o", ms=3, color=line.get_color(),
                   label=f"simulation, start in population {k}")
    ax1.set_xlabel("avalanche size s (spikes)")
    ax1.set_ylabel("P(start population, s)")
    ax1.set_title("by start population")
    ax1.legend(fontsize=7)
    size_distribution_figure({"simulation": (s, ds["P_sim"].values)},
                             {"exact modular theory": (s, ds["P_theory"].values)}, ax=ax2,
                             title=f"all avalanches ({ds['sizes'].size})")
    return fig
