"""Figures of the nlif family: rate traces, density heat maps, cascade rasters, micro vs macro,
the multi-scale run shaded by mode.

Built from spikereduce.plot (rates agree at b = 0.5, blow-up vs MFEs at b = 3).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..plot import density_heatmap, new_figure, raster, rate_traces, shade_spans
from .observables import binned_rate


def rates_figure(results: Mapping[str, xr.Dataset], *, width: float = 0.05,
                 title: str | None = None) -> Figure:
    """Binned rates (top) and cumulative spikes per neuron (bottom) of several results."""
    fig, (ax_r, ax_c) = new_figure(2, 1, figsize=(7.0, 5.0), sharex=True)
    traces = {label: binned_rate(ds, width) for label, ds in results.items()}
    rate_traces(traces, ax=ax_r, xlabel="", ylabel=f"rate N(t) (1/tau_m, {width:g}-bins)",
                title=title)
    for k, (label, ds) in enumerate(results.items()):
        ax_c.plot(ds.time, ds.cumulative_spikes, color=f"C{k}", lw=1.0, label=label)
        if ds.attrs.get("blowup"):
            ax_r.axvline(ds.attrs["blowup_time"], color=f"C{k}", ls=":", lw=1.0)
            ax_c.axvline(ds.attrs["blowup_time"], color=f"C{k}", ls=":", lw=1.0,
                         label=f"{label}: blow-up")
    ax_c.set_xlabel("time (tau_m)")
    ax_c.set_ylabel("spikes per neuron")
    ax_c.legend(fontsize="small")
    return fig


def fokker_planck_figure(ds: xr.Dataset) -> Figure:
    """Rate N(t) and the density p(v, t) of a Fokker–Planck result."""
    fig, (ax_r, ax_d) = new_figure(2, 1, figsize=(7.0, 5.5), sharex=True)
    ax_r.plot(ds.time, ds.rate, lw=1.0)
    ax_r.set_ylabel("rate N(t) (1/tau_m)")
    if ds.attrs.get("blowup"):
        ax_r.set_yscale("log")
        ax_r.set_title(f"blow-up at t = {ds.attrs['blowup_time']:.4g} "
                       f"({ds.attrs['blowup_reason']})")
    density_heatmap(ds.density_time, ds.v, ds.density, ax=ax_d, xlabel="time (tau_m)",
                    ylabel="v (threshold v_f)", colorbar_label="p(v, t) (1/v)")
    # Near a blow-up the last densities pile up at v_f; scale colours to the bulk of the run.
    dens = np.asarray(ds.density)
    if dens.size:
        ax_d.collections[-1].set_clim(0.0, max(float(np.percentile(dens, 99.5)), 1e-12))
    return fig


def cascade_raster_figure(ds: xr.Dataset, *, window: float = 0.3) -> Figure:
    """Fired fraction per step and the recorded spikes around the largest cascade."""
    fig, (ax_f, ax_s) = new_figure(2, 1, figsize=(7.0, 5.0), sharex=True)
    t0 = float(ds.attrs.get("largest_cascade_time", float(ds.time[-1]) / 2))
    lo, hi = t0 - window / 2, t0 + window / 2
    sel = (ds.time >= lo) & (ds.time <= hi)
    ax_f.plot(ds.time[sel], ds.fired_fraction[sel], lw=0.8)
    ax_f.set_ylabel("fired fraction per step")
    ax_f.set_title(f"largest cascade: {ds.attrs.get('largest_cascade_fraction', 0):.1%} of "
                   f"neurons in one step at t = {t0:.3f}")
    if "spike_time" in ds:
        ts = np.asarray(ds.spike_time)
        keep = (ts >= lo) & (ts <= hi)
        raster(ts[keep], np.asarray(ds.spike_neuron)[keep], ax=ax_s, time_units="tau_m")
    else:
        ax_s.text(0.5, 0.5, "no spikes recorded (n_record = 0)", ha="center",
                  transform=ax_s.transAxes)
    ax_s.set_xlim(lo, hi)
    return fig


def particles_figure(ds: xr.Dataset) -> Figure:
    """Run figure of a particle result: binned rate, and the cascade raster if spikes exist."""
    if "spike_time" in ds and ds.sizes.get("spike", 0):
        return cascade_raster_figure(ds, window=min(1.0, float(ds.time[-1])))
    return rates_figure({"particles": ds}, width=max(0.01, float(ds.time[-1]) / 100))


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
    ax.set_ylabel("rate N(t) (1/tau_m)")
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


def mfe_solvers_figure(results: Mapping[str, xr.Dataset],
                       mfe_times: Mapping[str, np.ndarray],
                       jump: xr.Dataset | None = None, *, title: str | None = None) -> Figure:
    """Cumulative spikes per neuron of several solvers with their MFEs marked (left), and the
    time-dilated density just before and after its first jump (right; the fired mass returns
    as a Dirac at v_r, drawn as an arrow)."""
    fig, (ax_c, ax_d) = new_figure(1, 2, figsize=(11.0, 4.2))
    for k, (label, ds) in enumerate(results.items()):
        ax_c.plot(ds.time, ds.cumulative_spikes, color=f"C{k}", lw=1.0, label=label)
        for t in mfe_times.get(label, ()):
            M = float(np.interp(t, ds.time, ds.cumulative_spikes))
            ax_c.plot([t], [M], "v", color=f"C{k}", ms=6)
        if ds.attrs.get("blowup"):
            ax_c.axvline(ds.attrs["blowup_time"], color=f"C{k}", ls=":", lw=1.0,
                         label=f"{label}: stops at its blow-up")
    ax_c.set_xlabel("time (tau_m)")
    ax_c.set_ylabel("spikes per neuron M(t)")
    ax_c.set_title(title or "cumulative spikes; ▼ multiple firing events")
    ax_c.legend(fontsize="small")
    if jump is not None and jump.sizes.get("mfe", 0):
        v = jump["v"].values
        ax_d.plot(v, jump["mfe_density_before"].values[0], "C0", lw=1.2,
                  label=f"just before (t = {float(jump['mfe_time'][0]):.4f})")
        ax_d.plot(v, jump["mfe_density_after"].values[0], "C3", lw=1.2, label="just after")
        fired = float(jump["mfe_fired"][0])
        v_r = float(jump.attrs.get("v_r", 1.0))
        top = 0.9 * max(float(jump["mfe_density_before"][0].max()),
                        float(jump["mfe_density_after"][0].max()), 1e-9)
        ax_d.annotate("", xy=(v_r, top), xytext=(v_r, 0.0),
                      arrowprops={"arrowstyle": "-|>", "color": "C3"})
        ax_d.text(v_r, top, f" Dirac at v_r, mass {fired:.4f}", color="C3", va="bottom",
                  fontsize="small")
        ax_d.set_xlim(max(float(v[0]), -2.0), float(v[-1]) + float(v[1] - v[0]))
        ax_d.set_xlabel("membrane potential v")
        ax_d.set_ylabel("density p(v)")
        ax_d.set_title(f"first jump: size {float(jump['mfe_size'][0]):.5f}")
        ax_d.legend(fontsize="small")
    else:
        ax_d.set_axis_off()
    return fig


def time_dilated_figure(ds: xr.Dataset) -> Figure:
    """Figure of a time-dilated result: cumulative spikes with its MFEs, and the first jump."""
    return mfe_solvers_figure({"time-dilated": ds}, {"time-dilated": ds["mfe_time"].values},
                              ds, title="time-dilated mean field")
