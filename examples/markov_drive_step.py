"""How the reductions follow a stimulus: SNN against the dsODE after a step in external drive.

At t = ``--step-at`` ms the external kick rate per neuron steps from λ = 7 to 7 + ``--amplitude``
kicks/ms (``drive={"kind": "pulse", "amplitude": A, "start": t0}``, a pulse without a stop). For
p_EI = 0.8 (where the dsODE holds) and 0.95 (where it starts to break), the SNN (``--seeds``
seeds), the deterministic dsODE and the finite-size dsODE (``finite_size="multinomial"``, the same
seeds) run ``--t-max`` ms at the default point otherwise (N_E = 300, N_I = 100).

Prints, per model, ν_E and ν_I before the step (the last 200 ms before it), in its first 50 ms
(the transient) and after it (from 100 ms after the step to the end), and the ratio of the last
to the first (mean over seeds). Writes the table and a figure (E and I rates per neuron in Hz,
a centred 50 ms running mean of the mean over seeds, and λ(t) above).

    python examples/markov_drive_step.py [--amplitude 2] [--step-at 400] [--t-max 900]
        [--seeds 5] [--out markov_drive_step]

About 10 s on two cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from spikereduce.markov import MarkovParams, simulate_dsode, simulate_network
from spikereduce.markov.observables import firing_rates
from spikereduce.plot import save_png

P_EI = (0.8, 0.95)
MODELS = ("SNN", "dsODE", "finite-size dsODE")
WINDOW_MS = 50.0


def runs(model: str, params: MarkovParams, t_max: float, drive: dict, seeds: int) -> list:
    if model == "SNN":
        return [simulate_network(params, t_max, seed=1 + k, drive=drive, progress=False)
                for k in range(seeds)]
    if model == "dsODE":
        return [simulate_dsode(params, t_max, drive=drive, progress=False)]
    return [simulate_dsode(params, t_max, drive=drive, finite_size="multinomial", seed=1 + k,
                           progress=False) for k in range(seeds)]


def running_hz(datasets: list, pop: str, width_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Times and the seed-averaged rate per neuron (Hz) under a centred ``width_ms`` running
    mean, where the window lies wholly inside the run."""
    ds = datasets[0]
    n = int(ds.attrs[f"n_{pop}"])
    k = max(1, int(round(width_ms / float(ds.attrs["dt"]))))
    rate = np.mean([d[f"rate_{pop}"].values for d in datasets], axis=0)
    mean = np.convolve(rate, np.ones(k) / k, mode="valid")
    return ds.time.values[k // 2: k // 2 + mean.size], 1000.0 * mean / n


def measure(amplitude: float, step_at: float, t_max: float, seeds: int):
    drive = {"kind": "pulse", "amplitude": amplitude, "start": step_at}
    results, rows = {}, []
    for p in P_EI:
        params = MarkovParams(p_ei=p)
        for model in MODELS:
            dsets = runs(model, params, t_max, drive, seeds)
            results[p, model] = dsets
            windows = ((step_at - 200.0, step_at), (step_at, step_at + 50.0),
                       (step_at + 100.0, t_max))
            rows.append((p, model, *(np.mean([_window_rates(d, a, b) for d in dsets], axis=0)
                                     for a, b in windows)))
    return results, rows


def _window_rates(ds, t0: float, t1: float) -> tuple[float, float]:
    return firing_rates(ds.sel(time=slice(t0, t1 - 1e-9)), 0.0)


def table(rows: list) -> str:
    out = ["| p_EI | model | ν_E before, first 50 ms, after (Hz) | ratio | "
           "ν_I before, first 50 ms, after (Hz) | ratio |", "|---|---|---|---|---|---|"]
    for p, model, b, tr, a in rows:
        out.append(f"| {p:g} | {model} | {b[0]:.1f}, {tr[0]:.1f}, {a[0]:.1f} | "
                   f"{a[0] / b[0]:.2f} | {b[1]:.1f}, {tr[1]:.1f}, {a[1]:.1f} | "
                   f"{a[1] / b[1]:.2f} |")
    return "\n".join(out) + "\n"


def figure(results: dict, step_at: float, t_max: float, amplitude: float, seeds: int):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(P_EI), figsize=(5.5 * len(P_EI), 6.6), sharex=True,
                             gridspec_kw={"height_ratios": [0.6, 1.5, 1.5]},
                             constrained_layout=True)
    colours = {"SNN": "k", "dsODE": "C0", "finite-size dsODE": "C1"}
    for col, p in enumerate(P_EI):
        lam = results[p, "dsODE"][0]
        axes[0, col].plot(lam.time, lam["lam"], color="0.3")
        axes[0, col].set_ylabel("λ (kicks/ms)")
        axes[0, col].set_title(f"p_EI = {p:g}")
        for row, pop in ((1, "E"), (2, "I")):
            ax = axes[row, col]
            for model in MODELS:
                t, r = running_hz(results[p, model], pop, WINDOW_MS)
                n = len(results[p, model])
                label = model + (f" (mean of {n} seeds)" if n > 1 else "")
                ax.plot(t, r, color=colours[model], lw=1.2, label=label)
            ax.axvline(step_at, color="0.6", ls=":", lw=0.8)
            ax.set_ylabel(f"ν_{pop} (Hz, {WINDOW_MS:g} ms mean)")
        axes[2, col].set_xlabel("t (ms)")
    axes[1, 0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"Step of +{amplitude:g} kicks/ms at t = {step_at:g} ms: SNN vs dsODE "
                 f"(N_E = 300, N_I = 100; {seeds} seeds)", fontsize=10)
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amplitude", type=float, default=2.0, help="step size (kicks/ms)")
    parser.add_argument("--step-at", type=float, default=400.0, help="step time (ms)")
    parser.add_argument("--t-max", type=float, default=900.0, help="ms per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("markov_drive_step"))
    args = parser.parse_args(argv)
    if not 200.0 <= args.step_at <= args.t_max - 200.0:
        parser.error("--step-at must leave 200 ms on either side within --t-max")
    results, rows = measure(args.amplitude, args.step_at, args.t_max, args.seeds)
    md = table(rows)
    print(md)
    args.out.with_suffix(".md").write_text(md)
    save_png(figure(results, args.step_at, args.t_max, args.amplitude, args.seeds),
             args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.md')} and .png")


if __name__ == "__main__":
    main()
