"""CLI entries of the avalanche family: ``run`` per named network, the demo, and ``compare``.

Simulated P(s) against the exact theory (F1 torus near criticality with
an s^-3/2 guide and the homogeneous closed form; F5 a 16-unit ring with its exact distribution).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..analysis.compare import Comparison, ComparisonRow
from ..config import RunConfig
from ..io import make_dataset, save
from ..plot import save_png
from ..registry import Option, SummaryRow, register_compare, register_demo, register_run
from . import closed_form, modular, theory
from .analysis import log_binned, size_histogram, total_variation
from .figures import run_figure, size_distribution_figure
from .models import MODELS, Model, RingParams, TorusParams
from .simulate import simulate

OPTIONS = (
    Option("n_avalanches", 100_000, int, "avalanches", "avalanches to simulate"),
    Option("delta", None, float, "threshold", "drive amplitude (default 1 - max row sum of W)"),
    Option("random_amplitude", True, bool, "", "drive by delta·U[0,1) (ergodic) or exactly "
           "delta"),
    Option("record_assemblies", False, bool, "", "keep the units of every avalanche"),
    Option("check_resonance", True, bool, "", "warn when a constant amplitude is resonant"),
)


def _simulate_cfg(cfg: RunConfig, model: Model, opts: dict[str, Any]):
    params = model.params(**cfg.params)
    rest = dict(opts)
    W = model.build(params)
    p = model.drive(params) if model.drive is not None else None
    ds = simulate(W, rest.pop("n_avalanches"), seed=cfg.seed, p=p, **rest)
    return params, W, ds


def _theory_mean(model_name: str, params, W) -> float:
    model = MODELS.get(model_name)
    if model is not None and model.mean is not None:
        return model.mean(params)
    if model_name == "torus":
        return closed_form.torus_mean_size(params.l, params.k, params.alpha)
    return theory.mean_size(W)


def _result_dataset(model_name: str, model: Model, params, W, ds: xr.Dataset) -> xr.Dataset:
    """A simulation of a named network with its parameters and the exact theory beside it."""
    sizes = ds["sizes"].values
    s, P_sim = size_histogram(sizes, int(ds.attrs["N"]))
    ds = ds.copy()
    ds.attrs.update(model=model_name, params=json.dumps(params.to_dict(), sort_keys=True))
    extra = {"P_sim": ("s", P_sim, {"long_name": "simulated P(s)"})}
    t0 = time.perf_counter()
    if model.theory is not None:
        extra["P_theory"] = ("s", model.theory(params), {"long_name": model.theory_name})
    mean_theory = _theory_mean(model_name, params, W)
    if model_name == "modular":
        extra.update(_by_start(params, ds, s))
    ds = ds.assign(extra).assign_coords(s=("s", s, {"units": "spikes"}))
    ds.attrs["wall_time_theory"] = time.perf_counter() - t0
    ds.attrs["mean_size_theory"] = mean_theory
    ds.attrs["mean_size_sim"] = float(sizes.mean())
    ds.attrs["theory"] = model.theory_name
    return ds


def _by_start(params, ds: xr.Dataset, s: np.ndarray) -> dict[str, Any]:
    """P(start population, size) from the modular theory and from the simulation."""
    edges = np.cumsum(params.sizes)
    pop = np.searchsorted(edges, ds["start_units"].values, side="right")
    sizes = ds["sizes"].values
    sim = np.zeros((len(params.sizes), s.size))
    for k in range(len(params.sizes)):
        sim[k] = np.bincount(sizes[pop == k], minlength=s.size + 1)[1:] / sizes.size
    exact = modular.size_distribution_by_start(params.sizes, params.W_pop, params.p_pop)
    dims = ("population", "s")
    return {"P_theory_by_start": (dims, exact, {"long_name": "exact P(start population, s)"}),
            "P_sim_by_start": (dims, sim, {"long_name": "simulated P(start population, s)"})}


def _make_run(model_name: str, model: Model):
    def run(cfg: RunConfig, opts: dict[str, Any]) -> xr.Dataset:
        params, W, sim = _simulate_cfg(cfg, model, opts)
        return _result_dataset(model_name, model, params, W, sim)

    run.__doc__ = f"Simulate the {model.description} and attach its exact theory."
    return run


for _name, _model in MODELS.items():
    register_run("avalanche", _name, figure=run_figure, options=OPTIONS,
                 params=_model.params, description=f"EHE avalanches: {_model.description}")(
        _make_run(_name, _model))


@register_compare("avalanche", options=OPTIONS,
                  description="simulated avalanches vs the exact theory")
def compare(cfg: RunConfig, opts: dict[str, Any]) -> Comparison:
    """Simulated vs exact: mean size, P(1), P(N) (or the tail mass), total-variation distance."""
    model = MODELS.get(cfg.model)
    if model is None:
        from ..errors import ConfigError

        raise ConfigError(f"unknown avalanche model {cfg.model!r} (known: {', '.join(MODELS)})")
    params, W, sim = _simulate_cfg(cfg, model, opts)
    ds = _result_dataset(cfg.model, model, params, W, sim)
    sizes = ds["sizes"].values
    n = sizes.size
    P_sim = ds["P_sim"].values
    # bands of three standard errors of the simulated quantities (avalanches are weakly
    # correlated; probabilities are binomial)
    def banded_row(name: str, sim: float, exact: float, se: float, unit: str = "",
                   note: str = "") -> ComparisonRow:
        return ComparisonRow(name, sim, exact, unit, f"{note}band: 3 s.e. = {3 * se:.2g}",
                             band=3 * se)

    def binomial_row(name: str, sim: float, exact: float, note: str = "") -> ComparisonRow:
        return banded_row(name, sim, exact, np.sqrt(exact * (1 - exact) / n), note=note)

    rows = [banded_row("mean size", float(sizes.mean()), ds.attrs["mean_size_theory"],
                       sizes.std() / np.sqrt(n), "spikes")]
    if cfg.model == "torus":
        p1 = theory.isolated_probability(W, 0)  # translation invariant: same for every unit
        rows.append(binomial_row("P(s=1)", float(P_sim[0]), p1))
        fig = size_distribution_figure({"simulation": log_binned(sizes)},
                                       guide_exponent=1.5,
                                       title=f"torus l={params.l}, k={params.k}")
    else:
        P = ds["P_theory"].values
        N = P.size
        tail = slice(N // 2, None)
        floor = np.sqrt(N / (2 * np.pi * n))
        rows += [
            binomial_row("P(s=1)", float(P_sim[0]), float(P[0])),
            binomial_row(f"P(s={N})", float(P_sim[-1]), float(P[-1])),
            binomial_row(f"P(s>={N // 2 + 1})", float(P_sim[tail].sum()),
                         float(P[tail].sum()), "tail mass; "),
            ComparisonRow("P(s), s = 1..N", float("nan"), float("nan"), "",
                          f"band: 3x the sampling floor {floor:.2g}",
                          distance=total_variation(P_sim, P), metric="TV", band=3 * floor),
        ]
        fig = size_distribution_figure({"simulation": (ds["s"].values, P_sim)},
                                       {model.theory_name: (ds["s"].values, P)},
                                       title=f"{cfg.model}: simulated vs exact")
    return Comparison("avalanche", rows, figure=fig, datasets={f"avalanche_{cfg.model}": ds},
                      title=f"avalanche/{cfg.model}: simulation vs exact theory "
                            f"({n} avalanches)")


@register_demo("avalanche", description="2-D torus near criticality; 16-unit ring vs exact")
def demo(folder: Path) -> list[SummaryRow]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[SummaryRow] = []
    # F1-like: torus near criticality against the homogeneous no-self closed form, s^-3/2 guide
    tp = TorusParams(l=32, k=1, alpha=0.985)
    Wt = MODELS["torus"].build(tp)
    sim = simulate(Wt, 60_000, seed=1, record_assemblies=False)
    torus_sizes = sim["sizes"].values
    n = tp.l * tp.l
    hom = closed_form.homogeneous(n, tp.alpha, self_coupling=False)
    mean_fft = closed_form.torus_mean_size(tp.l, tp.k, tp.alpha)
    p1 = theory.isolated_probability(Wt, 0)  # exact for the torus (translation invariant)
    fig = size_distribution_figure(
        {f"torus l={tp.l}, k={tp.k}, alpha={tp.alpha}: simulation": log_binned(torus_sizes)},
        {"all-to-all network, same n and alpha (mean-field reference, not the torus)":
         (np.arange(1, n + 1), hom)}, guide_exponent=1.5,
        guide_anchor=(1.0, 2.0 * hom[0]),
        title=f"torus: mean size {torus_sizes.mean():.1f} (sim.), {mean_fft:.1f} (exact)")
    ax = fig.axes[0]
    ax.plot([1.0], [p1], "k*", ms=10, label="torus: exact P(s = 1)")
    ax.legend(fontsize=7)
    save_png(fig, folder / "avalanche_torus.png")
    rows.append(SummaryRow("avalanche", "torus 32x32 mean size (sim vs FFT)",
                           f"{torus_sizes.mean():.3f}", f"{mean_fft:.3f}",
                           f"{torus_sizes.size} avalanches"))
    ds_t = _result_dataset("torus", MODELS["torus"], tp, Wt, sim)
    save(ds_t.drop_vars(["sizes", "durations", "start_units"]), folder / "avalanche_torus.nc")
    # F5-like: 16-unit ring, exact determinant formula vs closed form vs simulation
    rp = RingParams(N=16, alpha=0.75)
    Wr = MODELS["ring"].build(rp)
    exact = theory.size_distribution(Wr)
    closed = closed_form.ring(rp.N, rp.alpha)
    ring_sizes = simulate(Wr, 100_000, seed=2, record_assemblies=False)["sizes"].values
    s, P_sim = size_histogram(ring_sizes, rp.N)
    fig = size_distribution_figure({"simulation": (s, P_sim)},
                                   {"exact (2.5)": (s, exact),
                                    "homogeneous N=16 (2.7a)": (s, closed_form.homogeneous(
                                        16, 0.75))},
                                   title="ring N=16, alpha=0.75")
    save_png(fig, folder / "avalanche_ring16.png")
    ds_r = make_dataset({"P_sim": ("s", P_sim), "P_exact": ("s", exact),
                         "P_closed_form": ("s", closed)}, {"s": s}, family="avalanche",
                        model="ring", params=rp.to_dict(), seed=2)
    save(ds_r, folder / "avalanche_ring16.nc")
    rows += [
        SummaryRow("avalanche", "ring16 P(1) (sim vs exact)", f"{P_sim[0]:.4f}",
                   f"{exact[0]:.4f}", "0.300944"),
        SummaryRow("avalanche", "ring16 TV distance sim-exact",
                   f"{total_variation(P_sim, exact):.4f}", "0", f"{ring_sizes.size} avalanches"),
        SummaryRow("avalanche", "ring16 |determinant - closed form|",
                   f"{np.abs(exact - closed).max():.1e}", "0", "determinants vs closed form"),
    ]
    return rows
