"""CLI entries of the balanced family: run (network, limit, convergence), compare and demo.

Spec balanced.md §1.7 (network), §2.3 (limit), T6 (convergence), T7 (histograms in the demo).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats

from ..analysis.compare import Comparison, ComparisonRow
from ..config import RunConfig
from ..io import params_of, save
from ..params import check_real
from ..plot import save_png
from ..registry import SummaryRow, register_compare, register_demo, register_run
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


def _network_options(params: BalancedParams, n: int = 2000, t_max: float = 4.0, *,
                     m_E0: float = REFERENCE_START[0], v_E0: float = REFERENCE_START[1],
                     v_I0: float = REFERENCE_START[2], m_I0: float | None = None,
                     dt: float = 1e-3, record_dt: float = 0.01,
                     snapshot_times: list[float] | tuple = (), edges: str = "independent",
                     on_loss_of_balance: str = "warn", seed: int = 0,
                     progress: bool | None = None) -> xr.Dataset:
    y0 = _start(params, m_E0, v_E0, v_I0, m_I0)
    return simulate_network(params, n, t_max, y0=y0, dt=dt, seed=seed, record_dt=record_dt,
                            snapshot_times=snapshot_times, edges=edges,
                            on_loss_of_balance=on_loss_of_balance, progress=progress)


def _limit_options(params: BalancedParams, t_max: float = 4.0, *,
                   m_E0: float = REFERENCE_START[0], v_E0: float = REFERENCE_START[1],
                   v_I0: float = REFERENCE_START[2], m_I0: float | None = None,
                   method: str = "multiplier", n_points: int = 401,
                   on_loss_of_balance: str = "raise") -> xr.Dataset:
    y0 = _start(params, m_E0, v_E0, v_I0, m_I0)
    return solve_limit(params, y0, t_max, method=method, n_points=n_points,
                       on_loss_of_balance=on_loss_of_balance)


def _convergence_options(params: BalancedParams, *, ns: list[int] = (500, 2000, 8000),
                         replicates: list[int] = (8, 4, 2), t_max: float = 4.0,
                         times: list[float] = (0.5, 1.0, 2.0, 4.0), dt: float = 1e-3,
                         m_E0: float = REFERENCE_START[0], v_E0: float = REFERENCE_START[1],
                         v_I0: float = REFERENCE_START[2], seed: int = 0,
                         progress: bool | None = None) -> xr.Dataset:
    from ..errors import ParameterError

    if len(ns) != len(replicates):
        raise ParameterError("replicates", list(replicates), f"one count per n ({len(ns)})")
    y0 = balanced_initial(params, m_E0, v_E0, v_I0)
    return convergence_study(params, y0, replicates=dict(zip(ns, replicates, strict=True)),
                             t_max=t_max, times=times, dt=dt, seed=seed, progress=progress)


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


@register_run("balanced", "network", figure=network_figure,
              description="balanced E/I network, tau-leaping with the exact per-edge law")
def run_network(cfg: RunConfig) -> xr.Dataset:
    params = BalancedParams(**cfg.params)
    opts = cfg.kwargs_for(_network_options, exclude=("params", "seed"))
    return _network_options(params, seed=cfg.seed, **opts)


@register_run("balanced", "limit", figure=limit_figure,
              description="Gaussian limit: mean/variance ODEs under the balance constraint")
def run_limit(cfg: RunConfig) -> xr.Dataset:
    params = BalancedParams(**cfg.params)
    opts = cfg.kwargs_for(_limit_options, exclude=("params",))
    return _limit_options(params, **opts)


@register_run("balanced", "convergence", figure=convergence_figure,
              description="network -> limit RMS error over n, fitted log-log slope")
def run_convergence(cfg: RunConfig) -> xr.Dataset:
    params = BalancedParams(**cfg.params)
    opts = cfg.kwargs_for(_convergence_options, exclude=("params", "seed"))
    return _convergence_options(params, seed=cfg.seed, **opts)


@register_compare("balanced", description="network vs limit at the same parameters")
def compare(cfg: RunConfig) -> Comparison:
    """Network against the limit: statistics at t_max and RMS errors over the whole run."""
    params = BalancedParams(**cfg.params)
    opts = dict(cfg.options)
    # Options of the other models, and snapshots (not compared), may sit in the same config.
    for key in ("method", "n_points", "ns", "replicates", "times", "snapshot_times"):
        opts.pop(key, None)
    net_opts = {k: v for k, v in opts.items() if k != "on_loss_of_balance"}
    probe = RunConfig(cfg.family, "network", cfg.params, net_opts, cfg.seed)
    kwargs = probe.kwargs_for(_network_options, exclude=("params", "seed"))
    t_end = float(kwargs.get("t_max", 4.0))
    net = _network_options(params, seed=cfg.seed, snapshot_times=[t_end], **kwargs)
    lim = solve_limit(params, [float(v) for v in net.attrs["y0"]], t_end,
                      t_eval=net["time"].values)
    n = int(net.attrs["n"])
    rows = []
    for key in STATE:
        rows.append(ComparisonRow(f"{key}(t_max)", float(net[key][-1]), float(lim[key][-1]),
                                  note=f"n = {n}"))
    for key in STATE:
        rms = float(np.sqrt(np.mean((net[key].values - lim[key].values) ** 2)))
        rows.append(ComparisonRow(
            f"{key} over [0, t_max]", float(net[key].mean()), float(lim[key].mean()),
            distance=rms, metric="RMS", note="time averages; RMS of network - limit"))
    for pop in ("E", "I"):
        x = net[f"x_{pop}"].values[-1]
        m, v = float(lim[f"m_{pop}"][-1]), float(lim[f"v_{pop}"][-1])
        ks = float(stats.kstest(x, "norm", args=(m, np.sqrt(v))).statistic)
        rows.append(ComparisonRow(
            f"law of {pop} at t_max", float(x.std()), float(np.sqrt(v)), distance=ks,
            metric="KS", note=f"values: sd; KS vs limit N(m, v), 1.36/sqrt(n) = "
                              f"{1.36 / np.sqrt(n):.3f}"))
    drift_lim = integrated_drift(lim)
    rows.append(ComparisonRow("integrated drift int c dt (t_max)", float(net["drift"][-1]),
                              float(drift_lim[-1]), note="gap ~ n^-1/2 (spec T6 iii)"))
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
                       "spec T2")]
    for key in ("m_E", "m_I", "v_E", "v_I"):
        rows.append(SummaryRow("balanced", f"{key}(4), n = 2000 vs limit",
                               f"{float(net[key][-1]):.4f}", f"{float(lim[key][-1]):.4f}",
                               "network error ~ n^-1/2 (spec T6)"))
    return rows
