"""Anchor comparison: network B of ../shared/anchors/baselines.md in Brian2, NEST and spikereduce.

Runs each simulator in its own process, alternating between them over several repeats (one seed
per repeat, the same for all), and prints median simulation and whole-process times, their ratios,
and the firing rates with their statistical error. Not part of ``make bench`` or CI: Brian2 and
NEST live in their own virtual environments (``../shared/anchors/bench/setup_venvs.sh``).

    .venv/bin/python benchmarks/anchors.py [--anchors /tmp/anchors] [--reps 5]
        [--configs brian2,nest,numpy,spikereduce,spikereduce_cold,spikereduce_cascade]

Network B, dimensionless (tau = 20 ms): dV = (I_ext - V) dt + sigma dW, V_F = 2, V_R = 1, every
spike adds b/N to every other neuron, N = 2000, b = 0.5, I_ext = 1, sigma = 1, V(0) ~ U[0, 2),
1 s = 50 tau at dt = 0.1 ms = 0.005 tau, all spikes recorded. In the nlif spec's notation
sqrt(2a) = sigma, so a = sigma^2 / 2 = 0.5 and current = I_ext.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T_START = time.perf_counter()

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_BENCH = (REPO / ".." / "shared" / "anchors" / "bench").resolve()
TAU_MS, DT_MS = 20.0, 0.1

# label: (interpreter, script or "worker", extra arguments, environment, description).
# "{repo}" is this repository's virtual environment; the anchors' venvs are under --anchors.
CONFIGS: dict[str, tuple[str, str, list[str], dict[str, str], str]] = {
    "brian2": ("brian2", "nnlif_brian2.py", ["--threads", "0"], {},
               "Brian2 C++ standalone, 1 thread, cold compile (fresh build dir)"),
    "brian2_omp2": ("brian2", "nnlif_brian2.py", ["--threads", "2"], {},
                    "Brian2 C++ standalone, OpenMP 2 threads, cold compile"),
    "brian2_warm": ("brian2", "nnlif_brian2.py", ["--threads", "0", "--workdir", "{b2_warm}"],
                    {"cache": "warm"},
                    "Brian2 C++ standalone, 1 thread, build dir reused (warm compile)"),
    "nest": ("nest", "nnlif_nest.py", ["--threads", "1"], {}, "NEST iaf_psc_delta, 1 thread"),
    "nest_t2": ("nest", "nnlif_nest.py", ["--threads", "2"], {}, "NEST, 2 threads"),
    "numpy": ("{repo}", "nnlif_numpy.py", ["--cascade", "none"], {},
              "vectorised NumPy loop (shared reference script), no cascades"),
    "spikereduce": ("{repo}", "worker", ["--no-cascade", "--no-bridge"], {"cache": "warm"},
                    "spikereduce particles, anchors' conventions (cascade=False, bridge=False), "
                    "warm numba cache"),
    "spikereduce_cold": ("{repo}", "worker", ["--no-cascade", "--no-bridge"], {"cache": "cold"},
                         "same, empty numba cache (compiles in the process)"),
    "spikereduce_cascade": ("{repo}", "worker", ["--cascade", "--no-bridge"], {"cache": "warm"},
                            "spikereduce, same-step cascades resolved (cascade=True), no bridge"),
    "spikereduce_bridge": ("{repo}", "worker", ["--cascade", "--bridge"], {"cache": "warm"},
                           "spikereduce library defaults (cascade=True, bridge=True)"),
}
DEFAULT_CONFIGS = "brian2,nest,numpy,spikereduce,spikereduce_cold,spikereduce_cascade"
REFERENCES = ("brian2", "brian2_omp2", "brian2_warm", "nest", "nest_t2", "numpy")


# ---------------------------------------------------------------------------------------------
# the spikereduce side: same command-line and RESULT line as the shared anchor scripts


def worker(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="anchors.py --worker")
    ap.add_argument("--N", type=int, default=2000)
    ap.add_argument("--b", type=float, default=0.5)
    ap.add_argument("--I_ext", type=float, default=1.0)
    ap.add_argument("--sigma", type=float, default=1.0)
    ap.add_argument("--simtime", type=float, default=1000.0)  # ms
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--cascade", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--bridge", action=argparse.BooleanOptionalAction, default=False)
    args = ap.parse_args(argv)

    import numpy as np

    import spikereduce
    from spikereduce import nlif

    t_imported = time.perf_counter()
    # Which kernel version ran: the sources can change between the runs of one comparison.
    digest = hashlib.sha1()
    for src in sorted(Path(nlif.__file__).parent.glob("*.py")):
        digest.update(src.read_bytes())
    dt = DT_MS / TAU_MS
    t_max = args.simtime / TAU_MS
    params = nlif.NLIFParams(b=args.b, a=args.sigma ** 2 / 2.0, v_f=2.0, v_r=1.0,
                             current=args.I_ext)
    # V(0) ~ U[0, 2) drawn exactly as the anchor scripts draw it.
    p0 = np.random.default_rng(args.seed).uniform(0.0, 2.0, args.N)
    kw = {"dt": dt, "cascade": args.cascade, "bridge": args.bridge}
    t0 = time.perf_counter()
    # A tiny run first: numba compiles (or loads its cache) here, so the timed run is the loop.
    first = nlif.simulate_particles(params, 8, 10 * dt, p0=p0[:8], seed=0, n_record=8, **kw)
    t1, c1 = time.perf_counter(), time.process_time()
    # Every spike of every neuron is recorded, as the anchors do.
    ds = nlif.simulate_particles(params, args.N, t_max, p0=p0, seed=args.seed, n_record=args.N,
                                 **kw)
    t2, c2 = time.perf_counter(), time.process_time()
    if ds.attrs.get("spike_record_overflow", 0):
        raise RuntimeError("spike record overflowed")

    cum = np.asarray(ds["cumulative_spikes"].values, float)
    time_ax = np.asarray(ds["time"].values, float)
    n_spikes = int(ds.attrs["spikes_total"])
    if n_spikes != ds["spike_time"].size:
        raise RuntimeError(f"{n_spikes} spikes counted but {ds['spike_time'].size} recorded")
    half = int(np.searchsorted(time_ax, t_max / 2.0))
    last_half = (cum[-1] - cum[half]) * args.N if half < cum.size else float("nan")
    T = args.simtime / 1000.0
    attrs = ds.attrs
    sim_s = attrs.get("wall_time_simulate", t2 - t1)
    res = {"sim": "spikereduce", "net": "B_nnlif", "version": spikereduce.__version__,
           "source_sha1": digest.hexdigest()[:12],
           "cascade": args.cascade, "bridge": args.bridge, "threads": 1, "N": args.N,
           "b": args.b, "I_ext": args.I_ext, "import_s": t_imported - T_START,
           "build_s": 0.0, "compile_s": t1 - t0, "call_s": t2 - t1, "call_cpu_s": c2 - c1,
           "sim_s": float(sim_s),
           "phases": {k: float(v) for k, v in attrs.items() if k.startswith("wall_time_")},
           "first_call_compile_s": float(first.attrs.get("wall_time_compile", math.nan)),
           "n_spikes": n_spikes, "rate_hz": n_spikes / args.N / T,
           "rate_per_tau": n_spikes / args.N / t_max,
           "rate_last_half_hz": float(last_half) / args.N / (T / 2),
           "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "total_in_script_s": time.perf_counter() - T_START}
    print("RESULT " + json.dumps(res), flush=True)


# ---------------------------------------------------------------------------------------------
# the driver


def _busy_jiffies() -> int:
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    return sum(vals[:3]) + sum(vals[5:8])  # user nice system + irq softirq steal


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_one(label: str, args: argparse.Namespace, seed: int, warm_cache: str) -> dict[str, Any]:
    venv, script, extra, opts, _ = CONFIGS[label]
    py = sys.executable if venv == "{repo}" else str(Path(args.anchors) / venv / "bin" / "python")
    net = ["--N", str(args.N), "--simtime", str(args.simtime), "--seed", str(seed)]
    if script == "worker":
        cmd = [py, str(Path(__file__).resolve()), "--worker", *net, *extra]
    else:
        cmd = [py, str(args.shared / script), *net,
               *[x.replace("{b2_warm}", os.path.join(warm_cache, "brian2")) for x in extra]]
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"),
                "NUMBA_NUM_THREADS": str(args.numba_threads)})
    cold_dir = None
    if opts.get("cache") == "cold":
        cold_dir = tempfile.mkdtemp(prefix="sr_numba_cold_")
        env["NUMBA_CACHE_DIR"] = cold_dir
    elif opts.get("cache") == "warm":
        env["NUMBA_CACHE_DIR"] = warm_cache
    workdir = tempfile.mkdtemp(prefix="anchor_run_")
    load = os.getloadavg()[0]
    j0, c0, t0 = _busy_jiffies(), _children_cpu(), time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, env=env,
                           timeout=args.limit)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = "timeout", exc.stdout or "", exc.stderr or ""
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - c0
    busy = (_busy_jiffies() - j0) / os.sysconf("SC_CLK_TCK")
    shutil.rmtree(workdir, ignore_errors=True)
    if cold_dir:
        shutil.rmtree(cold_dir, ignore_errors=True)
    row = {"label": label, "seed": seed, "rc": rc, "process_wall_s": wall, "cpu_s": cpu,
           "load1_before": load, "foreign_cores": max(0.0, busy - cpu) / wall}
    for line in (out if isinstance(out, str) else out.decode()).splitlines():
        if line.startswith("RESULT "):
            row["result"] = json.loads(line[len("RESULT "):])
    if "result" not in row:
        tail = err if isinstance(err, str) else err.decode()
        row["stderr_tail"] = tail[-1500:]
    return row


def sim_cpu_s(result: dict[str, Any]) -> float:
    """CPU seconds of the simulation loop where the run reports them, else NaN.

    Brian2 standalone without OpenMP times its loop with std::clock(), i.e. process CPU time, so
    its ``sim_s`` is CPU time (with OpenMP it is omp_get_wtime, wall time). NEST and the NumPy
    script time wall clock only; spikereduce reports both.
    """
    if result.get("sim") == "spikereduce":
        return float(result.get("call_cpu_s", math.nan))
    if result.get("sim") == "brian2" and result.get("device") == "cpp_standalone" \
            and result.get("threads") == 0:
        return float(result["sim_s"])
    return math.nan


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def _mean_se(xs: list[float]) -> tuple[float, float]:
    if not xs:
        return math.nan, math.nan
    if len(xs) < 2:
        return xs[0], math.nan
    return statistics.fmean(xs), statistics.stdev(xs) / math.sqrt(len(xs))


def summarize(rows: list[dict[str, Any]], labels: list[str]) -> tuple[str, dict[str, Any]]:
    ok = {lab: [r for r in rows if r["label"] == lab and "result" in r] for lab in labels}
    stats: dict[str, Any] = {}
    lines = ["| config | runs | process wall s | process CPU s | import s | build s | compile s "
             "| sim s | sim CPU s | spikes (median) | rate Hz (mean ± SE) | foreign cores (max) "
             "| load (median) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for lab in labels:
        rs = ok[lab]
        res = [r["result"] for r in rs]
        mean, se = _mean_se([x["rate_hz"] for x in res])
        s = {"runs": len(rs), "failed": sum(1 for r in rows if r["label"] == lab) - len(rs),
             "process_wall_s": _med([r["process_wall_s"] for r in rs]),
             # user + sys of the process and its children (g++ for Brian2): unlike wall time,
             # hardly affected by other processes competing for the cores.
             "process_cpu_s": _med([r.get("cpu_s", math.nan) for r in rs]),
             "import_s": _med([x.get("import_s", math.nan) for x in res]),
             # NEST: create + connect + Prepare; Brian2 standalone: Python set-up + the binary's
             # own set-up (its run time minus the main loop), as in baselines.md.
             "build_s": _med([x.get("build_s", 0.0) + x.get("prepare_s", 0.0)
                              + (x["binary_s"] - x["sim_s"] if "binary_s" in x else 0.0)
                              for x in res]),
             "compile_s": _med([x.get("compile_s", math.nan) for x in res]),
             "sim_s": _med([x["sim_s"] for x in res]),
             "sim_cpu_s": _med([sim_cpu_s(x) for x in res]),
             "n_spikes": _med([x["n_spikes"] for x in res]),
             "rate_mean_hz": mean, "rate_se_hz": se,
             "foreign_cores_max": max((r["foreign_cores"] for r in rs), default=math.nan),
             "load1_median": _med([r["load1_before"] for r in rs])}
        versions = sorted({x["source_sha1"] for x in res if "source_sha1" in x})
        if len(versions) > 1:
            s["source_versions"] = versions
        stats[lab] = s
        lines.append(f"| {lab} | {s['runs']}" + (f" ({s['failed']} failed)" if s["failed"] else "")
                     + f" | {s['process_wall_s']:.2f} | {s['process_cpu_s']:.2f} "
                     f"| {s['import_s']:.2f} | {s['build_s']:.2f} | "
                     f"{s['compile_s']:.2f} | {s['sim_s']:.3f} | {s['sim_cpu_s']:.3f} | "
                     f"{s['n_spikes']:.0f} | "
                     f"{mean:.2f} ± {se:.2f} | {s['foreign_cores_max']:.2f} | "
                     f"{s['load1_median']:.2f} |")
    lines += ["", "| spikereduce config | vs | sim-time ratio (wall) | sim-time ratio (CPU) "
              "| whole-process ratio (wall) "
              "| whole-process ratio (CPU) | rate difference Hz | z = diff / SE |",
              "|---|---|---|---|---|---|---|---|"]
    ratios = {}
    for lab in labels:
        if not lab.startswith("spikereduce") or not stats[lab]["runs"]:
            continue
        for ref in labels:
            if ref not in REFERENCES or not stats[ref]["runs"]:
                continue
            a, b = stats[lab], stats[ref]
            diff = a["rate_mean_hz"] - b["rate_mean_hz"]
            z = diff / math.hypot(a["rate_se_hz"], b["rate_se_hz"])
            r = {"sim_ratio": a["sim_s"] / b["sim_s"],
                 "sim_cpu_ratio": a["sim_cpu_s"] / b["sim_cpu_s"],
                 "process_ratio": a["process_wall_s"] / b["process_wall_s"],
                 "process_cpu_ratio": a["process_cpu_s"] / b["process_cpu_s"],
                 "rate_diff_hz": diff, "z": z}
            ratios[f"{lab}/{ref}"] = r
            lines.append(f"| {lab} | {ref} | {r['sim_ratio']:.3f} | {r['sim_cpu_ratio']:.3f} | "
                         f"{r['process_ratio']:.3f} | "
                         f"{r['process_cpu_ratio']:.3f} | {diff:+.3f} | {z:+.1f} |")
    versions = sorted({r["result"]["source_sha1"] for r in rows
                       if "source_sha1" in r.get("result", {})})
    if len(versions) > 1:
        mixed = [lab for lab in labels if "source_versions" in stats[lab]]
        lines += ["", f"WARNING: the spikereduce sources changed during this comparison "
                      f"(versions {', '.join(versions)}; mixed within {mixed or 'no config'}): "
                      "unless the change left the kernels alone, repeat it."]
    return "\n".join(lines), {"configs": stats, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--anchors", default=os.environ.get("ANCHORS", "/tmp/anchors"),
                    help="folder holding the brian2/ and nest/ virtual environments")
    ap.add_argument("--shared", type=Path, default=SHARED_BENCH,
                    help="folder of the shared anchor scripts (nnlif_*.py)")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS,
                    help=f"comma-separated, from: {', '.join(CONFIGS)}")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=12345, help="seed of repeat 0 (+1 per repeat)")
    ap.add_argument("--N", type=int, default=2000)
    ap.add_argument("--simtime", type=float, default=1000.0, help="biological time, ms")
    ap.add_argument("--numba-threads", type=int, default=1)
    ap.add_argument("--limit", type=float, default=600.0, help="time limit per process, s")
    ap.add_argument("--out", type=Path, default=None, help="also write rows + summary as JSON")
    ap.add_argument("--summarize", type=Path, default=None, metavar="JSON",
                    help="print the tables of an earlier --out file instead of running")
    args = ap.parse_args(argv)
    if args.summarize:
        saved = json.loads(args.summarize.read_text())
        labels = list(dict.fromkeys(r["label"] for r in saved["rows"]))
        print(f"{saved['date']}: {saved['args']}\n")
        print(summarize(saved["rows"], labels)[0])
        return 0

    labels = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in labels if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    available = []
    for lab in labels:
        venv = CONFIGS[lab][0]
        py = Path(args.anchors) / venv / "bin" / "python"
        if venv != "{repo}" and not py.exists():
            print(f"[anchors] {lab}: {py} missing, skipped (run setup_venvs.sh)", file=sys.stderr)
            continue
        available.append(lab)
    labels = available

    warm_cache = tempfile.mkdtemp(prefix="sr_numba_warm_")
    try:
        if any(CONFIGS[lab][3].get("cache") == "warm" for lab in labels):
            # Fill the warm cache once (not timed), so warm runs only load compiled kernels.
            for lab in labels:
                if CONFIGS[lab][3].get("cache") == "warm":
                    row = run_one(lab, args, args.seed, warm_cache)
                    print(f"[anchors] warm-up {lab}: rc={row['rc']} "
                          f"wall={row['process_wall_s']:.1f}s", file=sys.stderr, flush=True)
        rows = []
        for rep in range(args.reps):
            # Alternate: every simulator once per repeat, the order rotated so none is always
            # first after a pause or last behind a burst of other work on the machine.
            order = labels[rep % len(labels):] + labels[:rep % len(labels)]
            for lab in order:
                row = run_one(lab, args, args.seed + rep, warm_cache)
                rows.append(row)
                res = row.get("result", {})
                print(f"[anchors] rep {rep} {lab}: rc={row['rc']} "
                      f"wall={row['process_wall_s']:.2f}s sim={res.get('sim_s', math.nan):.3f}s "
                      f"rate={res.get('rate_hz', math.nan):.2f}Hz "
                      f"foreign={row['foreign_cores']:.2f} load={row['load1_before']:.2f}",
                      file=sys.stderr, flush=True)
                if "result" not in row:
                    print(row.get("stderr_tail", ""), file=sys.stderr)
    finally:
        shutil.rmtree(warm_cache, ignore_errors=True)

    table, summary = summarize(rows, labels)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Network B, N={args.N}, {args.simtime:g} ms at dt=0.1 ms, {args.reps} repeats "
          f"(seeds {args.seed}..{args.seed + args.reps - 1}), {stamp}, "
          f"{os.cpu_count()} cores, numba threads {args.numba_threads}\n")
    for lab in labels:
        print(f"- {lab}: {CONFIGS[lab][4]}")
    print()
    print(table)
    if args.out:
        args.out.write_text(json.dumps({"date": stamp, "args": {k: str(v) for k, v in
                                                                vars(args).items()},
                                        "rows": rows, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
