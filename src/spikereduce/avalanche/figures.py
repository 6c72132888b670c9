"""Figures of the avalanche family: simulated P(s) against exact theory on log-log axes.

Spec avalanche.md §3.1 (F1 torus near criticality with the s^-3/2 guide, F5 small networks).
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
                               xlabel="avalanche size s", ylabel="P(s)", title=title)


def run_figure(ds: xr.Dataset) -> Figure:
    """Figure of a ``spikereduce run`` result: P(s) and P(D) from the simulation and theory."""
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
