"""Benchmark of the balanced network (design target: n = 32000, T = 4, dt = 1e-3 in <= 10 s).

The compiled τ-leaping kernel against an in-run vectorised NumPy loop of the same algorithm
(spec balanced.md §1.7: one Poisson vector per receiver population and presynaptic population,
self-edges excluded by the rate, exact decay). The NumPy loop is timed over a shorter horizon
and compared per step, since a full T = 4 run of it takes minutes. Compile time reported apart.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
from _common import emit, log, quick
from scipy.special import ndtr

from spikereduce.balanced import balanced_initial, reference_set, simulate_network
from spikereduce.balanced.params import REFERENCE_START

N = 32_000
T_MAX = 4.0
DT = 1e-3
NUMPY_STEPS = 200


def numpy_loop(params, n, n_steps, dt, y0, seed):
    """The spec's reference algorithm, vectorised over neurons with NumPy (probit intensity)."""
    rng = np.random.default_rng(seed)
    gE, muE, lE, bE, hE, wE = params.population("E")
    gI, muI, lI, bI, hI, wI = params.population("I")
    xE = y0[0] + math.sqrt(y0[2]) * rng.standard_normal(n)
    xI = y0[1] + math.sqrt(y0[3]) * rng.standard_normal(n)
    dE, dI = math.exp(-gE * dt), math.exp(-gI * dt)
    sq = math.sqrt(n)
    for _ in range(n_steps):
        fE = lE * ndtr(bE * (xE - hE))
        fI = lI * ndtr(bI * (xI - hI))
        SE, SI = fE.sum(), fI.sum()
        AE = rng.poisson((SE - fE) * dt)
        BE = rng.poisson(SI * dt, size=n)
        AI = rng.poisson(SE * dt, size=n)
        BI = rng.poisson((SI - fI) * dt)
        xE = xE * dE + muE * (1 - dE) / gE + (wE * AE - wI * BE) / sq
        xI = xI * dI + muI * (1 - dI) / gI + (wE * AI - wI * BI) / sq
    return xE.mean(), xI.mean()


def main() -> None:
    n, t_max = (8000, 1.0) if quick() else (N, T_MAX)
    params = reference_set("B")
    y0 = balanced_initial(params, *REFERENCE_START)
    t0 = time.perf_counter()
    simulate_network(params, 100, 0.01, y0=y0, seed=0)
    compile_s = time.perf_counter() - t0
    log(f"warm-up (compile or cache load): {compile_s:.2f} s")

    times, cpu = [], []
    for rep in range(1 if quick() else 3):
        t0, c0 = time.perf_counter(), time.process_time()
        ds = simulate_network(params, n, t_max, y0=y0, dt=DT, seed=rep, progress=False)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        log(f"run {rep}: {times[-1]:.2f} s (kernel {ds.attrs['wall_time_simulate']:.2f} s); "
            f"m_E(T) {float(ds.m_E[-1]):.4f}, v_I(T) {float(ds.v_I[-1]):.4f}")
    wall = statistics.median(times)
    n_steps = int(round(t_max / DT))
    t0, c0 = time.perf_counter(), time.process_time()
    numpy_loop(params, n, NUMPY_STEPS, DT, y0, 1)
    per_step_np = (time.perf_counter() - t0) / NUMPY_STEPS
    cpu_np = (time.process_time() - c0) / NUMPY_STEPS * n_steps
    per_step = wall / n_steps
    ref_total = per_step_np * n_steps
    log(f"NumPy loop: {per_step_np * 1e3:.2f} ms/step -> {ref_total:.1f} s for T = {t_max:g}; "
        f"compiled {per_step * 1e3:.3f} ms/step")
    emit("balanced", f"network n={n} T={t_max:g} dt={DT:g} wall time", wall, "s",
         target=10.0 if not quick() else None, op="<=", reference=ref_total,
         reference_name=f"vectorised NumPy loop (timed over {NUMPY_STEPS} steps, scaled)",
         ratio=ref_total / wall, compile_s=compile_s,
         neuron_steps_per_s=2 * n * n_steps / wall,
         # CPU seconds are less sensitive than wall time to other jobs on a shared machine.
         cpu_s=min(cpu), reference_cpu_s=cpu_np, cpu_ratio=cpu_np / min(cpu))


if __name__ == "__main__":
    main()
