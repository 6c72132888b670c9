"""Tests of the benchmark runner (benchmarks/run.py) on fake scripts in a temporary folder.

The fake scripts print through the real benchmarks/_common.emit: the JSON protocol is tested too.
"""

import importlib.util
import json
import shutil
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_runner():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load_runner()

GOOD = """
    import os
    from _common import emit, log
    log("progress goes to stderr")
    print("a stray line that is not JSON")
    quick = os.environ.get("BENCH_QUICK") == "1"
    emit("good", "fast kernel", 0.5, "s", target=1.0, reference=2.0, reference_name="numpy",
         ratio=0.25, first_s=1.75, compile_s=1e-5)  # the whole first call wins
    emit("good", "throughput", 10.0, "steps/s", target=100.0, op=">=")
    emit("good", "speed-up", 4.0, "x", target=10.0, op=">=", reference=2.0,
         reference_name="numpy loop s")
    emit("good", "quick flag", 1.0 if quick else 0.0, "")
"""
CRASH = """
    from _common import emit
    emit("crash", "before the crash", 3.0, "s", target=5.0, compile_s=0.2)
    raise RuntimeError("kernel exploded")
"""
SLOW = """
    import time
    time.sleep(30)
"""
SILENT = """
    print("nothing machine-readable")
"""


@pytest.fixture
def bench_dir(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    shutil.copy(BENCH / "_common.py", folder / "_common.py")
    for name, body in [("good", GOOD), ("crash", CRASH), ("slow", SLOW), ("silent", SILENT),
                       ("anchors", SLOW), ("run", SLOW)]:
        (folder / f"{name}.py").write_text(textwrap.dedent(body))
    return folder


def _rows_by_name(report):
    return {r["name"]: r for rec in report["scripts"] for r in rec["rows"]}


def test_discover_skips_helpers_runner_and_anchors(bench_dir):
    names = [p.name for p in run.discover(bench_dir)]
    assert names == ["crash.py", "good.py", "silent.py", "slow.py"]


def test_parse_output_keeps_result_rows_only():
    rows, other = run.parse_output('{"name": "x", "value": 1}\nhello\n{"no": "name"}\n{broken\n\n')
    assert rows == [{"name": "x", "value": 1}]
    assert other == ["hello", '{"no": "name"}', "{broken"]


def test_full_run_writes_table_and_reports_failures(bench_dir, tmp_path, capsys):
    out = tmp_path / "out"
    rc = run.main(["--bench-dir", str(bench_dir), "--out-dir", str(out), "--timeout", "3",
                   "--quick"])
    assert rc == 0  # failures change the exit status only with --strict
    report = json.loads((out / "results.json").read_text())
    status = {rec["script"]: rec["status"] for rec in report["scripts"]}
    assert status == {"crash.py": "crashed", "good.py": "ok", "silent.py": "no results",
                      "slow.py": "timeout"}
    slow = next(rec for rec in report["scripts"] if rec["script"] == "slow.py")
    assert slow["wall_s"] < 15  # killed at the limit, not after its 30 s sleep
    crash = next(rec for rec in report["scripts"] if rec["script"] == "crash.py")
    assert "kernel exploded" in crash["stderr_tail"]

    rows = _rows_by_name(report)
    assert rows["fast kernel"]["passed"] is True and rows["fast kernel"]["ratio"] == 0.25
    assert rows["throughput"]["passed"] is False
    assert rows["quick flag"]["value"] == 1.0  # --quick reached the script as BENCH_QUICK=1
    assert rows["before the crash"]["script"] == "crash.py"  # rows before a crash are kept
    assert report["counts"] == {"pass": 2, "miss": 2, "no_target": 1, "scripts_failed": 3}
    assert report["machine"]["cores"] >= 1 and report["machine"]["numba"]

    md = (out / "results.md").read_text()
    assert md == capsys.readouterr().out  # the table is also printed
    lines = {line.split(" | ")[1]: line for line in md.splitlines() if line.startswith("| ")}
    assert "| 0.5 | s | <= 1 | pass | 2 s (numpy) | 0.25 | 1.75 s |" in lines["fast kernel"]
    assert "| 10 | steps/s | >= 100 | MISS |" in lines["throughput"]
    assert "| 4 | x | >= 10 | MISS | 2 (numpy loop s) |" in lines["speed-up"]  # not "2 x"
    assert "| 0.2 s |" in lines["before the crash"]  # compile_s shown as the first-call time
    assert "CRASHED (exit 1)" in lines["(crash.py)"]
    assert "TIMEOUT after 3 s" in lines["(slow.py)"]
    assert "NO RESULTS" in lines["(silent.py)"]
    assert "quick mode" in md


def test_strict_and_only(bench_dir, tmp_path):
    out = tmp_path / "out"
    assert run.main(["--bench-dir", str(bench_dir), "--out-dir", str(out), "--only", "good",
                     "--strict"]) == 0
    report = json.loads((out / "results.json").read_text())
    assert [rec["script"] for rec in report["scripts"]] == ["good.py"]
    assert _rows_by_name(report)["quick flag"]["value"] == 0.0
    assert run.main(["--bench-dir", str(bench_dir), "--out-dir", str(out),
                     "--only", "good,crash", "--strict"]) == 1
    with pytest.raises(SystemExit, match="unknown benchmark"):
        run.main(["--bench-dir", str(bench_dir), "--out-dir", str(out), "--only", "nope"])


def test_budget_skips_remaining_scripts(bench_dir, tmp_path):
    out = tmp_path / "out"
    run.main(["--bench-dir", str(bench_dir), "--out-dir", str(out), "--only", "slow,good",
              "--budget", "2"])
    report = json.loads((out / "results.json").read_text())
    status = {rec["script"]: rec["status"] for rec in report["scripts"]}
    assert status == {"slow.py": "timeout", "good.py": "skipped"}
    assert "SKIPPED (time budget spent)" in (out / "results.md").read_text()


def test_anchor_summary_ratios_and_rate_agreement():
    spec = importlib.util.spec_from_file_location("bench_anchors", BENCH / "anchors.py")
    anchors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(anchors)

    def row(label, wall, sim, rate):
        # Brian2 standalone without OpenMP reports CPU time as sim_s; spikereduce reports both.
        who = {"sim": "brian2", "device": "cpp_standalone", "threads": 0} \
            if label == "brian2" else {"sim": "spikereduce", "call_cpu_s": sim / 2}
        return {"label": label, "process_wall_s": wall, "cpu_s": wall / 2, "foreign_cores": 0.1,
                "load1_before": 1.0,
                "result": {"sim_s": sim, "rate_hz": rate, "n_spikes": rate * 2000,
                           "import_s": 0.1, "compile_s": 0.0, "build_s": 0.2, **who}}

    rows = [row("brian2", 5.0, 0.30, 14.5), row("brian2", 6.0, 0.34, 14.7),
            row("spikereduce", 1.0, 0.06, 14.6), row("spikereduce", 2.0, 0.10, 14.8),
            {"label": "spikereduce", "process_wall_s": 9.0, "foreign_cores": 0.0,
             "load1_before": 1.0, "rc": 1}]  # a failed run: counted, not averaged
    table, summary = anchors.summarize(rows, ["brian2", "spikereduce"])
    assert summary["configs"]["spikereduce"]["failed"] == 1
    r = summary["ratios"]["spikereduce/brian2"]
    assert r["sim_ratio"] == pytest.approx(0.08 / 0.32)  # medians of the two runs each
    assert r["process_ratio"] == pytest.approx(1.5 / 5.5)
    # rates 14.6 +- 0.1 vs 14.7 +- 0.1 (mean +- SE of two runs): diff 0.1, z = 0.1 / 0.1414
    assert r["rate_diff_hz"] == pytest.approx(0.1)
    assert r["z"] == pytest.approx(0.1 / (0.1 * 2 ** 0.5))
    assert r["process_cpu_ratio"] == pytest.approx(1.5 / 5.5)
    assert r["sim_cpu_ratio"] == pytest.approx(0.04 / 0.32)
    assert "| spikereduce | brian2 | 0.250 | 0.125 | 0.273 | 0.273 | +0.100 | +0.7 |" in table
