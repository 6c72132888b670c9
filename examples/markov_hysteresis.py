"""Where the dsODE breaks at p_EI → 1: two attractors, and networks that switch between them.

The deterministic dsODE is followed through p_EI up from 0.85 (from all neurons at reset) and
back down from 1.0, each run starting from the last state of the previous one
(``spikereduce.markov.continuation``), on the 2-unit voltage grid. The SNN runs at the size-scaled
sizes N = 400, 1600 and 6400 (N_E = 3 size, N_I = size, S × 100/size; ``--seeds`` seeds at the two
smaller sizes, one at 6400) at a few values of p_EI. Prints a table of ν_E (Hz) and SSI_E on both
dsODE branches and for each network, and writes the table and a figure.

    python examples/markov_hysteresis.py [--seeds 3] [--t-max 1200] [--out markov_hysteresis]

About 1.5 min on two cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

from spikereduce.markov import MarkovParams, continuation, simulate_network
from spikereduce.markov.figures import continuation_figure
from spikereduce.markov.observables import summary
from spikereduce.plot import save_png
from spikereduce.progress import progress_bar

GRID = {"v_bin": 2.0, "v_bin_min": -20}
SWEEP = [round(x, 2) for x in np.arange(0.85, 1.0001, 0.01)]
NETWORK_P = [0.85, 0.9, 0.95, 0.98, 1.0]
SIZES = (100, 400, 1600)  # N = 400, 1600, 6400


def networks(seeds: int, t_max: float) -> dict[str, xr.Dataset]:
    out = {}
    runs = [(size, 1 if size == SIZES[-1] else seeds) for size in SIZES]
    with progress_bar(sum(n for _, n in runs) * len(NETWORK_P), "SNN points",
                      unit="runs") as bar:
        for size, n_seeds in runs:
            vals = np.zeros((len(NETWORK_P), n_seeds, 2))
            for j, p in enumerate(NETWORK_P):
                params = MarkovParams(p_ei=p).scaled(size)
                for k in range(n_seeds):
                    s = summary(simulate_network(params, t_max, seed=1 + k, progress=False))
                    vals[j, k] = s["nu_E"], s["ssi_E"]
                    bar.advance()
            se = (vals.std(axis=1, ddof=1) / np.sqrt(n_seeds) if n_seeds > 1
                  else np.zeros((len(NETWORK_P), 2)))
            label = f"SNN, N = {4 * size}" + (f" ({n_seeds} seeds)" if n_seeds > 1 else "")
            out[label] = xr.Dataset(
                {"nu_E": ("p_ei", vals[:, :, 0].mean(axis=1)),
                 "ssi_E": ("p_ei", vals[:, :, 1].mean(axis=1)),
                 "nu_E_se": ("p_ei", se[:, 0]), "ssi_E_se": ("p_ei", se[:, 1])},
                coords={"p_ei": NETWORK_P})
    return out


def table(cont: xr.Dataset, nets: dict[str, xr.Dataset]) -> str:
    head = ["p_EI", "dsODE up", "dsODE down", *nets]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in NETWORK_P:
        cells = [f"{p:g}"]
        for sweep in ("up", "down"):
            c = cont.sel(sweep=sweep, p_ei=p)
            cells.append(f"{float(c.nu_E):.1f}, {float(c.ssi_E):.2f}")
        for net in nets.values():
            n = net.sel(p_ei=p)
            cells.append(f"{float(n.nu_E):.1f}, {float(n.ssi_E):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--t-max", type=float, default=1200.0, help="ms per run")
    parser.add_argument("--out", type=Path, default=Path("markov_hysteresis"))
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (for the standard errors)")
    cont = continuation(MarkovParams(**GRID), values=SWEEP, t_max=args.t_max)
    nets = networks(args.seeds, args.t_max)
    md = table(cont, nets)
    print(md)
    args.out.with_suffix(".md").write_text(md)
    fig = continuation_figure(cont, nets)
    fig.suptitle("dsODE attractors followed up and down in p_EI (2-unit voltage bins) and the "
                 "SNN at three sizes (ν_E, SSI_E: mean ± s.e.)", fontsize=10)
    save_png(fig, args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.md')} and .png")


if __name__ == "__main__":
    main()
