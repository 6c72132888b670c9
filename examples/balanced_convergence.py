"""Network -> limit convergence of the balanced family , as a script.

Runs the reference study (set B, replicates 32/16/8/4 at n = 500/2000/8000/32000, T = 4,
dt = 1e-3; about a minute on one core), prints the RMS table and fitted slopes next to the
reference values, and writes the log-log figure and the study Dataset.

    python examples/balanced_convergence.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from spikereduce.balanced import balanced_initial, reference_set
from spikereduce.balanced.convergence import SPEC_REPLICATES, convergence_study
from spikereduce.balanced.figures import convergence_figure
from spikereduce.balanced.params import REFERENCE_START
from spikereduce.io import save
from spikereduce.plot import save_png

SPEC_RMS = {500: (0.0416, 0.0524, 0.0155, 0.0278), 2000: (0.0204, 0.0256, 0.0069, 0.0126),
            8000: (0.0112, 0.0133, 0.0034, 0.0060), 32000: (0.0061, 0.0070, 0.0017, 0.0026)}
KEYS = ("m_E", "m_I", "v_E", "v_I")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 500, 2000, 8000 with 8/4/2 runs")
    ap.add_argument("--out", type=Path, default=Path("balanced-convergence"))
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    replicates = {500: 8, 2000: 4, 8000: 2} if args.quick else SPEC_REPLICATES
    params = reference_set("B")
    y0 = balanced_initial(params, *REFERENCE_START)
    t0 = time.perf_counter()
    study = convergence_study(params, y0, replicates=replicates, seed=args.seed, progress=True)
    print(f"{sum(replicates.values())} networks in {time.perf_counter() - t0:.1f} s")
    print("   n  reps | RMS m_E  m_I     v_E     v_I    | reference")
    for n in study["n"].values:
        row = [float(study[f"rms_{k}"].sel(n=n)) for k in KEYS]
        spec = SPEC_RMS.get(int(n))
        print(f"{n:6d} {int(study['replicates'].sel(n=n)):4d} | "
              + " ".join(f"{v:.4f}" for v in row)
              + (" | " + " ".join(f"{v:.4f}" for v in spec) if spec else ""))
    print("slopes: " + ", ".join(f"{k} {study.attrs[f'slope_{k}']:.2f}" for k in KEYS)
          + f"; pooled {study.attrs['slope_pooled']:.2f} (reference -0.46, -0.48, -0.53, -0.57; "
          "pooled -0.49)")
    gap = np.abs(study["drift"].mean("replicate") - study["limit_drift"]).sel(time=[0.5, 1, 2])
    print("integrated-drift gap at t = 0.5, 1, 2:")
    for n in study["n"].values:
        print(f"{n:6d}: " + " ".join(f"{v:.3f}" for v in gap.sel(n=n).values))
    args.out.mkdir(parents=True, exist_ok=True)
    save(study, args.out / "balanced_convergence.nc")
    print(f"figure -> {save_png(convergence_figure(study), args.out / 'balanced_convergence.png')}")


if __name__ == "__main__":
    main()
