"""Benchmarks of the markov family (design.md targets): dsODE vs pending-spike SNN.

dsODE 1000 ms at dt = 0.1 ms (<= 0.1 s); SNN N = 400, 1000 ms (<= 0.3 s); SNN and dsODE at
size 800 (N = 3200) and their speed ratio (>= 20x), also for both finite-size variants of
the dsODE; dsODE cost at size 800 over size 60 (independent of N: ratio ~ 1). The first call
(numba compile or cache load) is reported apart.

    python benchmarks/markov.py
"""

from __future__ import annotations

from _common import emit, log, quick, timeit

from spikereduce.markov import MarkovParams, simulate_dsode, simulate_network

T_MAX = 1000.0


def main() -> None:
    repeats = 2 if quick() else 5
    base = MarkovParams()
    big = base.scaled(800)

    log("markov: dsODE, default point, 1000 ms")
    ds = timeit(lambda: simulate_dsode(base, T_MAX, progress=False), repeats=repeats)
    emit("markov", "dsODE 1000 ms (dt = 0.1 ms)", ds["median_s"], "s", target=0.1,
         first_s=ds["first_s"], min_s=ds["min_s"])

    log("markov: SNN N = 400, 1000 ms")
    snn = timeit(lambda: simulate_network(base, T_MAX, seed=1, progress=False),
                 repeats=repeats)
    emit("markov", "SNN N=400, 1000 ms", snn["median_s"], "s", target=0.3,
         first_s=snn["first_s"], min_s=snn["min_s"])

    log("markov: size 800 (N = 3200): SNN vs dsODE")
    snn_big = timeit(lambda: simulate_network(big, T_MAX, seed=1, progress=False),
                     repeats=1 if quick() else 2, warmup=0)
    ds_big = timeit(lambda: simulate_dsode(big, T_MAX, progress=False), repeats=repeats)
    emit("markov", "SNN N=3200 (size 800), 1000 ms", snn_big["median_s"], "s",
         min_s=snn_big["min_s"])
    ratio = snn_big["median_s"] / ds_big["median_s"]
    emit("markov", "dsODE speed-up over SNN at N=3200", ratio, "x", target=20.0, op=">=",
         reference=snn_big["median_s"], reference_name="SNN N=3200 s", ratio=ratio)

    log("markov: finite-size dsODE at size 800 (N = 3200), both variants")
    for variant in ("multinomial", "authors"):
        fs = timeit(lambda v=variant: simulate_dsode(big, T_MAX, finite_size=v, seed=1,
                                                      progress=False), repeats=repeats)
        r = snn_big["median_s"] / fs["median_s"]
        emit("markov", f"finite-size dsODE ({variant}) speed-up over SNN at N=3200", r, "x",
             target=20.0, op=">=", reference=snn_big["median_s"],
             reference_name="SNN N=3200 s", ratio=r, first_s=fs["first_s"])

    log("markov: dsODE cost at size 60 vs size 800")
    ds_small = timeit(lambda: simulate_dsode(base.scaled(60), T_MAX, progress=False),
                      repeats=repeats)
    cost_ratio = ds_big["median_s"] / ds_small["median_s"]
    emit("markov", "dsODE cost N=3200 / N=240", cost_ratio, "x", target=1.5,
         reference=ds_small["median_s"], reference_name="dsODE N=240 s", ratio=cost_ratio)


if __name__ == "__main__":
    main()
