"""The finite-size dsODE against the SNN and the deterministic dsODE across p_EI.

For each p_EI the SNN (``--seeds`` seeds), the deterministic dsODE and both stochastic variants
(``finite_size="multinomial"`` and ``"authors"``, ``--seeds`` seeds each) run ``--t-max`` ms at
the default point otherwise (network size ``--size``: N_E = 3 size, N_I = size). Prints a
markdown table of ν_E, ν_I (Hz), SSI_E, MFE rate (Hz), the mean MFE peak height (spikes/ms) and
the beat pattern (mean ± standard error over seeds; the pattern most seeds show), and the
relative error of each reduction's ν_E and ν_I against the SNN; writes the table, a NetCDF file
and a bifurcation figure (ν_E, ν_I and SSI_E against p_EI).

    python examples/markov_finite_size.py [--size 100] [--seeds 5] [--t-max 1200]
        [--p-ei 0.5,0.6,0.7,0.8,0.85,0.9,0.92,0.95,0.98,1.0] [--variance reference]
        [--out markov_finite_size]

At size 100 (N = 400), 5 seeds and 10 values of p_EI it takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
import xarray as xr

from spikereduce.io import save
from spikereduce.markov import MarkovParams, simulate_dsode, simulate_network
from spikereduce.markov.observables import mfe_peaks, summary
from spikereduce.plot import save_png
from spikereduce.progress import progress_bar

MODELS = ("SNN", "dsODE", "multinomial", "authors")
STATS = ("nu_E", "nu_I", "ssi_E", "mfe_rate", "peak")


def run_one(model: str, params: MarkovParams, t_max: float, seed: int,
            variance: str = "reference") -> tuple[dict, str]:
    if model == "SNN":
        ds = simulate_network(params, t_max, seed=seed, progress=False)
    elif model == "dsODE":
        ds = simulate_dsode(params, t_max, variance=variance, progress=False)
    else:
        ds = simulate_dsode(params, t_max, finite_size=model, seed=seed, variance=variance,
                            progress=False)
    s = summary(ds)
    peaks = mfe_peaks(ds)
    s["peak"] = float(peaks.heights.mean()) if peaks.heights.size else 0.0
    return s, peaks.pattern


def measure(p_values: list[float], size: int, seeds: int, t_max: float,
            variance: str = "reference") -> xr.Dataset:
    base = MarkovParams().scaled(size)
    vals = np.full((len(MODELS), len(p_values), seeds, len(STATS)), np.nan)
    patterns = np.empty((len(MODELS), len(p_values)), dtype=object)
    total = len(p_values) * (3 * seeds + 1)
    with progress_bar(total, "finite-size dsODE vs SNN", unit="points") as bar:
        done = 0
        for j, p in enumerate(p_values):
            params = base.model_copy(update={"p_ei": p})
            for i, model in enumerate(MODELS):
                kinds = []
                for k in range(1 if model == "dsODE" else seeds):
                    s, pattern = run_one(model, params, t_max, seed=1 + k, variance=variance)
                    vals[i, j, k] = [s[name] for name in STATS]
                    kinds.append(pattern)
                    done += 1
                    bar.update(done)
                patterns[i, j] = Counter(kinds).most_common(1)[0][0]
    coords = {"model": list(MODELS), "p_ei": p_values, "seed": np.arange(seeds)}
    out = xr.Dataset(coords=coords)
    units = {"nu_E": "Hz", "nu_I": "Hz", "ssi_E": "1", "mfe_rate": "Hz", "peak": "spikes/ms"}
    for q, name in enumerate(STATS):
        out[name] = (("model", "p_ei", "seed"), vals[..., q], {"units": units[name]})
    out["pattern"] = (("model", "p_ei"), patterns.astype(str))
    out.attrs.update(size=size, n_e=3 * size, n_i=size, t_max=t_max, seeds=seeds,
                     variance=variance)
    return out


def table(res: xr.Dataset) -> str:
    def cell(model: str, p: float) -> str:
        r = res.sel(model=model, p_ei=p)
        parts = []
        for name, fmt in (("nu_E", "{:.1f}"), ("nu_I", "{:.1f}"), ("ssi_E", "{:.2f}")):
            v = r[name].values[np.isfinite(r[name].values)]
            parts.append(fmt.format(v.mean()))
        return "/".join(parts[:2]) + f", {parts[2]}, {str(r['pattern'].values)}"

    def err(model: str, p: float) -> str:
        snn = res.sel(model="SNN", p_ei=p)
        r = res.sel(model=model, p_ei=p)
        e = [100 * (np.nanmean(r[q].values) / np.nanmean(snn[q].values) - 1)
             for q in ("nu_E", "nu_I")]
        return f"{e[0]:+.0f}/{e[1]:+.0f} %"

    head = ("| p_EI | SNN | dsODE | multinomial | authors' noise | error dsODE | "
            "error multinomial | error authors |\n|---|---|---|---|---|---|---|---|\n")
    rows = []
    for p in res.p_ei.values:
        rows.append(f"| {p:g} | " + " | ".join(cell(m, p) for m in MODELS) + " | "
                    + " | ".join(err(m, p) for m in MODELS[1:]) + " |")
    return head + "\n".join(rows) + "\n"


def figure(res: xr.Dataset):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    styles = {"SNN": ("k", "o"), "dsODE": ("C0", "s"), "multinomial": ("C1", "^"),
              "authors": ("C2", "v")}
    for ax, (name, label) in zip(axes, (("nu_E", "ν_E (Hz)"), ("nu_I", "ν_I (Hz)"),
                                        ("ssi_E", "SSI_E")), strict=True):
        for model in MODELS:
            v = res[name].sel(model=model).values
            n = np.sum(np.isfinite(v), axis=1)
            mean = np.nanmean(v, axis=1)
            sem = np.where(n > 1, np.nanstd(v, axis=1, ddof=min(1, max(n.min() - 1, 0)))
                           / np.sqrt(np.maximum(n, 1)), 0.0)
            c, mk = styles[model]
            ax.errorbar(res.p_ei.values, mean, yerr=sem, color=c, marker=mk, ms=4, lw=1,
                        capsize=2, label=model if model != "authors" else "authors' noise")
        ax.set_xlabel("p_EI (probability of an I→E connection)")
        ax.set_ylabel(label)
    axes[0].legend(frameon=False, fontsize=8)
    variance = res.attrs.get("variance", "reference")
    fig.suptitle(f"SNN vs deterministic and finite-size dsODE ({variance} input variance), "
                 f"N_E = {res.attrs['n_e']}, N_I = {res.attrs['n_i']} (mean ± s.e. over "
                 f"{res.attrs['seeds']} seeds)", fontsize=10)
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="N_E = 3 size, N_I = size")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--t-max", type=float, default=1200.0, help="ms per run")
    parser.add_argument("--p-ei", default="0.5,0.6,0.7,0.8,0.85,0.9,0.92,0.95,0.98,1.0")
    parser.add_argument("--variance", default="reference", choices=("reference", "colored",
                                                                    "shot"),
                        help="the reductions' synaptic input variance (simulate_dsode)")
    parser.add_argument("--out", type=Path, default=Path("markov_finite_size"))
    args = parser.parse_args(argv)
    p_values = [float(x) for x in args.p_ei.split(",")]
    res = measure(p_values, args.size, args.seeds, args.t_max, args.variance)
    md = table(res)
    print(md)
    save(res, args.out.with_suffix(".nc"))
    args.out.with_suffix(".md").write_text(md)
    save_png(figure(res), args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.nc')}, .md and .png")


if __name__ == "__main__":
    main()
