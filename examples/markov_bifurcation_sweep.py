"""The markov p_EI bifurcation diagram as one resumable Dask sweep + its figure.

Every sweep point runs the markov ``bifurcation`` entry at a single p_EI (``count = 1``), i.e. the
SNN and the dsODE side by side; the 51 points are Dask tasks written one by one into a Zarr store,
so stopping this script (Ctrl-C, or a kill) and starting it again only computes what is missing.
The same sweep from the command line:

    spikereduce sweep examples/configs/markov_bifurcation.toml --set run.count=1 \\
        --param run.p_ei_start=0.5:1.0:51 --store markov_bifurcation.zarr

Usage: python examples/markov_bifurcation_sweep.py [--store S.zarr] [--workers W]
       [--scheduler tcp://HOST:8786] [--points 51] [--t-max 1000] [--figure F.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import xarray as xr

from spikereduce.config import load_config
from spikereduce.markov.figures import bifurcation_figure
from spikereduce.plot import save_png
from spikereduce.sweep import open_sweep, run_sweep

CONFIG = Path(__file__).resolve().parent / "configs" / "markov_bifurcation.toml"


def one_p_ei(ds: xr.Dataset) -> xr.Dataset:
    """A point holds a one-value p_ei axis; the sweep's own p_ei_start axis replaces it."""
    return ds.isel(p_ei=0, drop=True)


def diagram(store: Path) -> xr.Dataset:
    """The sweep store as the (model, p_ei, dm_bin) Dataset that bifurcation_figure draws."""
    ds = open_sweep(store, preprocess=one_p_ei)
    return ds.rename(p_ei_start="p_ei").transpose("model", "p_ei", "dm_bin", ...)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, default=Path("markov_bifurcation.zarr"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--points", type=int, default=51)
    ap.add_argument("--t-max", type=float, default=1000.0, help="ms per point")
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args()

    cfg = load_config(CONFIG).with_overrides({"run.count": 1, "run.t_max": args.t_max})
    result = run_sweep(cfg, [f"run.p_ei_start=0.5:1.0:{args.points}"], args.store,
                       workers=args.workers, scheduler=args.scheduler)
    print(f"{result.computed} point(s) computed in {result.wall_s:.1f} s, "
          f"{result.already_done} already in {result.store}")
    bif = diagram(args.store)
    for model in bif.model.values:
        patterns = bif.pattern.sel(model=model).values
        changes = [f"{float(bif.p_ei[j]):.2f}: {patterns[j]}" for j in range(len(patterns))
                   if j == 0 or patterns[j] != patterns[j - 1]]
        print(f"{model}: beat pattern from p_EI = " + ", ".join(changes))
    png = save_png(bifurcation_figure(bif), args.figure or args.store.with_suffix(".png"))
    print(f"figure -> {png}")


if __name__ == "__main__":
    main()
