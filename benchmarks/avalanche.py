"""Benchmarks of the avalanche family (design.md performance targets).

Exact P(s) for a random general W at N = 16 (<= 2 s) and N = 20 (<= 60 s; skipped with --quick),
and 10^6 avalanches of the homogeneous N = 100, alpha = 0.9 network (<= 5 s). Compile time
(first call, cache cold or warm) is reported separately from the steady-state time.

    python benchmarks/avalanche.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import emit, log, timeit

from spikereduce.avalanche import simulate, size_distribution, weights


def random_general_weights(N: int, seed: int = 0, fill: float = 0.5) -> np.ndarray:
    """Random directed, non-symmetric W without self-weights, row sums in [0.5, 0.95]."""
    rng = np.random.default_rng(seed)
    A = (rng.random((N, N)) < fill) * rng.random((N, N))
    np.fill_diagonal(A, 0.0)
    A[np.arange(N), (np.arange(N) + 1) % N] += 0.1  # every row non-empty, strongly connected
    return A / A.sum(axis=1)[:, None] * rng.uniform(0.5, 0.95, N)[:, None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="skip the N = 20 enumeration")
    args = ap.parse_args()

    t0 = time.perf_counter()
    size_distribution(random_general_weights(4))
    compile_s = time.perf_counter() - t0
    emit("avalanche", "exact P(s) kernel first call (compile or cache load)", compile_s, "s")

    W16 = random_general_weights(16)
    r = timeit(lambda: size_distribution(W16), repeats=3)
    emit("avalanche", "exact P(s), general W, N=16", r["median_s"], "s", target=2.0)

    if not args.quick:
        W20 = random_general_weights(20)
        res = {}
        r20 = timeit(lambda: res.setdefault("P", size_distribution(W20)), repeats=3, warmup=0)
        log(f"N=20: sum P = {res['P'].sum():.15f}")
        emit("avalanche", "exact P(s), general W, N=20", r20["median_s"], "s", target=60.0,
             reference=r["median_s"] * 2 ** 4 * (20 / 16) ** 3,
             reference_name="N=16 time scaled by 2^4 (20/16)^3")

    W = weights.homogeneous(100, 0.9)
    t0 = time.perf_counter()
    simulate(W, 1000, seed=0, record_assemblies=False)
    emit("avalanche", "simulate first call (compile or cache load)", time.perf_counter() - t0,
         "s")
    r = timeit(lambda: simulate(W, 1_000_000, seed=1, record_assemblies=False), repeats=3)
    emit("avalanche", "1e6 avalanches, homogeneous N=100 alpha=0.9", r["median_s"], "s",
         target=5.0)
    r2 = timeit(lambda: simulate(W, 1_000_000, seed=1, record_assemblies=True), repeats=1)
    emit("avalanche", "1e6 avalanches with assemblies recorded", r2["median_s"], "s")


if __name__ == "__main__":
    main()
