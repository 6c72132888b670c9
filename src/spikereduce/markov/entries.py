"""CLI/sweep entry points of the markov family: run (snn, sde, dsode, bifurcation), demo, compare.

Run entries return the simulation Dataset plus scalar read-outs (nu_E, nu_I, ssi_E, ssi_I,
mfe_rate, mean_H_*) and the beat histogram, so one p_EI point is one call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

from ..analysis.compare import Comparison, ComparisonRow
from ..config import RunConfig
from ..io import save
from ..params import check_choice, check_positive, check_real, check_seed
from ..plot import save_png
from ..registry import Option, SummaryRow, register_compare, register_demo, register_run
from .bifurcation import bifurcation, continuation
from .drive import check_drive
from .dsode import simulate_dsode
from .figures import (
    bifurcation_figure,
    continuation_figure,
    h_space_figure,
    raster_rates_figure,
    rates_figure,
    run_figure,
)
from .network import simulate_network
from .observables import mfe_peaks, summary, with_summary
from .params import MarkovParams

T_MAX = Option("t_max", 1000.0, float, "ms", "simulated time")
DT = Option("dt", 0.1, float, "ms", "time step")
DRIVE = Option("drive", None, dict, "1/ms", "time-varying external rate: added to params.lam, "
               "{kind = 'pulse', amplitude, start, stop} (no stop: a step) or {kind = "
               "'periodic', amplitude, period}; or the rate itself, {kind = 'table', times, "
               "rates} (ms, 1/ms, linear between points)", validate=check_drive)
NETWORK = (
    T_MAX, DT, DRIVE,
    Option("connectivity", "annealed", str, "", "'annealed' (targets redrawn per spike) or "
           "'fixed' (seeded Erdős–Rényi graph; SNN only)"),
    Option("external", "gaussian", str, "", "'gaussian' drive or 'poisson' unit kicks (SNN)"),
)
VARIANCE = Option("variance", "reference", str, "", "synaptic input variance per unit time: "
                  "'reference' (s^2 Sigma/tau^2), 'colored' (2 s^2 Sigma/tau, the long-time "
                  "diffusion of the current's spread) or 'shot' (s^2 H/tau + s^2 Sigma dt/tau^2)")
REFRACTORY = Option("refractory", "code", str, "", "dsODE refractory rule: 'code' (the "
                    "reference code's) or 'clean'")


@register_run("markov", "snn", params=MarkovParams, figure=run_figure, options=NETWORK,
              description="E/I pending-spike network, with rates/SSI/beats")
def run_snn(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    return with_summary(simulate_network(MarkovParams(**cfg.params), seed=cfg.seed,
                                         model="snn", **opts))


@register_run("markov", "sde", params=MarkovParams, figure=run_figure, options=NETWORK,
              description="Markov-approximated SDE network")
def run_sde(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    return with_summary(simulate_network(MarkovParams(**cfg.params), seed=cfg.seed,
                                         model="sde", **opts))


@register_run("markov", "dsode", params=MarkovParams, figure=run_figure, options=(
    T_MAX, DT, REFRACTORY, DRIVE,
    Option("finite_size", "off", str, "", "'off' (the deterministic map), 'authors' (the "
           "reference code's noise) or 'multinomial' (integer neurons, binomial transport); "
           "stochastic runs use the config's seed"),
    VARIANCE,
), description="dsODE bin-transport reduction, with rates/SSI/beats")
def run_dsode(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    rest = dict(opts)
    mode = rest.pop("finite_size")
    finite = False if mode == "off" else mode
    return with_summary(simulate_dsode(MarkovParams(**cfg.params), finite_size=finite,
                                       seed=cfg.seed if finite else None, **rest))


@register_run("markov", "bifurcation", params=MarkovParams, figure=bifurcation_figure, options=(
    Option("p_ei_start", 0.5, float, "", "first p_EI of the diagram"),
    Option("p_ei_stop", 1.0, float, "", "last p_EI"),
    Option("count", 51, int, "points", "number of p_EI values"),
    T_MAX, DT, REFRACTORY,
    Option("models", ["snn", "dsode"], list, "", "models to run at each p_EI"),
    Option("t_start", None, float, "ms", "statistics use t > t_start (default t_max / 5)"),
), description="p_EI bifurcation diagram: beat histograms and rates, SNN vs dsODE")
def run_bifurcation(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    return bifurcation(MarkovParams(**cfg.params), seed=cfg.seed, **opts)


@register_run("markov", "continuation", params=MarkovParams, figure=continuation_figure, options=(
    Option("name", "p_ei", str, "", "parameter followed (a [params] field other than n_e, n_i, "
           "v_bin, v_bin_min, M)"),
    Option("values", None, list, "", "its values, swept up then back down (default for p_ei: "
           "0.85, 0.86, ..., 1.0)"),
    T_MAX, DT, REFRACTORY, VARIANCE,
    Option("t_start", None, float, "ms", "statistics of each point use t > t_start (default "
           "t_max / 5)"),
), description="dsODE attractors followed through a parameter, up and down (hysteresis)")
def run_continuation(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    return continuation(MarkovParams(**cfg.params), **opts)


@register_demo("markov", description="default point: raster and rates, SNN vs dsODE")
def demo(folder: Path) -> list[SummaryRow]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = MarkovParams()
    snn = simulate_network(params, 600.0, seed=1, progress=False)
    dso = simulate_dsode(params, 600.0, progress=False)
    save(snn, folder / "markov_snn.nc")
    save(dso, folder / "markov_dsode.nc")
    save_png(raster_rates_figure(snn, dso, t_window=(400, 600)), folder / "markov_raster.png")
    save_png(h_space_figure({"SNN": snn, "dsODE": dso}), folder / "markov_h_space.png")
    s, d = summary(snn), summary(dso)
    ps, pd = mfe_peaks(snn), mfe_peaks(dso)
    return [
        SummaryRow("markov", "SNN nu_E / nu_I (Hz)", f"{s['nu_E']:.1f} / {s['nu_I']:.1f}",
                   "47.2 / 65.8", "t in (200, 600] ms, seed 1"),
        SummaryRow("markov", "dsODE nu_E / nu_I (Hz)", f"{d['nu_E']:.1f} / {d['nu_I']:.1f}",
                   "44.3 / 61.8", "refractory='code'"),
        SummaryRow("markov", "SNN / dsODE SSI_E", f"{s['ssi_E']:.3f} / {d['ssi_E']:.3f}",
                   "0.269 / 0.316"),
        SummaryRow("markov", "SNN / dsODE beat pattern", f"{ps.pattern} / {pd.pattern}",
                   "period-2 / period-2"),
    ]


def compare_models(params: MarkovParams, t_max: float = 1000.0, *, seed: int = 0,
                   model: str = "snn", refractory: str = "code", connectivity: str = "annealed",
                   external: str = "gaussian", dt: float = 0.1,
                   t_start: float = 200.0, drive: Any = None,
                   finite_size: str = "authors") -> Comparison:
    """Network (micro) against the deterministic dsODE and a finite-size dsODE (macro) at the
    same parameters (and the same ``drive``): rates, SSI, MFE rate, mean H.

    The plain rows ("nu_E", ...) compare the network with the deterministic map; the rows
    marked "finite-size" compare it with ``simulate_dsode(..., finite_size=finite_size,
    seed=seed)``. ``finite_size="off"`` leaves those rows out.
    """
    t_max = check_positive("t_max", t_max)
    seed = check_seed(seed)
    t_start = check_real("t_start", t_start, lo=0.0, hi=t_max, hi_open=True)
    model = check_choice("model", model, ("snn", "sde"))
    finite_size = check_choice("finite_size", finite_size, ("multinomial", "authors", "off"))
    params = MarkovParams.check(params)
    net = simulate_network(params, t_max, seed=seed, model=model, connectivity=connectivity,
                           external=external, dt=dt, drive=drive, progress=False)
    reductions = {"": simulate_dsode(params, t_max, refractory=refractory, dt=dt, drive=drive,
                                     progress=False)}
    if finite_size != "off":
        reductions[", finite-size"] = simulate_dsode(
            params, t_max, refractory=refractory, dt=dt, drive=drive, finite_size=finite_size,
            seed=seed, progress=False)
    a = summary(net, t_start)
    pa = mfe_peaks(net, min(100.0, t_start))
    rows = []
    for tag, dso in reductions.items():
        b = summary(dso, t_start)
        pb = mfe_peaks(dso, min(100.0, t_start))
        rows += [ComparisonRow(f"nu_E{tag}", a["nu_E"], b["nu_E"], "Hz"),
                 ComparisonRow(f"nu_I{tag}", a["nu_I"], b["nu_I"], "Hz"),
                 ComparisonRow(f"SSI_E{tag}", a["ssi_E"], b["ssi_E"], ""),
                 ComparisonRow(f"SSI_I{tag}", a["ssi_I"], b["ssi_I"], ""),
                 ComparisonRow(f"MFE rate{tag}", a["mfe_rate"], b["mfe_rate"], "Hz",
                               note=f"pattern {pa.pattern} / {pb.pattern}")]
        for syn in ("EE", "EI", "IE", "II"):
            rows.append(ComparisonRow(f"mean H_{syn}{tag}", a[f"mean_H_{syn}"],
                                      b[f"mean_H_{syn}"], "pending spikes/neuron"))
    t1 = min(t_max, t_start + 200.0)
    panels = {f"{model.upper()} (seed {seed})": net, f"dsODE ({refractory})": reductions[""]}
    datasets = {model: net, "dsode": reductions[""]}
    if finite_size != "off":
        panels[f"finite-size dsODE ({finite_size}, seed {seed})"] = reductions[", finite-size"]
        datasets["dsode_finite_size"] = reductions[", finite-size"]
    fig = rates_figure(panels, t_window=(t_start, t1))
    what = "dsODE" if finite_size == "off" else "deterministic and finite-size dsODE"
    return Comparison("markov", rows, figure=fig, datasets=datasets,
                      title=f"markov: {model.upper()} network vs {what}, t > {t_start:g} ms")


@register_compare("markov", options=(
    *NETWORK, REFRACTORY,
    Option("model", "snn", str, "", "network compared with the dsODE: 'snn' or 'sde' (default: "
           "the config's model)"),
    Option("t_start", 200.0, float, "ms", "statistics use t > t_start"),
    Option("finite_size", "authors", str, "", "finite-size dsODE compared beside the "
           "deterministic one: 'authors', 'multinomial' or 'off' (seeded by the config's seed)"),
), description="SNN vs the deterministic and the finite-size dsODE at the same parameters")
def compare(cfg: RunConfig, opts: dict[str, Any]) -> Comparison:
    if cfg.model in ("snn", "sde") and "model" not in cfg.options:
        opts["model"] = cfg.model
    return compare_models(MarkovParams(**cfg.params), seed=cfg.seed, **opts)
