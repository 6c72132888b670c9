"""CLI entries of the balanced family: run (network, limit, convergence), compare and demo.

The demo shows the population histograms of the network against the limit Gaussians.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from ..analysis.compare import Comparison, ComparisonRow
from ..config import RunConfig
from ..errors import ParameterError
from ..io import params_of, save
from ..params import check_real
from ..plot import save_png
from ..registry import Option, SummaryRow, register_compare, register_demo, register_run
from .convergence import convergence_study
from .figures import convergence_figure, histogram_figure, trajectories_figure
from .limit import STATE, balanced_initial, integrated_drift, solve_limit
from .network import simulate_network
from .params import REFERENCE_START, BalancedParams


def _start(params: BalancedParams, m_E0: float, v_E0: float, v_I0: float,
           m_I0: float | None) -> tuple[float, float, float, float]:
    """Balanced Gaussian start, or the given m_I0 (an unbalanced start is then possible)."""
    if m_I0 is None:
        return balanced_initial(params, m_E0, v_E0, v_I0)
    return (check_real("m_E0", m_E0), check_real("m_I0", m_I0), check_real("v_E0", v_E0, lo=0),
            check_real("v_I0", v_I0, lo=0))


START = (
    Option("m_E0", REFERENCE_START[0], float, "", "initial mean of the E states"),
    Option("v_E0", REFERENCE_START[1], float, "", "initial variance of the E states"),
    Option("v_I0", REFERENCE_START[2], float, "", "initial variance of the I states"),
    Option("m_I0", None, float, "", "initial mean of the I states (default: solved from "
           "the balance condition)"),
)
T_MAX = Option("t_max", 4.0, float, "time", "simulated time")
DT = Option("dt", 1e-3, float, "time", "time step")
NETWORK = (
    Option("n", 2000, int, "neurons", "neurons per population"), T_MAX, DT, *START,
    Option("record_dt", 0.01, float, "time", "interval of the recorded statistics"),
    Option("snapshot_times", [], list, "time", "times at which all states are stored"),
    Option("edges", "independent", str, "", "'independent' (the model) or 'shared' (control: one "
           "spike train per neuron seen by all its targets)"),
    Option("on_loss_of_balance", "warn", str, "", "'warn', 'raise' or 'ignore' when D >= 0"),
)


def _network(params: BalancedParams, seed: int, opts: dict[str, Any]) -> xr.Dataset:
    rest = dict(opts)
    y0 = _start(params, *(rest.pop(o.name) for o in START))
    return simulate_network(params, rest.pop("n"), rest.pop("t_max"), y0=y0, seed=seed, **rest)


def _limit_for(ds: xr.Dataset) -> xr.Dataset:
    params = BalancedParams(**params_of(ds))
    t = ds["time"].values
    return solve_limit(params, [float(v) for v in ds.attrs["y0"]], float(t[-1]),
                       t_eval=t if t[0] == 0 else None, on_loss_of_balance="stop")


def network_figure(ds: xr.Dataset):
    """Network means/variances with the limit started from the same Gaussian law."""
    limit = None if int(ds.attrs.get("balance_lost", 0)) else _limit_for(ds)
    return trajectories_figure(limit, [ds], title=f"balanced network, n = {ds.attrs['n']}")


def limit_figure(ds: xr.Dataset):
    return trajectories_figure(ds, title="balanced limit (Gaussian hydrodynamic ODEs)")


@register_run("balanced", "network", params=BalancedParams, figure=network_figure, options=NETWORK,
              description="balanced E/I network, tau-leaping with the exact per-edge law")
def run_network(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    return _network(BalancedParams(**cfg.params), cfg.seed, opts)


@register_run("balanced", "limit", params=BalancedParams, figure=limit_figure, options=(
    T_MAX, *START,
    Option("method", "multiplier", str, "", "'multiplier' (balance multiplier, Baumgarte "
           "stabilised) or 'projection' (means kept on the balanced manifold)"),
    Option("n_points", 401, int, "points", "output times on [0, t_max]"),
    Option("max_evaluations", 500_000, int, "", "right-hand-side evaluations before the "
           "solver stops with a message"),
    Option("on_loss_of_balance", "raise", str, "", "'raise' or 'stop' when D >= 0"),
), description="Gaussian limit: mean/variance ODEs under the balance constraint")
def run_limit(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    params = BalancedParams(**cfg.params)
    rest = dict(opts)
    y0 = _start(params, *(rest.pop(o.name) for o in START))
    return solve_limit(params, y0, rest.pop("t_max"), **rest)


@register_run("balanced", "convergence", params=BalancedParams, figure=convergence_figure, options=(
    Option("ns", [500, 2000, 8000], list, "neurons", "network sizes"),
    Option("replicates", [8, 4, 2], list, "runs", "replicates per size"),
    T_MAX, Option("times", [0.5, 1.0, 2.0, 4.0], list, "time", "observation times"), DT,
    *START[:3],
), description="network -> limit RMS error over n, fitted log-log slope")
def run_convergence(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
    params = BalancedParams(**cfg.params)
    ns, replicates = opts["ns"], opts["replicates"]
    if len(ns) != len(replicates):
        raise ParameterError("run.replicates", replicates, f"one count per n ({len(ns)})")
    y0 = balanced_initial(params, opts["m_E0"], opts["v_E0"], opts["v_I0"])
    return convergence_study(params, y0, replicates=dict(zip(ns, replicates, strict=True)),
                             t_max=opts["t_max"], times=opts["times"], dt=opts["dt"],
                             seed=cfg.seed)


@register_compare("balanced", options=tuple(o for o in NETWORK if o.name not in (
    "snapshot_times", "on_loss_of_balance")),
                  description="network vs limit at the same parameters")
def compare(cfg: RunConfig, opts: dict[str, Any]) -> Comparison:
    """Network against the limit: statistics at t_max and RMS errors over the whole run."""
    params = BalancedParams(**cfg.params)
    t_end = opts["t_max"]
    net = _network(params, cfg.seed, {**opts, "snapshot_times": [t_end],
                                      "on_loss_of_balance": "warn"})
    lim = solve_limit(params, [float(v) for v in net.attrs["y0"]], t_end,
                      t_eval=net["time"].values)
    n = int(net.attrs["n"])
    rows = []
    for key in STATE:
        # means sit near zero: their difference, not a relative error
        rows.append(ComparisonRow(f"{key}(t_max)", float(net[key][-1]), float(lim[key][-1]),
                                  note=f"n = {n}", absolute=key.startswith("m_")))
    for key in STATE:
        rms = float(np.sqrt(np.mean((net[key].values - lim[key].values) ** 2)))
        rows.append(ComparisonRow(
            f"{key} over [0, t_max]", float(net[key].mean()), float(lim[key].mean()),
            distance=rms, metric="RMS", note="time averages; RMS of network - limit"))
    for pop in ("E", "I"):
        x = net[f"x_{pop}"].values[-1]
        m, v = float(lim[f"m_{pop}"][-1]), float(lim[f"v_{pop}"][-1])
        ks = float(stats.kstest(x, "norm", args=(m, np.sqrt(v))).statistic)
        band = 1.36 / np.sqrt(n)  # the KS test's 5 % critical value for n samples
        rows.append(ComparisonRow(
            f"law of {pop} at t_max", float(x.std()), float(np.sqrt(v)), distance=ks,
            metric="KS", band=band, note=f"values: sd; KS against the limit N(m, v); band: "
                                         f"5 % critical value 1.36/sqrt(n) = {band:.3f}"))
    drift_lim = integrated_drift(lim)
    rows.append(ComparisonRow("integrated drift int c dt (t_max)", float(net["drift"][-1]),
                              float(drift_lim[-1]), note="gap ~ n^-1/2"))
    fig = trajectories_figure(lim, [net], title=f"balanced: network (n = {n}) vs limit")
    return Comparison("balanced", rows, figure=fig, datasets={"network": net, "limit": lim},
                      title=f"balanced: network (n = {n}) vs Gaussian limit")


@register_demo("balanced", description="network histograms (n = 2000) vs the limit Gaussians")
def demo(folder: Path) -> list[SummaryRow]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = BalancedParams()
    y0 = balanced_initial(params, *REFERENCE_START)
    times = (0.0, 0.5, 1.0, 4.0)
    net = simulate_network(params, 2000, 4.0, y0=y0, seed=1, snapshot_times=times)
    lim = solve_limit(params, y0, 4.0, t_eval=net["time"].values)
    save(net, folder / "balanced_network.nc")
    save(lim, folder / "balanced_limit.nc")
    save_png(histogram_figure(net, lim), folder / "balanced_histograms.png")
    save_png(trajectories_figure(lim, [net], title="balanced: network (n = 2000) vs limit"),
             folder / "balanced_trajectories.png")
    rows = [SummaryRow("balanced", "m_I(0) balanced start (set B)", f"{y0[1]:.6f}", "-0.338132",
                       "reference")]
    for key in ("m_E", "m_I", "v_E", "v_I"):
        rows.append(SummaryRow("balanced", f"{key}(4), n = 2000 vs limit",
                               f"{float(net[key][-1]):.4f}", f"{float(lim[key][-1]):.4f}",
                               "network error ~ n^-1/2"))
    return rows
