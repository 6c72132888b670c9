"""Benchmark of the nlif multi-scale solver against pure particles on spec T7 (design target).

T7: b = 1.5, initial N(1.5, 0.005), n = 1e5, T = 3, §3.2 defaults. Both runs in this process,
after a small warm-up run that compiles the kernels (reported separately). Prints the speed-up
(target >= 10x) and the largest relative difference of the cumulative spikes per neuron at
t = 0.2, 1, 3 (target <= 1 %).
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
CHECK_TIMES = (0.2, 1.0, 3.0)


def main(n: int = N, seed: int = 1) -> None:
    params = NLIFParams(b=1.5)
    p0 = gaussian_density(1.5, 0.005)
    t0 = time.perf_counter()
    simulate_multiscale(params, 1000, 0.3, p0=p0, seed=seed)
    simulate_particles(params, 1000, 0.05, p0=p0, dt=1e-3, seed=seed)
    compile_s = time.perf_counter() - t0
    log(f"warm-up (compile or cache load): {compile_s:.2f} s")

    t0 = time.perf_counter()
    ms = simulate_multiscale(params, n, T_MAX, p0=p0, seed=seed)
    t_ms = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = simulate_particles(params, n, T_MAX, p0=p0, dt=1e-3, seed=seed, bridge=True)
    t_ref = time.perf_counter() - t0

    errors = []
    for tt in CHECK_TIMES:
        a = float(np.interp(tt, ms.time, ms.cumulative_spikes))
        b = float(np.interp(tt, ref.time, ref.cumulative_spikes))
        errors.append(abs(a - b) / b)
        log(f"t = {tt:g}: multi-scale {a:.4f}  particles {b:.4f}  (spec T7: "
            f"{ {0.2: '1.2335 / 1.228', 1.0: '1.6969 / 1.6975', 3.0: '2.2896 / 2.2906'}[tt]})")
    switches = list(zip(ms.switch_direction.values.tolist(),
                        np.round(ms.switch_time.values, 4).tolist(), strict=True))
    log(f"switches: {switches}; wall time per mode: "
        f"macro {ms.attrs['wall_time_macro']:.3f} s, micro {ms.attrs['wall_time_micro']:.3f} s, "
        f"switch {ms.attrs['wall_time_switch']:.3f} s")
    emit("multiscale", "T7 multi-scale wall time", t_ms, "s", reference=t_ref,
         reference_name="pure particles", n=n, compile_s=compile_s)
    emit("multiscale", "T7 speed-up over pure particles", t_ref / t_ms, "x", target=10.0,
         op=">=", reference=t_ref, reference_name="pure particles wall time (s)",
         ratio=t_ref / t_ms, n=n)
    emit("multiscale", "T7 max rel. error of cumulative spikes (t = 0.2, 1, 3)", max(errors), "",
         target=0.01, op="<=", switches=switches, n=n)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N)
