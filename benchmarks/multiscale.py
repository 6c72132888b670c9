"""Benchmark of the nlif multi-scale solver against pure particles on spec T7 (design target).

T7: b = 1.5, initial N(1.5, 0.005), n = 1e5, T = 3, §3.2 defaults. Three solvers in this
process, after a small warm-up run that compiles the kernels (reported separately), interleaved
over the same seeds: pure particles (dt 1e-3, bridge), the multi-scale solver on the spec's
macro grid (h = 0.01, dt_macro = 1e-4) and on the coarse grid h = 0.025 (dt_macro = h^2). Prints
each multi-scale speed-up over pure particles (target >= 10x) and the largest relative
difference of the mean cumulative spikes per neuron at t = 0.2, 1, 3 (target <= 1 %), with the
standard error of that difference (single runs scatter by ~1 % after the MFE).
Usage: python benchmarks/multiscale.py [n] [seeds].
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import emit, log

from spikereduce.nlif.fokker_planck import gaussian_density
from spikereduce.nlif.multiscale import simulate_multiscale
from spikereduce.nlif.params import NLIFParams
from spikereduce.nlif.particles import simulate_particles

N = 100_000
T_MAX = 3.0
SEEDS = 16
CHECK_TIMES = (0.2, 1.0, 3.0)
# (label, macro grid h); dt_macro is the solver's default h^2 min(1, 1/a).
GRIDS = (("reference grid h = 0.01", 0.01), ("default call (macro grid h = 0.025)", 0.025))


def _spikes(ds) -> list[float]:
    return [float(np.interp(t, ds.time, ds.cumulative_spikes)) for t in CHECK_TIMES]


def main(n: int = N, seeds: int = SEEDS) -> None:
    params = NLIFParams(b=1.5)
    p0 = gaussian_density(1.5, 0.005)
    t0 = time.perf_counter()
    for _, h in GRIDS:
        simulate_multiscale(params, 1000, 0.3, p0=p0, seed=0, h=h)
    simulate_particles(params, 1000, 0.05, p0=p0, dt=1e-3, seed=0)
    compile_s = time.perf_counter() - t0
    log(f"warm-up (compile or cache load): {compile_s:.2f} s")

    wall = {"particles": 0.0, **{label: 0.0 for label, _ in GRIDS}}
    spikes: dict[str, list[list[float]]] = {k: [] for k in wall}
    modes: dict[str, list[dict[str, float]]] = {label: [] for label, _ in GRIDS}
    for seed in range(seeds):
        t0 = time.perf_counter()
        ref = simulate_particles(params, n, T_MAX, p0=p0, dt=1e-3, seed=seed, bridge=True)
        wall["particles"] += time.perf_counter() - t0
        spikes["particles"].append(_spikes(ref))
        for label, h in GRIDS:
            t0 = time.perf_counter()
            ms = simulate_multiscale(params, n, T_MAX, p0=p0, seed=seed, h=h)
            wall[label] += time.perf_counter() - t0
            spikes[label].append(_spikes(ms))
            modes[label].append({k: ms.attrs[f"wall_time_{k}"]
                                 for k in ("macro", "micro", "switch")})
            switches = list(zip(ms.switch_direction.values.tolist(),
                                np.round(ms.switch_time.values, 4).tolist(), strict=True))
            log(f"seed {seed}, {label}: switches {switches}; "
                f"spikes {np.round(spikes[label][-1], 4)}")
        log(f"seed {seed}, particles: spikes {np.round(spikes['particles'][-1], 4)}")

    ref_s = np.asarray(spikes["particles"])
    ref_mean = ref_s.mean(axis=0)
    t_ref = wall["particles"] / seeds
    log(f"pure particles: {t_ref:.3f} s per run; mean spikes {np.round(ref_mean, 4)} "
        "(spec T7 single run: 1.228, 1.6975, 2.2906)")
    for label, h in GRIDS:
        ms_s = np.asarray(spikes[label])
        ms_mean = ms_s.mean(axis=0)
        errors = np.abs(ms_mean - ref_mean) / ref_mean
        # standard error of the relative difference of the two means, at each check time
        se = np.sqrt(ms_s.var(axis=0, ddof=1) / seeds + ref_s.var(axis=0, ddof=1) / seeds)
        se_rel = float((se / ref_mean)[int(np.argmax(errors))])
        t_ms = wall[label] / seeds
        per_mode = {k: float(np.mean([m[k] for m in modes[label]])) for k in modes[label][0]}
        log(f"{label}: {t_ms:.3f} s per run ("
            + ", ".join(f"{k} {v:.3f} s" for k, v in per_mode.items())
            + f"), speed-up {t_ref / t_ms:.1f}x, mean spikes {np.round(ms_mean, 4)}, "
            f"max error {100 * errors.max():.2f} % (SE {100 * se_rel:.2f} %)")
        tag = f"T7 ({label})"
        emit("multiscale", f"{tag} multi-scale wall time per run", t_ms, "s", reference=t_ref,
             reference_name="pure particles wall time per run (s)", n=n, h=h, seeds=seeds,
             compile_s=compile_s, **{f"wall_{k}_s": v for k, v in per_mode.items()})
        emit("multiscale", f"{tag} speed-up over pure particles", t_ref / t_ms, "x",
             target=10.0, op=">=", reference=t_ref, reference_name="pure particles wall time (s)",
             ratio=t_ref / t_ms, n=n, h=h, seeds=seeds)
        emit("multiscale", f"{tag} max rel. error of mean cumulative spikes (t = 0.2, 1, 3)",
             float(errors.max()), "", target=0.01, op="<=", n=n, h=h, seeds=seeds,
             standard_error=se_rel, multiscale=ms_mean.round(5).tolist(),
             particles=ref_mean.round(5).tolist())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N,
         int(sys.argv[2]) if len(sys.argv) > 2 else SEEDS)
