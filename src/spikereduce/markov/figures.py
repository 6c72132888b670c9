"""Figures of the markov family: raster + rates (SNN vs dsODE) and the p_EI bifurcation diagram.

Built from :mod:`spikereduce.plot` helpers (matplotlib Figure API, no pyplot).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..plot import new_figure, raster, rate_traces

_LABEL = {"snn": "SNN", "sde": "SDE network", "dsode": "dsODE"}


def _window(ds: xr.Dataset, t0: float, t1: float) -> xr.Dataset:
    return ds.sel(time=slice(t0, t1))


def rates_figure(datasets: dict[str, xr.Dataset], *, t_window: tuple[float, float] = (200, 400)
                 ) -> Figure:
    """Population rates (spikes/ms) of several results side by side, one column each."""
    n = len(datasets)
    fig, axes = new_figure(1, n, figsize=(4.2 * n + 0.6, 3.0), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (label, ds) in zip(axes, datasets.items(), strict=True):
        w = _window(ds, *t_window)
        rate_traces({"E": (w.time, w.rate_E), "I": (w.time, w.rate_I)}, ax=ax, xlabel="t (ms)",
                    ylabel="spikes/ms (population)")
        ax.set_title(label)
    return fig


def raster_rates_figure(snn: xr.Dataset, dsode: xr.Dataset | None = None, *,
                        t_window: tuple[float, float] = (200, 400)) -> Figure:
    """Spike raster of the network (all I neurons, half the E neurons) over its rates.

    With ``dsode`` the E and I rates get one panel each, the network's and the dsODE's
    overlaid, so each pair can be compared cycle by cycle.
    """
    rows = 3 if dsode is not None else 2
    fig, axes = new_figure(rows, 1, figsize=(7.5, 2.2 + 1.9 * rows), sharex=True)
    ax_r = axes[0]
    n_e, n_i = int(snn.attrs["n_E"]), int(snn.attrs["n_I"])
    t = snn.spike_time.values
    i = snn.spike_neuron.values
    keep = (t >= t_window[0]) & (t <= t_window[1]) & ((i >= n_e) | (i < n_e // 2))
    ids = np.where(i[keep] >= n_e, i[keep] - n_e // 2, i[keep])
    raster(t[keep], ids, ax=ax_r, groups={"E (half)": (0, n_e // 2),
                                          "I": (n_e // 2, n_e // 2 + n_i)}, time_units="ms",
           title=f"{snn.attrs['model'].upper()} raster")
    w = _window(snn, *t_window)
    # the network's per-step counts are shot noise; a 1 ms boxcar (as for MFE peaks) reads better
    k = max(1, int(round(1.0 / float(snn.attrs["dt"]))))
    box = np.ones(k) / k
    name = snn.attrs["model"].upper()
    smooth = {pop: np.convolve(w[f"rate_{pop}"], box, mode="same") for pop in ("E", "I")}
    if dsode is None:
        rate_traces({f"{name} E (1 ms boxcar)": (w.time, smooth["E"]),
                     f"{name} I (1 ms boxcar)": (w.time, smooth["I"])}, ax=axes[1],
                    xlabel="t (ms)", ylabel="spikes/ms (population)")
        return fig
    d = _window(dsode, *t_window)
    for ax, pop in zip(axes[1:], ("E", "I"), strict=True):
        rate_traces({f"{name} {pop} (1 ms boxcar)": (w.time, smooth[pop]),
                     f"dsODE {pop}": (d.time, d[f"rate_{pop}"])}, ax=ax,
                    xlabel="t (ms)" if pop == "I" else "",
                    ylabel=f"{pop} spikes/ms (population)")
    return fig


def run_figure(ds: xr.Dataset) -> Figure:
    """Figure for ``spikereduce run``: raster + rates for networks, rates + H for the dsODE."""
    if "spike_time" in ds:
        return raster_rates_figure(ds, t_window=(max(0.0, float(ds.time[-1]) - 200.0),
                                                 float(ds.time[-1])))
    fig, (ax_r, ax_h) = new_figure(2, 1, figsize=(7.5, 5.0), sharex=True)
    rate_traces({"E": (ds.time, ds.rate_E), "I": (ds.time, ds.rate_I)}, ax=ax_r,
                xlabel="t (ms)", ylabel="spikes/ms")
    rate_traces({k: (ds.time, ds[f"H_{k}"]) for k in ("EE", "EI", "IE", "II")}, ax=ax_h,
                xlabel="t (ms)", ylabel="mean pending spikes")
    return fig


def bifurcation_figure(bif: xr.Dataset) -> Figure:
    """Beat histograms over p_EI, one panel per model (colour log2(1 + count/max)), plus rates."""
    models = list(bif.model.values)
    fig, axes = new_figure(len(models) + 1, 1, figsize=(7.0, 2.4 * (len(models) + 1)),
                           sharex=True)
    p = bif.p_ei.values
    dp = (p[1] - p[0]) if p.size > 1 else 0.01
    pe = np.concatenate([p - dp / 2, [p[-1] + dp / 2]])
    dm = bif.dm_bin.values
    de = np.concatenate([dm - 2.5, [dm[-1] + 2.5]])
    for ax, model in zip(axes[:-1], models, strict=True):
        h = bif.beat_hist.sel(model=model).values.astype(float)
        top = h.max(axis=1, keepdims=True)
        color = np.log2(1.0 + np.divide(h, top, out=np.zeros_like(h), where=top > 0))
        color[h == 0] = np.nan  # empty cells stay white
        ax.pcolormesh(pe, de, color.T, cmap="magma_r", vmin=0, vmax=1, shading="flat")
        ax.set_ylabel("Δm (spikes/ms)")
        ax.set_ylim(-250, 250)
        ax.set_title(f"{_LABEL.get(model, model)}: successive MFE peak-height differences")
    ax = axes[-1]
    for k, model in enumerate(models):
        name = _LABEL.get(model, model)
        ax.plot(p, bif.nu_E.sel(model=model), color=f"C{k}", label=f"{name} ν_E")
        ax.plot(p, bif.nu_I.sel(model=model), "--", color=f"C{k}", label=f"{name} ν_I")
    ax.set_xlabel("p_EI (probability of an I→E connection)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize="small", ncol=2)
    return fig


def h_space_figure(datasets: dict[str, xr.Dataset], *, t_start: float = 200.0) -> Figure:
    """Attractor geometry: trajectories in (H̄_EE, H̄_EI) and (H̄_IE, H̄_II) for several results.

    Networks use neuron-averaged pending spikes, the dsODE its moments.
    """
    fig, axes = new_figure(1, 2, figsize=(9.0, 3.8))
    for k, (label, ds) in enumerate(datasets.items()):
        w = ds.sel(time=slice(t_start, None))
        axes[0].plot(w.H_EE, w.H_EI, lw=0.6, color=f"C{k}", label=label, alpha=0.8)
        axes[1].plot(w.H_IE, w.H_II, lw=0.6, color=f"C{k}", label=label, alpha=0.8)
    axes[0].set_xlabel("H̄_EE (pending E spikes per E neuron)")
    axes[0].set_ylabel("H̄_EI")
    axes[1].set_xlabel("H̄_IE (pending E spikes per I neuron)")
    axes[1].set_ylabel("H̄_II")
    axes[0].legend(fontsize="small")
    return fig


def voltage_histogram_figure(datasets: dict[str, xr.Dataset], *, t_start: float = 200.0
                             ) -> Figure:
    """Time-averaged voltage histograms on the dsODE bins (fraction of population per bin)."""
    from .observables import voltage_histogram

    fig, axes = new_figure(1, 2, figsize=(9.0, 3.2), sharey=True)
    for k, (label, ds) in enumerate(datasets.items()):
        h_e, h_i = voltage_histogram(ds, t_start)
        centers = ds.v_bin.values
        axes[0].step(centers, h_e, where="mid", color=f"C{k}", label=label)
        axes[1].step(centers, h_i, where="mid", color=f"C{k}", label=label)
    for ax, pop in zip(axes, ("E", "I"), strict=True):
        ax.set_xlabel(f"v ({pop} neurons, M = 100)")
    axes[0].set_ylabel("fraction per bin")
    axes[0].legend(fontsize="small")
    return fig


def continuation_figure(cont: xr.Dataset, networks: dict[str, xr.Dataset] | None = None
                        ) -> Figure:
    """The two sweeps of :func:`spikereduce.markov.continuation` (ν_E and SSI_E against the
    parameter, "up" and "down"), optionally with network points: ``networks`` maps a label to a
    Dataset with nu_E and ssi_E (and their standard errors nu_E_se, ssi_E_se if any) on the
    same parameter dimension."""
    name = [d for d in cont.nu_E.dims if d != "sweep"][0]
    x = cont[name].values
    fig, axes = new_figure(1, 2, figsize=(10.5, 3.6))
    styles = {"up": ("C0", "-", "o", "up: from the low end"),
              "down": ("C3", "--", "s", "down: back from the high end")}
    for ax, var, label in ((axes[0], "nu_E", "ν_E (Hz)"), (axes[1], "ssi_E", "SSI_E")):
        for sweep in ("up", "down"):
            c, ls, mk, text = styles[sweep]
            ax.plot(x, cont[var].sel(sweep=sweep), color=c, ls=ls, marker=mk, ms=3, lw=1.2,
                    label=f"dsODE, {text}")
        for k, (lab, net) in enumerate((networks or {}).items()):
            err = net.get(f"{var}_se")
            ax.errorbar(net[name].values, net[var].values,
                        yerr=None if err is None else err.values, color=f"{0.55 - 0.25 * k}",
                        marker="^v<>"[k % 4], ms=6, ls="none", capsize=2, label=lab)
        ax.set_xlabel(name)
        ax.set_ylabel(label)
    axes[0].legend(fontsize="small", frameon=False)
    return fig
