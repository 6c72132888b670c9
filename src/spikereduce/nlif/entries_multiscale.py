"""CLI entries of the nlif multi-scale solver: `run` (model "multiscale") and its figure.

Spec nlif §3 and test T7 (concentrated start, blow-up, recovery). The nlif demo calls
:func:`demo_multiscale` to add the multi-scale showcase to the family's demo folder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..config import RunConfig
from ..io import save
from ..plot import density_heatmap, new_figure, save_png, shade_spans
from ..registry import SummaryRow, register_run
from .multiscale import simulate_multiscale
from .params import NLIFParams


def initial_density(options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Gaussian initial data from the [run] options ``v0`` and ``var`` (spec §1.4)."""
    from .fokker_planck import gaussian_density

    opts = dict(options)
    v0 = opts.pop("v0", 0.0)
    var = opts.pop("var", 0.25)
    return gaussian_density(v0, var), opts


@register_run("nlif", "multiscale", figure=lambda ds: multiscale_figure(ds),
              description="Fokker–Planck while the rate is low, particles through bursts")
def run_multiscale(cfg: RunConfig) -> xr.Dataset:
    params = NLIFParams(**cfg.params)
    p0, opts = initial_density(dict(cfg.options))
    unknown = RunConfig(cfg.family, cfg.model, options=opts)
    kwargs = unknown.kwargs_for(simulate_multiscale, exclude=("params", "p0", "seed"))
    if "force_micro" in kwargs and kwargs["force_micro"] is not None:
        kwargs["force_micro"] = tuple(kwargs["force_micro"])
    return simulate_multiscale(params, p0=p0, seed=cfg.seed, **kwargs)


def multiscale_figure(ds: xr.Dataset, reference: xr.Dataset | None = None) -> Figure:
    """Rate and cumulative spikes shaded by mode (micro = grey), and the density over time."""
    fig, axes = new_figure(3, 1, figsize=(7.5, 7.5), sharex=True)
    t = ds.time.values
    micro = ds["mode"].values == "micro"
    ax = axes[0]
    if reference is not None:
        ax.plot(reference.time, reference.rate, color="C1", lw=0.6, alpha=0.7,
                label="particles only")
    ax.plot(t, ds.rate, color="C0", lw=0.9, label="multi-scale")
    shade_spans(ax, t, micro, label="micro phase")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylabel("rate N(t)")
    ax.legend(fontsize="small", loc="upper right")
    ax = axes[1]
    if reference is not None:
        ax.plot(reference.time, reference.cumulative_spikes, color="C1", lw=1.2,
                label="particles only")
    ax.plot(t, ds.cumulative_spikes, color="C0", lw=1.0, ls="--", label="multi-scale")
    shade_spans(ax, t, micro)
    ax.set_ylabel("spikes per neuron")
    ax.legend(fontsize="small", loc="lower right")
    density_heatmap(ds.density_time.values, ds.v.values, ds.density.values, ax=axes[2],
                    xlabel=f"time ({ds.attrs.get('time_units', '')})", ylabel="v",
                    colorbar_label="p(v, t)")
    for e_t in ds.switch_time.values:
        axes[2].axvline(float(e_t), color="w", lw=0.6, ls=":")
    span = float(t[-1] - t[0]) or 1.0
    axes[0].set_title(f"nlif multi-scale, n = {ds.attrs.get('n')}: particles for "
                      f"{100 * float(ds.attrs.get('time_in_micro', 0.0)) / span:.1f} % of the "
                      f"time ({len(ds.switch)} switches)")
    return fig


def demo_multiscale(folder: Path, *, n: int = 10_000, t_max: float = 1.0,
                    seed: int = 1) -> list[SummaryRow]:
    """Spec T7 at reduced size: concentrated start (b = 1.5, v0 = 1.5, var = 0.005).

    Runs the multi-scale solver and pure particles, writes ``nlif_multiscale.png`` and
    ``nlif_multiscale.nc`` into ``folder`` and returns summary rows. Single runs at this size
    differ by ~1-2 % in spikes per neuron (MFE-driven scatter); see the T7 tests for means.
    """
    from .fokker_planck import gaussian_density
    from .particles import simulate_particles

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = NLIFParams(b=1.5)
    p0 = gaussian_density(1.5, 0.005)
    t0 = time.perf_counter()
    ms = simulate_multiscale(params, n, t_max, p0=p0, seed=seed)
    t_ms = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = simulate_particles(params, n, t_max, p0=p0, dt=1e-3, seed=seed)
    t_ref = time.perf_counter() - t0
    save(ms, folder / "nlif_multiscale.nc")
    save_png(multiscale_figure(ms, ref), folder / "nlif_multiscale.png")
    rows = []
    for tt in (0.2, t_max):
        a = float(np.interp(tt, ms.time, ms.cumulative_spikes))
        b = float(np.interp(tt, ref.time, ref.cumulative_spikes))
        rows.append(SummaryRow("nlif", f"multi-scale spikes/neuron at t={tt:g}", f"{a:.4f}",
                               f"{b:.4f} (particles)", f"rel. diff {abs(a - b) / b:.2%}"))
    sw = ", ".join(f"{d} at {float(x):.3f}" for d, x in
                   zip(ms.switch_direction.values, ms.switch_time.values, strict=True))
    rows.append(SummaryRow("nlif", "multi-scale switches", sw or "none",
                           "macro->micro 0.015, micro->macro 0.143 (spec T7)"))
    rows.append(SummaryRow("nlif", "multi-scale wall time", f"{t_ms:.2f} s",
                           f"{t_ref:.2f} s (particles)",
                           f"n = {n}, t_max = {t_max:g}; the macro cost does not grow with n, "
                           "so the gain shows from n ~ 1e5 (benchmarks/multiscale.py)"))
    return rows

