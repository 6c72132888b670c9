"""CLI entries of the nlif family: run (particles, fokker_planck), compare, demo.

Spec nlif §4: T4 (particles vs Fokker–Planck at b = 0.5) and the b = 3 blow-up / MFE contrast.
Configs give the Gaussian initial data as ``v0`` and ``var`` in [run].
"""

from __future__ import annotations

import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..analysis.compare import Comparison, ComparisonRow, relative_l2
from ..config import RunConfig
from ..errors import ParameterError
from ..io import save
from ..plot import save_png
from ..registry import SummaryRow, register_compare, register_demo, register_run
from .figures import (
    binned_rate,
    cascade_raster_figure,
    fokker_planck_figure,
    particles_figure,
    rates_figure,
)
from .fokker_planck import solve_fokker_planck
from .initial import gaussian_density
from .params import NLIFParams
from .particles import simulate_particles
from .steady import critical_coupling, steady_states


def _initial(options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Split the Gaussian initial data (``v0``, ``var``; spec §1.4 default (0, 0.25)) off."""
    opts = dict(options)
    return gaussian_density(opts.pop("v0", 0.0), opts.pop("var", 0.25)), opts


@register_run("nlif", "particles", figure=particles_figure,
              description="noisy LIF network, all-to-all kicks b/N, same-step cascades")
def run_particles(cfg: RunConfig) -> xr.Dataset:
    params = NLIFParams(**cfg.params)
    p0, opts = _initial(dict(cfg.options))
    kwargs = RunConfig(cfg.family, cfg.model, options=opts).kwargs_for(
        simulate_particles, exclude=("params", "p0", "seed"))
    return simulate_particles(params, p0=p0, seed=cfg.seed, **kwargs)


@register_run("nlif", "fokker_planck", figure=fokker_planck_figure,
              description="NNLIF Fokker–Planck equation, conservative Scharfetter–Gummel scheme")
def run_fokker_planck(cfg: RunConfig) -> xr.Dataset:
    params = NLIFParams(**cfg.params)
    p0, opts = _initial(dict(cfg.options))
    kwargs = RunConfig(cfg.family, cfg.model, options=opts).kwargs_for(
        solve_fokker_planck, exclude=("params", "p0"))
    return solve_fokker_planck(params, p0, **kwargs)


_COMPARE_OPTIONS = {"n": 20_000, "t_max": 5.0, "dt": 1e-3, "bridge": True, "cascade": True,
                    "reset": "exact", "h": 0.01, "dt_fp": 1e-4, "v_min": -4.0,
                    "blowup_rate": None, "bin_width": 0.05}


def compare_particles_fp(params: NLIFParams, p0: Any, *, seed: int = 0,
                         **options: Any) -> Comparison:
    """Particles vs Fokker–Planck at the same parameters (spec T4): rates, spikes, L2 error.

    Options (defaults in ``_COMPARE_OPTIONS``): particle ``n``, ``dt``, ``bridge``, ``cascade``;
    Fokker–Planck ``h``, ``dt_fp``, ``v_min``; both ``t_max``; ``bin_width`` of the rate traces.
    A Fokker–Planck blow-up ends the comparison window at the blow-up time.
    """
    unknown = sorted(set(options) - set(_COMPARE_OPTIONS))
    if unknown:
        raise ParameterError(f"run.{unknown[0]}", options[unknown[0]], message=(
            f"unknown compare option {unknown[0]!r}; known: v0, var, "
            + ", ".join(sorted(_COMPARE_OPTIONS))))
    o = {**_COMPARE_OPTIONS, **options}
    micro = simulate_particles(params, o["n"], o["t_max"], p0=p0, dt=o["dt"], seed=seed,
                               bridge=o["bridge"], cascade=o["cascade"], reset=o["reset"])
    macro = solve_fokker_planck(params, p0, o["t_max"], h=o["h"], dt=o["dt_fp"],
                                v_min=o["v_min"], blowup_rate=o["blowup_rate"])
    t_end = float(macro.time[-1]) if macro.attrs["blowup"] else float(o["t_max"])
    width = float(o["bin_width"])
    tc, r_micro = binned_rate(micro, width, t_end)
    _, r_macro = binned_rate(macro, width, t_end)
    half = tc >= t_end / 2
    note = (f"Fokker–Planck blew up at t = {t_end:.4g}; compared on [0, {t_end:.4g}]"
            if macro.attrs["blowup"] else "")
    c_micro = float(np.interp(t_end, micro.time, micro.cumulative_spikes))
    c_macro = float(np.interp(t_end, macro.time, macro.cumulative_spikes))
    rows = [
        ComparisonRow(f"mean rate on [{t_end / 2:.3g}, {t_end:.3g}]",
                      float(r_micro[half].mean()), float(r_macro[half].mean()),
                      "1/tau_m", note),
        ComparisonRow(f"cumulative spikes at t = {t_end:.4g}", c_micro, c_macro,
                      "per neuron"),
        ComparisonRow(f"rate relative L2 error ({width:g}-bins)",
                      relative_l2(r_micro, r_macro), 0.0, "",
                      "||N_micro - N_macro|| / ||N_macro|| (micro column)"),
        ComparisonRow("largest one-step fired fraction",
                      float(micro.attrs["largest_cascade_fraction"]), 0.0, "",
                      "the Fokker–Planck equation has no synchronous events (p(v_f) = 0)"),
    ]
    if params.constant_current is not None:
        roots = steady_states(params)
        if roots:
            rows.append(ComparisonRow("steady rate N_inf (lowest branch)",
                                      float(r_micro[half].mean()), roots[0], "1/tau_m",
                                      "micro: late mean rate; macro: root of N Psi(N) = 1"))
    fig = rates_figure({f"particles (n = {o['n']})": micro, "Fokker–Planck": macro},
                       width=width, title=f"nlif b = {params.b:g}: particles vs Fokker–Planck")
    return Comparison("nlif", rows, figure=fig,
                      datasets={"nlif_particles": micro, "nlif_fokker_planck": macro},
                      title=f"nlif: particles vs Fokker–Planck (b = {params.b:g})")


@register_compare("nlif", description="particles vs Fokker–Planck at the same parameters")
def compare(cfg: RunConfig) -> Comparison:
    params = NLIFParams(**cfg.params)
    p0, opts = _initial(dict(cfg.options))
    if cfg.model == "fokker_planck":
        # A Fokker–Planck config's dt is the PDE step; its snapshot interval is irrelevant here.
        if "dt" in opts:
            opts["dt_fp"] = opts.pop("dt")
        opts.pop("save_every", None)
    return compare_particles_fp(params, p0, seed=cfg.seed, **opts)


@register_demo("nlif", description="particles vs Fokker–Planck at b = 0.5; blow-up vs MFEs "
                                   "at b = 3")
def demo(folder: Path) -> list[SummaryRow]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[SummaryRow] = []
    t0 = time.perf_counter()
    # b = 0.5: the asynchronous regime where the mean-field equation is exact as n grows (T4).
    p_async = NLIFParams(b=0.5)
    cmp = compare_particles_fp(p_async, gaussian_density(0.0, 0.25), seed=1, n=20_000,
                               t_max=3.0, h=0.02, dt_fp=1e-4, bin_width=0.1)
    save_png(cmp.figure, folder / "nlif_rates_b0.5.png")
    for name, ds in cmp.datasets.items():
        save(ds, folder / f"{name}_b0.5.nc")
    n_inf = steady_states(p_async)[0]
    rows.append(SummaryRow("nlif", "b=0.5 mean rate on [1.5, 3], particles n=2e4",
                           f"{cmp.rows[0].micro:.4f}", f"{cmp.rows[0].macro:.4f} (Fokker–Planck)",
                           f"steady state N_inf = {n_inf:.6f} (spec T1: 0.134775)"))
    rows.append(SummaryRow("nlif", "critical coupling b_c", f"{critical_coupling(p_async):.4f}",
                           "2.101 (spec T1)", "no steady state above b_c"))
    # b = 3 > b_c from (-1, 0.5): the PDE blows up (T3: t = 3.4177 at h = 0.01) while the
    # particles go through multiple firing events.
    p_sync = NLIFParams(b=3.0)
    p0 = gaussian_density(-1.0, 0.5)
    fp = solve_fokker_planck(p_sync, p0, 4.0, h=0.02, dt=1e-4, blowup_rate=1e3)
    part = simulate_particles(p_sync, 20_000, 4.0, p0=p0, dt=1e-3, seed=1, n_record=400)
    save(fp, folder / "nlif_fokker_planck_b3.nc")
    save(part, folder / "nlif_particles_b3.nc")
    save_png(fokker_planck_figure(fp), folder / "nlif_density_b3.png")
    save_png(cascade_raster_figure(part), folder / "nlif_cascade_b3.png")
    rows.append(SummaryRow("nlif", "b=3 Fokker–Planck blow-up time (N > 1e3, h=0.02)",
                           f"{fp.attrs['blowup_time']:.4f}", "3.4189 (spec T3, h = 0.02)"))
    n_mfe = int((part.fired_fraction.values > 0.05).sum())
    rows.append(SummaryRow("nlif", "b=3 particles: largest one-step cascade",
                           f"{part.attrs['largest_cascade_fraction']:.1%} of neurons",
                           "", f"{n_mfe} steps with > 5 % firing together (MFEs)"))
    rows.append(SummaryRow("nlif", "demo wall time (particles + Fokker–Planck)",
                           f"{time.perf_counter() - t0:.1f} s"))
    if _demo_multiscale is not None:
        rows.extend(_demo_multiscale(folder))
    return rows


_demo_multiscale = None
if find_spec(f"{__package__}.entries_multiscale") is not None:
    # The multi-scale solver's run entry registers itself on import; its demo joins this one.
    from .entries_multiscale import demo_multiscale as _demo_multiscale  # noqa: E402

__all__ = ["compare_particles_fp", "demo", "compare", "run_particles", "run_fokker_planck"]
