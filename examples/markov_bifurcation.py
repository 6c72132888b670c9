"""The p_EI bifurcation diagram of Chang et al.: SNN vs dsODE beat histograms.

For p_EI in [0.5, 1.0] (51 values by default) both models run 1000 ms at the default point
otherwise; each column is the histogram of successive MFE peak-height differences Δm. Writes a
NetCDF file and a PNG. A plain loop with a progress bar (about 1 s per p_EI value on 2 cores).

    python examples/markov_bifurcation.py [--count 51] [--t-max 1000] [--out markov_bifurcation]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spikereduce.io import save
from spikereduce.markov import MarkovParams, bifurcation
from spikereduce.markov.figures import bifurcation_figure
from spikereduce.plot import save_png


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=51, help="number of p_EI values")
    parser.add_argument("--t-max", type=float, default=1000.0, help="ms per point")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--refractory", choices=("code", "clean"), default="code")
    parser.add_argument("--out", type=Path, default=Path("markov_bifurcation"))
    args = parser.parse_args(argv)
    bif = bifurcation(MarkovParams(), 0.5, 1.0, args.count, t_max=args.t_max, seed=args.seed,
                      refractory=args.refractory, progress=True)
    save(bif, args.out.with_suffix(".nc"))
    save_png(bifurcation_figure(bif), args.out.with_suffix(".png"))
    for j, p in enumerate(bif.p_ei.values):
        row = "  ".join(f"{m}: {bif.pattern.values[i, j]:<9} nu_E={bif.nu_E.values[i, j]:5.1f} Hz"
                        for i, m in enumerate(bif.model.values))
        print(f"p_EI = {p:.2f}  {row}")
    print(f"wrote {args.out.with_suffix('.nc')} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
