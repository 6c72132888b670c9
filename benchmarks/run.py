"""Benchmark runner behind ``make bench``: runs every ``benchmarks/*.py`` and tabulates the results.

Each script runs in its own process under a time limit and prints one JSON line per figure
(``_common.emit``); the runner records the machine and its load, and writes ``results.json`` and
``results.md`` (measured vs target, pass/miss, in-run reference and ratio, first-call time).

    .venv/bin/python benchmarks/run.py [--only nlif,markov] [--quick] [--strict]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Helpers and tools that live next to the benchmarks but are not benchmarks themselves.
NOT_BENCHMARKS = {"_common.py", "run.py", "anchors.py"}
# Extra keys a script may attach to a row for the one-off cost of its first call.
FIRST_CALL_KEYS = ("first_s", "first_call_s", "compile_s")
# `make bench` must finish in 15 min on 2 cores: the whole run gets 14 min by default.
DEFAULT_BUDGET_S = 840.0
RATIO_UNITS = ("", "x", "1", "ratio")
DEFAULT_TIMEOUT_S = 300.0
STDERR_TAIL = 2000


# ---------------------------------------------------------------------------------------------
# machine and load


def _busy_jiffies() -> int | None:
    """CPU time (clock ticks, all cores) the whole machine has spent busy since boot."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return user + nice + system + irq + softirq + steal


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=HERE, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if rev.returncode != 0:
        return "unknown"
    return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine_info() -> dict[str, Any]:
    """Cores, CPU model and software versions (the load is recorded per script and per run)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cores": os.cpu_count(), "usable_cores": usable, "cpu_model": _cpu_model(),
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": _version("numpy"), "numba": _version("numba"),
            "spikereduce": _version("spikereduce"), "git": _git_revision()}


# ---------------------------------------------------------------------------------------------
# running one script


def discover(bench_dir: Path) -> list[Path]:
    """Every benchmark script in ``bench_dir``, sorted by name."""
    return sorted(p for p in bench_dir.glob("*.py")
                  if p.name not in NOT_BENCHMARKS and not p.name.startswith("_"))


def parse_output(stdout: str) -> tuple[list[dict[str, Any]], list[str]]:
    """JSON result rows and the other (unparsed) non-empty lines of a script's stdout."""
    rows, other = [], []
    for line in stdout.splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            try:
                row = json.loads(text)
            except json.JSONDecodeError:
                other.append(text)
                continue
            if isinstance(row, dict) and "name" in row and "value" in row:
                rows.append(row)
                continue
        other.append(text)
    return rows, other


def _kill_group(proc: subprocess.Popen) -> None:
    """End the script and anything it started (it leads its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def run_script(script: Path, *, timeout_s: float, quick: bool,
               python: str = sys.executable,
               numba_cache_dir: str | None = None) -> dict[str, Any]:
    """Run one benchmark script; return its status, rows, wall time and the load around it."""
    env = dict(os.environ)
    if numba_cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache_dir
    env["BENCH_QUICK"] = "1" if quick else "0"
    env["PYTHONUNBUFFERED"] = "1"
    # Array libraries must not start a thread per core behind the scripts' backs: the machine is
    # shared and the scripts time one thread unless they say otherwise.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    record: dict[str, Any] = {"script": script.name, "benchmark": script.stem,
                              "timeout_s": round(timeout_s, 1),
                              "load1_before": os.getloadavg()[0]}
    jiffies0, own0, t0 = _busy_jiffies(), _children_cpu_s(), time.perf_counter()
    proc = subprocess.Popen([python, str(script)], cwd=script.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        timed_out = True
    except BaseException:
        # Ctrl-C reaches only the runner (the script has its own session): take the script along.
        _kill_group(proc)
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    own_cpu = _children_cpu_s() - own0
    jiffies1 = _busy_jiffies()
    rows, other = parse_output(stdout or "")
    for row in rows:
        row.setdefault("benchmark", script.stem)
        row["script"] = script.name
    if timed_out:
        status = "timeout"
    elif proc.returncode != 0:
        status = "crashed"
    elif not rows:
        status = "no results"
    else:
        status = "ok"
    record.update({"status": status, "returncode": proc.returncode, "wall_s": round(wall, 3),
                   "cpu_s": round(own_cpu, 3), "load1_after": os.getloadavg()[0],
                   "rows": rows, "other_stdout": other[-20:]})
    if jiffies0 is not None and jiffies1 is not None and wall > 0:
        busy = (jiffies1 - jiffies0) / os.sysconf("SC_CLK_TCK")
        # CPU that other processes used while the script ran, in cores: > 0.25 means contended.
        record["foreign_cores"] = round(max(0.0, busy - own_cpu) / wall, 2)
    if status != "ok":
        record["stderr_tail"] = (stderr or "")[-STDERR_TAIL:]
    return record


# ---------------------------------------------------------------------------------------------
# the table


def _fmt(x: Any, unit: str = "") -> str:
    if x is None or x == "":
        return "—"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    text = f"{x:.4g}"
    return f"{text} {unit}".strip()


def _verdict(row: dict[str, Any]) -> str:
    passed = row.get("passed")
    if passed is None and row.get("target") is not None:
        op, target, value = row.get("op", "<="), row["target"], row["value"]
        passed = value <= target if op == "<=" else value >= target
    return "—" if passed is None else ("pass" if passed else "MISS")


def _first_call(row: dict[str, Any]) -> str:
    for key in FIRST_CALL_KEYS:
        if row.get(key) is not None:
            return _fmt(row[key], "s")
    return "—"


def table_rows(records: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One table line per result row, plus one per script that did not finish cleanly."""
    out = []
    for rec in records:
        for row in rec["rows"]:
            target = row.get("target")
            ref = row.get("reference")
            # A ratio row ("x") names its reference's unit in reference_name, if anywhere.
            unit = row.get("unit", "")
            ref_text = _fmt(ref, row.get("reference_unit", "" if unit in RATIO_UNITS else unit))
            if row.get("reference_name"):
                ref_text = f"{ref_text} ({row['reference_name']})" if ref is not None \
                    else row["reference_name"]
            out.append([row.get("benchmark", rec["benchmark"]), str(row["name"]),
                        _fmt(row["value"]), str(row.get("unit", "")),
                        "—" if target is None else f"{row.get('op', '<=')} {_fmt(target)}",
                        _verdict(row), ref_text, _fmt(row.get("ratio")), _first_call(row)])
        if rec["status"] != "ok":
            what = {"timeout": f"TIMEOUT after {rec['timeout_s']:g} s",
                    "crashed": f"CRASHED (exit {rec['returncode']})",
                    "no results": "NO RESULTS (printed no JSON line)",
                    "skipped": "SKIPPED (time budget spent)"}[rec["status"]]
            out.append([rec["benchmark"], f"({rec['script']})", "—", "", "—", what, "—", "—", "—"])
    return out


HEADER = ["benchmark", "name", "measured", "unit", "target", "pass/miss", "reference", "ratio",
          "compile/first call"]


def markdown_table(records: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for cells in table_rows(records):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def counts(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    verdicts = [_verdict(r) for rec in records for r in rec["rows"]]
    return {"pass": verdicts.count("pass"), "miss": verdicts.count("MISS"),
            "no_target": verdicts.count("—"),
            "scripts_failed": sum(rec["status"] != "ok" for rec in records)}


def render_markdown(report: dict[str, Any]) -> str:
    m, recs = report["machine"], report["scripts"]
    c = report["counts"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {report['started']} – {report['finished']} (UTC), "
        f"{'quick mode (BENCH_QUICK=1)' if report['quick'] else 'full mode'}, "
        f"total {report['wall_s']:.0f} s. Written by `benchmarks/run.py`; raw rows in "
        "`results.json`.",
        "",
        f"Machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu_model']}, "
        f"{m['platform']}; Python {m['python']}, NumPy {m['numpy']}, numba {m['numba']}, "
        f"spikereduce {m['spikereduce']} (git {m['git']}). "
        f"1-min load average {report['load1_before']:.2f} before, "
        f"{report['load1_after']:.2f} after.",
        "",
        f"**{c['pass']} pass, {c['miss']} miss, {c['no_target']} without target; "
        f"{c['scripts_failed']} script(s) did not finish cleanly.** Timings are medians of "
        "repeats after a warm-up; the last column is the first call (numba compilation or cache "
        "load) when the script reports it"
        + (" (this run started from an empty numba cache, so it is the compilation)."
           if report.get("numba_cache") == "fresh" else "."),
        "",
        markdown_table(recs),
        "",
        "## Scripts and the load while each ran",
        "",
        "`foreign cores`: CPU used by other processes during the script, in cores (from "
        "/proc/stat); above about 0.25 on this 2-core machine the timings are contended. "
        "Worker processes that a script starts but does not wait for count as foreign too.",
        "",
        "| script | status | wall s | CPU s | load before | load after | foreign cores |",
        "|---|---|---|---|---|---|---|",
    ]
    for rec in recs:
        loads = [f"{rec[k]:.2f}" if rec.get(k) is not None else "—"
                 for k in ("load1_before", "load1_after", "foreign_cores")]
        lines.append(f"| {rec['script']} | {rec['status']} | {_fmt(rec.get('wall_s'))} | "
                     f"{_fmt(rec.get('cpu_s'))} | {' | '.join(loads)} |")
    if report.get("only"):
        lines += ["", f"Subset run: `--only {','.join(report['only'])}`."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# main


def select(scripts: Sequence[Path], only: Sequence[str]) -> list[Path]:
    """The scripts named in ``only`` (stems or file names); all when ``only`` is empty."""
    if not only:
        return list(scripts)
    by_stem = {p.stem: p for p in scripts}
    wanted = [n.removesuffix(".py") for n in only]
    unknown = [n for n in wanted if n not in by_stem]
    if unknown:
        raise SystemExit(f"error: unknown benchmark(s) {', '.join(unknown)}; "
                         f"available: {', '.join(by_stem) or 'none'}")
    return [by_stem[n] for n in dict.fromkeys(wanted)]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only these benchmarks (script names without .py; comma-separated "
                         "or repeated)")
    ap.add_argument("--quick", action="store_true",
                    help="set BENCH_QUICK=1 for the scripts (smaller sizes, fewer repeats)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a script crashes, times out or prints no result")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                    help="time limit per script in seconds (default %(default)s)")
    ap.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S,
                    help="time limit for the whole run in seconds; scripts left when it is spent "
                         "are reported as skipped (default %(default)s)")
    ap.add_argument("--keep-numba-cache", action="store_true",
                    help="use numba's usual on-disk cache instead of a fresh one for this run")
    ap.add_argument("--bench-dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", type=Path, default=HERE,
                    help="where results.json and results.md go (default: benchmarks/)")
    args = ap.parse_args(argv)
    if args.timeout <= 0 or args.budget <= 0:
        ap.error("--timeout and --budget must be positive")

    only = [n for item in args.only for n in item.split(",") if n.strip()]
    scripts = select(discover(args.bench_dir), [n.strip() for n in only])
    if not scripts:
        print(f"no benchmark scripts in {args.bench_dir}", file=sys.stderr)
        return 1 if args.strict else 0

    # A fresh numba cache per run: numba checks a cached kernel against its own file only, so a
    # cache left by an edit of a helper it calls can hold stale machine code. Each script's first
    # call then compiles (reported in the last column) and later calls and subprocesses reuse it.
    cache_dir = None
    if not args.keep_numba_cache and "NUMBA_CACHE_DIR" not in os.environ:
        cache_dir = tempfile.mkdtemp(prefix="spikereduce-bench-numba-")
    try:
        return _run_all(args, only, scripts, cache_dir)
    finally:
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)


def _run_all(args: argparse.Namespace, only: list[str], scripts: list[Path],
             cache_dir: str | None) -> int:
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    t_start = time.perf_counter()
    records = []
    for script in scripts:
        left = args.budget - (time.perf_counter() - t_start)
        if left < 1.0:
            records.append({"script": script.name, "benchmark": script.stem, "status": "skipped",
                            "returncode": None, "rows": [], "timeout_s": 0.0})
            print(f"[bench] {script.name}: skipped, time budget spent", file=sys.stderr)
            continue
        limit = min(args.timeout, left)
        print(f"[bench] {script.name} (limit {limit:.0f} s) ...", file=sys.stderr, flush=True)
        rec = run_script(script, timeout_s=limit, quick=args.quick, numba_cache_dir=cache_dir)
        records.append(rec)
        print(f"[bench] {script.name}: {rec['status']}, {len(rec['rows'])} result(s), "
              f"{rec['wall_s']:.1f} s, foreign load {rec.get('foreign_cores', float('nan')):.2f} "
              "cores", file=sys.stderr, flush=True)
        if rec["status"] != "ok" and rec.get("stderr_tail"):
            print(rec["stderr_tail"].rstrip()[-800:], file=sys.stderr)

    report = {"started": started.strftime("%Y-%m-%d %H:%M:%S"),
              "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
              "wall_s": time.perf_counter() - t_start, "quick": args.quick,
              "only": only, "numba_cache": "fresh" if cache_dir else "kept",
              "load1_before": load_before, "load1_after": os.getloadavg()[0],
              "machine": machine_info(), "scripts": records}
    report["counts"] = counts(records)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(args.out_dir / "results.json", json.dumps(report, indent=1, default=str) + "\n")
    text = render_markdown(report)
    _atomic_write(args.out_dir / "results.md", text)
    print(text, end="")
    if args.strict and report["counts"]["scripts_failed"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
