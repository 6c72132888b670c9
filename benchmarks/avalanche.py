"""Benchmarks of the avalanche family (design.md performance targets).

Exact P(s) for a random general W at N = 16 (<= 2 s), N = 20 and N = 26 (<= 60 s; both skipped
with --quick), 10^6 avalanches of the homogeneous N = 100, alpha = 0.9 network (<= 5 s), and the
exact modular theory at K = 3, N = (100, 100, 10) (<= 10 ms), K = 2, N = (1000, 1000)
(<= 0.2 s), K = 4, N = (40, 40, 40, 40) (<= 1 s) and K = 2, N = (5000, 5000) (<= 10 s), each
against a plain Python enumeration of the same formula timed in the same run where that finishes
in about a minute.
Compile time (first call, cache cold or warm) is reported separately from the steady-state time.

    python benchmarks/avalanche.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import emit, log, quick, timeit

from spikereduce.avalanche import modular, simulate, size_distribution, weights


def random_general_weights(N: int, seed: int = 0, fill: float = 0.5) -> np.ndarray:
    """Random directed, non-symmetric W without self-weights, row sums in [0.5, 0.95]."""
    rng = np.random.default_rng(seed)
    A = (rng.random((N, N)) < fill) * rng.random((N, N))
    np.fill_diagonal(A, 0.0)
    A[np.arange(N), (np.arange(N) + 1) % N] += 0.1  # every row non-empty, strongly connected
    return A / A.sum(axis=1)[:, None] * rng.uniform(0.5, 0.95, N)[:, None]


def python_modular(sizes, W, p=None) -> np.ndarray:
    """The modular formula enumerated in plain Python (itertools + numpy determinants), the
    reference the compiled kernel is measured against."""
    import itertools
    import math

    sizes = list(sizes)
    W = np.asarray(W, dtype=float)
    K = len(sizes)
    p = np.array(sizes) / sum(sizes) if p is None else np.asarray(p)

    def log_volume(m, x):
        act = [k for k in range(K) if m[k] > 0]
        if not act:
            return 0.0, 1.0
        A = np.diag([x[k] for k in act]) - W[np.ix_(act, act)] * np.array([m[k] for k in act])
        sign, ld = np.linalg.slogdet(A)
        if any(x[k] <= 0 for k in act if m[k] > 1):
            return -math.inf, 0.0
        return ld + sum((m[k] - 1) * math.log(x[k]) for k in act if m[k] > 1), sign

    logs = {}
    for n in itertools.product(*(range(N + 1) for N in sizes)):
        if sum(n) == 0:
            continue
        U = W @ np.array(n, dtype=float)
        lo, so = log_volume([N - q for N, q in zip(sizes, n, strict=True)], 1.0 - U)
        if so <= 0:
            continue
        base = lo + sum(math.lgamma(N + 1) - math.lgamma(q + 1) - math.lgamma(N - q + 1)
                        for N, q in zip(sizes, n, strict=True))
        for s in range(K):
            if n[s] == 0 or p[s] == 0:
                continue
            m = list(n)
            m[s] -= 1
            li, si = log_volume(m, U)
            if si <= 0:
                continue
            logs.setdefault(sum(n), []).append(base + math.log(p[s] / sizes[s] * n[s]) + li)
    top = max(max(v) for v in logs.values())
    P = np.zeros(sum(sizes))
    for m, v in logs.items():
        P[m - 1] = sum(math.exp(x - top) for x in v)
    return P / P.sum()


MODULAR_CASES = [
    ("K=3, N=(100,100,10)", (100, 100, 10),
     [[0.0081, 0, 0], [0, 0.0081, 0.0095], [0, 0, 0.0684]], 0.01, True),
    ("K=2, N=(1000,1000)", (1000, 1000), [[0.0004, 0.0001], [0.0001, 0.0004]], 0.2, False),
    ("K=4, N=(40,40,40,40)", (40, 40, 40, 40), np.full((4, 4), 0.005), 1.0, False),
    ("K=2, N=(5000,5000)", (5000, 5000), [[0.00008, 0.00002], [0.00002, 0.00008]], 10.0, False),
]


def bench_modular(quick: bool) -> None:
    t0 = time.perf_counter()
    modular.size_distribution((3, 2), [[0.1, 0.05], [0.05, 0.1]])
    emit("avalanche", "modular theory first call (compile or cache load)",
         time.perf_counter() - t0, "s")
    for name, sizes, W, target, with_python in MODULAR_CASES:
        if quick and sum(sizes) > 2000:
            continue
        res: dict = {}
        r = timeit(lambda sizes=sizes, W=W, res=res: res.setdefault(
            "P", modular.size_distribution(sizes, W)), repeats=3)
        P = res["P"]
        log(f"{name}: finite {bool(np.isfinite(P).all())}, |sum P - 1| = {abs(P.sum() - 1):.1e}")
        ref = None
        if with_python and not quick:
            t1 = time.perf_counter()
            Q = python_modular(sizes, W)
            ref = time.perf_counter() - t1
            log(f"{name}: plain Python {ref:.1f} s, max |difference| {np.abs(P - Q).max():.1e}")
        emit("avalanche", f"exact modular P(s), {name}", r["median_s"], "s", target=target,
             reference=ref, reference_name="plain Python enumeration of the same formula",
             ratio=None if ref is None else ref / r["median_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="skip the N = 20 and N = 26 enumerations")
    args = ap.parse_args()
    args.quick = args.quick or quick()  # run.py --quick sets BENCH_QUICK
    bench_modular(args.quick)

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
        emit("avalanche", "exact P(s), general W, N=20", r20["median_s"], "s",
             reference=r["median_s"] * 2 ** 4 * (20 / 16) ** 3,
             reference_name="N=16 time scaled by 2^4 (20/16)^3")
        W26 = random_general_weights(26)
        t0 = time.perf_counter()
        P26 = size_distribution(W26)
        w26 = time.perf_counter() - t0
        log(f"N=26: sum P = {P26.sum():.15f}")
        emit("avalanche", "exact P(s), general W, N=26 (one run)", w26, "s", target=60.0,
             reference=r20["median_s"] * 2 ** 6 * (26 / 20) ** 3,
             reference_name="N=20 time scaled by 2^6 (26/20)^3")

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
