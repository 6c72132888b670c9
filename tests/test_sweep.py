"""Sweeps on Dask into a resumable Zarr store (issue 8): worker-count independence, resume after
SIGKILL, refusal of corrupt or foreign stores, and the CLI's one-line errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cloudpickle
import dask
import numpy as np
import pytest

from spikereduce import registry
from spikereduce.cli import main
from spikereduce.config import RunConfig
from spikereduce.errors import ConfigError, NumericalError, ParameterError
from spikereduce.sweep import (
    SweepInterrupted,
    make_plan,
    open_sweep,
    parse_param,
    point_seed,
    run_sweep,
    sweep_status,
)

# The toy model, as source: the killed-and-restarted sweep runs it in a child process too, and
# both sides must compute the same numbers. It logs "seed pid" per computation, so tests can
# count how many times each point was computed and by how many workers.
TOY_SRC = textwrap.dedent('''
    import os, time
    import numpy as np
    from spikereduce.errors import NumericalError, ParameterError
    from spikereduce.io import make_dataset
    from spikereduce.registry import Option
    from spikereduce.rng import streams

    TOY_OPTIONS = (Option("n", 8, int), Option("sleep", 0.0, float), Option("log", "", str),
                   Option("time", 0.0, float, doc="unused: a swept name that clashes with a dim"))

    def toy_run(cfg, opts):
        a = float(cfg.params.get("a", 1.0))
        b = float(cfg.params.get("b", 0.0))
        if a < 0:
            raise ParameterError("a", a, ">= 0")
        if a > 100:
            raise NumericalError("toy blew up", time=0.5)
        n = opts["n"]
        rng = streams(cfg.seed).generator("initial")
        t = np.arange(n) * 0.5
        x = a * np.sin(t) + b + rng.normal(size=n)
        events = np.sort(rng.uniform(0, t[-1], int(2 + 3 * a)))
        if opts["sleep"]:
            time.sleep(opts["sleep"])
        if opts["log"]:
            with open(opts["log"], "a") as fh:
                fh.write(f"{cfg.seed} {os.getpid()}\\n")
        return make_dataset({"x": ("time", x), "mean_x": ((), float(x.mean())),
                             "spikes": ("time", rng.poisson(3.0, size=n)),
                             "event_time": ("event", events)},
                            {"time": t}, family="toy", model="noise",
                            params={"a": a, "b": b}, seed=cfg.seed, time_units="ms")
''')
exec(TOY_SRC, globals())  # defines toy_run in this module

# Workers cannot import a test module: ship the toy's code with each task instead.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(autouse=True)
def toy_family():
    registry.discover()
    registry.register_run("toy", "noise", options=TOY_OPTIONS, description="toy")(toy_run)  # noqa: F821
    yield
    registry._REGISTRY.runs.pop(("toy", "noise"), None)


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                     silence_logs=40)
    client = Client(c)
    yield c, client
    client.close()
    c.close()


def _cfg(log=None, **options):
    opts = {"n": 8, **options}
    if log is not None:
        opts["log"] = str(log)
    return RunConfig("toy", "noise", params={"a": 1.0, "b": 0.5}, options=opts, seed=11)


GRID = ["params.a=0:2:4", "b=-1,1"]
CONFIG = 'family = "toy"\nmodel = "noise"\nseed = 11\n[params]\na = 1.0\nb = 0.5\n[run]\nn = 8\n'


def _log(path):
    if not path.exists():
        return []
    return [tuple(int(w) for w in line.split()) for line in path.read_text().splitlines()]


def _assert_same_numbers(ds1, ds2):
    assert set(ds1.data_vars) == set(ds2.data_vars)
    assert ds1.sizes == ds2.sizes
    for name in list(ds1.data_vars) + list(ds1.coords):
        if name == "point_wall_s":
            continue  # wall times are measurements, not results
        a, b = ds1[name].values, ds2[name].values
        assert a.dtype == b.dtype, name
        assert a.tobytes() == b.tobytes(), f"{name} differs"


# --- grid syntax -------------------------------------------------------------------------------


def test_parse_param_forms():
    p = parse_param("params.p_ei=0.1:0.9:5")
    assert p.key == "params.p_ei" and p.dim == "p_ei"
    np.testing.assert_allclose(p.values, [0.1, 0.3, 0.5, 0.7, 0.9])
    assert parse_param("p_ei=0.1:0.9:5").key == "params.p_ei"
    assert parse_param("run.n=100:400:4").values == (100, 200, 300, 400)
    assert all(isinstance(v, int) for v in parse_param("run.n=100:400:4").values)
    assert parse_param("run.n=0:1:3").values == (0.0, 0.5, 1.0)
    assert parse_param("b=-1,0.5, 2").values == (-1.0, 0.5, 2.0)
    assert parse_param("b=3:3:1").values == (3,)
    # one field of a table option (a markov drive's amplitude)
    d = parse_param("run.drive.amplitude=0,2")
    assert d.key == "run.drive.amplitude" and d.dim == "drive.amplitude"


def test_overrides_set_one_field_of_a_table_option():
    from spikereduce.config import RunConfig

    cfg = RunConfig("markov", "dsode", options={"drive": {"kind": "pulse", "amplitude": 1.0,
                                                          "start": 5.0}})
    out = cfg.with_overrides({"run.drive.amplitude": 3.0})
    assert out.options["drive"] == {"kind": "pulse", "amplitude": 3.0, "start": 5.0}
    assert cfg.options["drive"]["amplitude"] == 1.0  # the base config is not changed
    assert RunConfig("m", "x").with_overrides({"run.drive.kind": "pulse"}).options == {
        "drive": {"kind": "pulse"}}
    for key in ("run.t_max.x", "run.drive.a.b"):
        with pytest.raises(ParameterError, match="cannot set"):
            RunConfig("m", "x", options={"t_max": 1.0}).with_overrides({key: 1})


@pytest.mark.parametrize("spec", ["p_ei", "p_ei=", "=0:1:3", "p_ei=0:1", "p_ei=0:1:2:3",
                                  "p_ei=a:1:3", "p_ei=0:1:0", "p_ei=0:1:2.5", "p_ei=0:1:true",
                                  "p_ei=0:inf:3", "1x=0:1:3", "foo.x=0:1:3", "p_ei=1,1",
                                  "p_ei=0:1:1", "params.p_ei.x=0,1", "run.drive.a.b=0,1",
                                  "run.drive.=0,1"])
def test_parse_param_refuses_bad_syntax(spec):
    with pytest.raises(ParameterError, match="--param"):
        parse_param(spec)


def test_plan_refuses_duplicate_and_reserved_dims():
    with pytest.raises(ParameterError, match="swept twice"):
        make_plan(_cfg(), ["a=0:1:2", "params.a=0:1:3"])
    with pytest.raises(ParameterError, match="reserved"):
        make_plan(_cfg(), ["replicate=0:1:2"])
    with pytest.raises(ParameterError, match="seeds"):
        make_plan(_cfg(), GRID, seeds=0)


def test_point_seeds_depend_only_on_seed_and_index():
    seeds = [point_seed(11, i) for i in range(200)]
    assert len(set(seeds)) == 200 and all(0 <= s < 2**32 for s in seeds)
    assert seeds == [point_seed(11, i) for i in range(200)]
    assert point_seed(12, 0) != point_seed(11, 0)
    plan = make_plan(_cfg(), GRID, seeds=3)
    assert plan.shape == (4, 2, 3) and plan.dims == ("a", "b", "replicate")
    assert plan.point_config(7).seed == seeds[7]
    assert plan.position(10) == (1, 1, 1)
    assert plan.point_config(10).params["b"] == 1 and plan.point_config(10).params["a"] == 2 / 3


# --- running and reading -----------------------------------------------------------------------


def test_open_sweep_puts_every_point_where_it_belongs(tmp_path, cluster):
    _, client = cluster
    cfg = _cfg()
    result = run_sweep(cfg, GRID, tmp_path / "s.zarr", seeds=2, client=client)
    assert (result.n_points, result.computed, result.already_done) == (16, 16, 0)
    ds = open_sweep(tmp_path / "s.zarr")
    assert dict(ds.sizes) == {"a": 4, "b": 2, "replicate": 2, "time": 8, "event": 8}
    assert ds.x.dims == ("a", "b", "replicate", "time")
    np.testing.assert_allclose(ds.a, [0, 2 / 3, 4 / 3, 2])
    plan = make_plan(cfg, GRID, seeds=2)
    for index in (0, 5, 11, 15):
        ia, ib, ir = plan.position(index)
        direct = registry.get_run("toy", "noise").run(plan.point_config(index))
        point = ds.isel(a=ia, b=ib, replicate=ir)
        assert point.x.values.tobytes() == direct.x.values.tobytes()
        assert int(point.point_seed) == point_seed(11, index)
        # A ragged dim (event list) is padded to the longest point; its length is kept.
        k = int(point.event_count)
        assert k == direct.sizes["event"] == int(2 + 3 * float(point.a))
        np.testing.assert_array_equal(point.event_time.values[:k], direct.event_time.values)
        assert np.isnan(point.event_time.values[k:]).all()
    assert ds.attrs["family"] == "toy" and ds.attrs["points_total"] == 16
    assert json.loads(ds.attrs["params"]) == {"a": 1.0, "b": 0.5}
    assert (ds.point_wall_s >= 0).all()
    assert sweep_status(tmp_path / "s.zarr") == (16, 16)
    # A second run finds everything done and computes nothing.
    again = run_sweep(cfg, GRID, tmp_path / "s.zarr", seeds=2, client=client)
    assert (again.computed, again.already_done) == (0, 16)


def test_point_dim_named_like_a_swept_parameter_needs_preprocess(tmp_path, cluster):
    _, client = cluster
    run_sweep(_cfg(), ["run.time=1,2"], tmp_path / "s.zarr", client=client)
    with pytest.raises(ConfigError, match="own dimension 'time'.*preprocess="):
        open_sweep(tmp_path / "s.zarr")
    ds = open_sweep(tmp_path / "s.zarr", preprocess=lambda p: p.rename(time="t"))
    assert ds.x.dims == ("time", "t") and list(ds.time.values) == [1, 2]


def test_two_workers_equal_one_worker_bit_for_bit(tmp_path, cluster):
    _, client = cluster
    log2, log1 = tmp_path / "two.log", tmp_path / "one.log"
    run_sweep(_cfg(log2, sleep=0.05), GRID, tmp_path / "two.zarr", seeds=2, client=client)
    run_sweep(_cfg(log1, sleep=0.05), GRID, tmp_path / "one.zarr", seeds=2, workers=1)
    assert len({pid for _, pid in _log(log2)}) == 2  # both workers computed points
    assert len({pid for _, pid in _log(log1)}) == 1
    two, one = open_sweep(tmp_path / "two.zarr"), open_sweep(tmp_path / "one.zarr")
    _assert_same_numbers(two, one)
    assert np.unique(two.mean_x.values).size == 16  # the points really differ


KILLED_SCRIPT = '''
import sys
from spikereduce import registry
from spikereduce.config import RunConfig
from spikereduce.sweep import run_sweep
{toy}
if __name__ == "__main__":
    registry.discover()
    registry.register_run("toy", "noise", options=TOY_OPTIONS)(toy_run)
    cfg = RunConfig("toy", "noise", params={{"a": 1.0, "b": 0.5}},
                    options={{"n": 8, "sleep": 0.3, "log": sys.argv[2]}}, seed=11)
    run_sweep(cfg, {grid!r}, sys.argv[1], seeds=2, workers=1, progress=False)
'''


def test_sigkilled_sweep_resumes_without_losing_or_recomputing(tmp_path, cluster):
    _, client = cluster
    store, log = tmp_path / "k.zarr", tmp_path / "k.log"
    script = tmp_path / "killed.py"
    script.write_text(KILLED_SCRIPT.format(toy=TOY_SRC, grid=GRID))
    proc = subprocess.Popen([sys.executable, str(script), str(store), str(log)],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((store / "points").glob("*.done"))) >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    finally:
        # The sweep and its worker processes share the session we gave it: kill them all.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    markers = {p.name: p.read_text() for p in (store / "points").glob("*.done")}
    finished = {int(name[1:7]) for name in markers}
    assert 4 <= len(finished) < 16
    computed_before = len(_log(log))
    # Run it again (as a rerun of the command would): only the missing points are computed.
    result = run_sweep(_cfg(log, sleep=0.3), GRID, store, seeds=2, client=client)
    assert (result.already_done, result.computed) == (len(finished), 16 - len(finished))
    for name, text in markers.items():  # finished points untouched (same run id, same time)
        assert (store / "points" / name).read_text() == text
    recomputed = {seed for seed, _ in _log(log)[computed_before:]}
    assert not recomputed & {point_seed(11, i) for i in finished}
    assert len(_log(log)[computed_before:]) == 16 - len(finished)
    assert not (store / ".lock").exists()
    # ... and the numbers equal an uninterrupted sweep's.
    run_sweep(_cfg(), GRID, tmp_path / "ref.zarr", seeds=2, client=client)  # sleep: no effect
    _assert_same_numbers(open_sweep(store), open_sweep(tmp_path / "ref.zarr"))


def test_point_written_but_unmarked_is_computed_again(tmp_path, cluster):
    # What a kill between the data rename and the marker leaves behind, made on purpose.
    _, client = cluster
    store, log = tmp_path / "s.zarr", tmp_path / "s.log"
    run_sweep(_cfg(log), GRID, store, client=client)
    reference = open_sweep(store)
    (store / "points" / "p000003.done").unlink()
    (store / "points" / ".p000005.abc.tmp").mkdir()
    with pytest.raises(ConfigError, match="incomplete"):
        open_sweep(store)
    partial = open_sweep(store, allow_incomplete=True)
    assert not bool(partial.point_done.isel(a=1, b=1)) and int(partial.point_done.sum()) == 7
    assert np.isnan(partial.x.isel(a=1, b=1)).all()
    n_before = len(_log(log))
    result = run_sweep(_cfg(log), GRID, store, client=client)
    assert result.computed == 1 and len(_log(log)) == n_before + 1
    assert not (store / "points" / ".p000005.abc.tmp").exists()
    _assert_same_numbers(open_sweep(store), reference)


def test_ctrl_c_keeps_finished_points(tmp_path, cluster):
    _, client = cluster
    store = tmp_path / "s.zarr"

    def stop_after_three(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted, match="3 of 8 points are finished"):
        run_sweep(_cfg(sleep=0.05), GRID, store, client=client, on_point=stop_after_three)
    assert sweep_status(store) == (3, 8)
    assert not (store / ".lock").exists()
    result = run_sweep(_cfg(sleep=0.05), GRID, store, client=client)
    assert (result.already_done, result.computed) == (3, 5)


CLI_SCRIPT = """
import sys
from spikereduce import registry
from spikereduce.cli import main
{toy}
if __name__ == "__main__":
    registry.discover()
    registry.register_run("toy", "noise", options=TOY_OPTIONS)(toy_run)
    sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_on_the_command_line_exits_130_with_one_line_and_resumes(tmp_path, cluster):
    _, client = cluster
    store, cfg = tmp_path / "s.zarr", tmp_path / "c.toml"
    cfg.write_text(CONFIG + "sleep = 0.3\n")
    script = tmp_path / "cli.py"
    script.write_text(CLI_SCRIPT.format(toy=TOY_SRC))
    argv = [sys.executable, str(script), "sweep", str(cfg), "--param", "params.a=0:2:4",
            "--param", "b=-1,1", "--workers", "1", "--store", str(store)]
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((store / "points").glob("*.done"))) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole group
    _, err = proc.communicate(timeout=60)
    done, total = sweep_status(store)
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"interrupted: {done} of 8 points are finished" in err and 2 <= done < total
    assert not (store / ".lock").exists()
    result = run_sweep(_cfg(sleep=0.3), GRID, store, client=client)
    assert (result.already_done, result.computed) == (done, 8 - done)


def test_failing_point_stops_the_sweep_naming_the_point(tmp_path, cluster):
    _, client = cluster
    with pytest.raises(ParameterError, match=r"sweep point 0 \(params.a=-1.*a = -1.0 is invalid"
                       ) as bad:
        run_sweep(_cfg(), ["a=-1,1"], tmp_path / "s.zarr", client=client)
    # the point's error keeps its parts: field, value and admissible range
    assert (bad.value.field, bad.value.value, bad.value.admissible) == ("a", -1.0, ">= 0")
    with pytest.raises(NumericalError, match=r"params.a=(1000|2000).*toy blew up \(at t = 0.5\)"
                       ) as blew:
        run_sweep(_cfg(), ["a=1000,2000"], tmp_path / "t.zarr", client=client)
    assert blew.value.time == 0.5


# --- refusing stores that are not this sweep ---------------------------------------------------


def test_foreign_and_corrupt_stores_are_refused(tmp_path, cluster):
    _, client = cluster
    store = tmp_path / "s.zarr"
    run_sweep(_cfg(), GRID, store, client=client)
    # Another grid, another config, another seed: a different sweep.
    for grid, cfg, seeds in ((["a=0:2:5", "b=-1,1"], _cfg(), 1), (GRID, _cfg(n=9), 1),
                             (GRID, _cfg(), 2)):
        with pytest.raises(ConfigError, match="holds a different sweep"):
            run_sweep(cfg, grid, store, seeds=seeds, client=client)
    # A folder that is not a sweep store at all.
    other = tmp_path / "other.zarr"
    other.mkdir()
    (other / "data.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a spikereduce sweep store"):
        run_sweep(_cfg(), GRID, other, client=client)
    assert (other / "data.txt").read_text() == "mine"
    # What a creation killed before its manifest leaves is not foreign: the sweep starts.
    skeleton = tmp_path / "skeleton.zarr"
    (skeleton / "points").mkdir(parents=True)
    (skeleton / ".zgroup").write_text("{}")
    assert run_sweep(_cfg(), ["a=0,1"], skeleton, client=client).computed == 2
    # An edited manifest.
    edited = tmp_path / "edited.zarr"
    shutil.copytree(store, edited)
    manifest = json.loads((edited / "sweep.json").read_text())
    manifest["seed"] = 12
    (edited / "sweep.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="corrupt sweep store.*fingerprint"):
        open_sweep(edited)
    (edited / "sweep.json").write_text("{not json")
    with pytest.raises(ConfigError, match="corrupt sweep store.*sweep.json"):
        run_sweep(_cfg(), GRID, edited, client=client)
    # Damaged point data, a garbage marker, a marker without data.
    damaged = tmp_path / "damaged.zarr"
    shutil.copytree(store, damaged)
    chunk = next(p for p in (damaged / "points" / "p000002" / "x").iterdir()
                 if not p.name.startswith("."))
    chunk.write_bytes(b"\0" * chunk.stat().st_size)
    with pytest.raises(ConfigError, match="corrupt sweep store.*point 2"):
        open_sweep(damaged)
    shutil.rmtree(damaged)
    shutil.copytree(store, damaged)
    (damaged / "points" / "p000004.done").write_text("garbage")
    with pytest.raises(ConfigError, match="corrupt sweep store.*marker of point 4"):
        run_sweep(_cfg(), GRID, damaged, client=client)
    shutil.rmtree(damaged)
    shutil.copytree(store, damaged)
    shutil.rmtree(damaged / "points" / "p000006")
    with pytest.raises(ConfigError, match="point 6 is marked finished but its data are missing"):
        open_sweep(damaged)


def test_store_in_use_by_a_live_process_is_refused(tmp_path, cluster):
    _, client = cluster
    store = tmp_path / "s.zarr"
    run_sweep(_cfg(), ["a=0,1"], store, client=client)
    import socket

    (store / ".lock").write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    with pytest.raises(ConfigError, match="in use by process"):
        run_sweep(_cfg(), ["a=0,1"], store, client=client)


# --- the command line --------------------------------------------------------------------------




def test_cli_sweep_against_a_scheduler_address(tmp_path, cluster, capsys):
    c, client = cluster
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    argv = ["sweep", str(cfg), "--param", "params.a=0:2:4", "--param", "b=-1,1",
            "--scheduler", c.scheduler_address, "--store", str(tmp_path / "cli.zarr")]
    assert main(argv) == 0, capsys.readouterr().err
    assert "8 point(s) computed" in capsys.readouterr().out
    run_sweep(_cfg(), GRID, tmp_path / "api.zarr", client=client)
    _assert_same_numbers(open_sweep(tmp_path / "cli.zarr"), open_sweep(tmp_path / "api.zarr"))
    assert main(argv) == 0
    assert "0 point(s) computed" in capsys.readouterr().out


@pytest.mark.parametrize("param", ["p_ei", "a=0:1", "a=0:1:x", "a=0:1:0", "bad.a=0:1:3",
                                   "a=0;1;3"])
def test_cli_bad_param_exits_2_with_one_line(tmp_path, capsys, param):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    code = main(["sweep", str(cfg), "--param", param, "--store", str(tmp_path / "s.zarr")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("spikereduce: error: --param")
    assert "Traceback" not in err
    assert not (tmp_path / "s.zarr").exists()  # nothing written for a refused sweep


@pytest.mark.parametrize("argv, expected", [
    (["--param", "a=0:1:2"], "Missing option '--store'"),
    (["--store", "{tmp}/s.zarr"], "Missing option '--param'"),
    (["--param", "a=0:1:2", "--store", "{tmp}/s.zarr", "--seeds", "0"], "seeds = 0"),
    (["--param", "a=0:1:2", "--store", "{tmp}/s.zarr", "--workers", "0"], "workers = 0"),
    (["--param", "a=0:1:2", "--store", "{tmp}/s.zarr", "--scheduler", "tcp://127.0.0.1:1"],
     "cannot reach the Dask scheduler"),
])
def test_cli_sweep_bad_options_exit_2(tmp_path, capsys, argv, expected):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["sweep", str(cfg), *[a.format(tmp=tmp_path) for a in argv]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and expected in err, err


@pytest.mark.slow
def test_markov_bifurcation_example_from_a_store(tmp_path, cluster):
    # The showcase (examples/markov_bifurcation_sweep.py) on 3 points and 300 ms.
    import importlib.util
    from pathlib import Path

    if ("markov", "bifurcation") not in {(e.family, e.model) for e in registry.run_entries()}:
        pytest.skip("the markov family is not installed")
    path = Path(__file__).resolve().parents[1] / "examples" / "markov_bifurcation_sweep.py"
    spec = importlib.util.spec_from_file_location("markov_bifurcation_sweep", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    from spikereduce.config import load_config

    cfg = load_config(example.CONFIG).with_overrides({"run.count": 1, "run.t_max": 300.0})
    run_sweep(cfg, ["run.p_ei_start=0.6:0.9:3"], tmp_path / "b.zarr", client=cluster[1])
    bif = example.diagram(tmp_path / "b.zarr")
    assert bif.beat_hist.dims == ("model", "p_ei", "dm_bin")
    np.testing.assert_allclose(bif.p_ei, [0.6, 0.75, 0.9])
    assert list(bif.model.values) == ["snn", "dsode"]
    assert (bif.nu_E > 0).all()  # both models fire at every point
    from spikereduce.markov.figures import bifurcation_figure

    assert len(bifurcation_figure(bif).axes) == 3


def test_workers_that_see_the_store_write_their_points_themselves(tmp_path, cluster, monkeypatch):
    # A local cluster shares the file system: the client only renames and marks, so its own
    # write path is never taken; the numbers equal those of client-side writes.
    from spikereduce import sweep as sweep_mod

    _, client = cluster
    run_sweep(_cfg(), GRID, tmp_path / "client.zarr", client=client)  # reference, either path

    def refuse(*args, **kwargs):
        raise AssertionError("the client wrote a point")

    monkeypatch.setattr(sweep_mod.SweepStore, "write_point", refuse)
    result = run_sweep(_cfg(), GRID, tmp_path / "workers.zarr", client=client)
    assert result.computed == 8
    assert not [p for p in (tmp_path / "workers.zarr" / "points").iterdir()
                if p.name.endswith(".tmp")]
    _assert_same_numbers(open_sweep(tmp_path / "workers.zarr"),
                         open_sweep(tmp_path / "client.zarr"))


def test_workers_that_do_not_see_the_store_send_their_points_back(tmp_path, cluster,
                                                                   monkeypatch):
    from spikereduce import sweep as sweep_mod
    from spikereduce.sweep import execute as sweep_execute

    _, client = cluster

    class Elsewhere:  # workers on other machines: the probe file is not there for them
        def run(self, func, *args):
            return {"tcp://elsewhere:1": None}

    store = sweep_mod.SweepStore(tmp_path / "s.zarr")
    store.points.mkdir(parents=True)
    assert not sweep_execute._workers_share_store(Elsewhere(), store)
    assert sweep_execute._workers_share_store(client, store)
    assert list(store.points.iterdir()) == []  # the probe is gone
    monkeypatch.setattr(sweep_execute, "_workers_share_store", lambda client, store: False)
    result = run_sweep(_cfg(), GRID, tmp_path / "back.zarr", client=client)
    assert result.computed == 8
    run_sweep(_cfg(), GRID, tmp_path / "local.zarr", client=client)
    _assert_same_numbers(open_sweep(tmp_path / "back.zarr"), open_sweep(tmp_path / "local.zarr"))


def test_unknown_run_option_is_refused_before_any_point_runs(tmp_path):
    cfg = _cfg().with_overrides({"run.nn": 3})
    with pytest.raises(ParameterError, match=r"unknown run option 'nn' for toy/noise; known: "
                                             r"log, n, sleep, time"):
        run_sweep(cfg, ["a=1,2"], tmp_path / "s.zarr", workers=1)
    assert not (tmp_path / "s.zarr" / "points").exists() or \
        not list((tmp_path / "s.zarr" / "points").glob("p*"))


def _damage(point: Path, how: str, other: Path) -> None:
    x = point / "x"
    chunk = next(p for p in sorted(x.iterdir()) if not p.name.startswith("."))
    if how == "truncated chunk":
        chunk.write_bytes(chunk.read_bytes()[: max(1, chunk.stat().st_size // 2)])
    elif how == "deleted variable":
        shutil.rmtree(x)
    elif how == "deleted metadata":
        (point / ".zmetadata").unlink()
    elif how == "chunk of another point":
        shutil.copy(other / "x" / chunk.name, chunk)


@pytest.mark.parametrize("how", ["truncated chunk", "deleted variable", "deleted metadata",
                                 "chunk of another point"])
def test_resume_recomputes_damaged_points(tmp_path, cluster, how):
    """Regression (resume trusted damaged points): a rerun verifies every finished point
    against its marker's checksum, computes the damaged ones again and says so; the store then
    equals an undamaged one bit for bit."""
    _, client = cluster
    store, ref, log = tmp_path / "s.zarr", tmp_path / "ref.zarr", tmp_path / "s.log"
    run_sweep(_cfg(log), GRID, store, client=client)
    run_sweep(_cfg(), GRID, ref, client=client)
    _damage(store / "points" / "p000003", how, store / "points" / "p000005")
    result = run_sweep(_cfg(log), GRID, store, client=client)
    assert result.damaged == (3,) and result.computed == 1 and result.already_done == 7
    _assert_same_numbers(open_sweep(store), open_sweep(ref))
    assert len(_log(log)) == 9  # 8 points, then point 3 once more


@pytest.mark.parametrize("param, expected", [
    ("params.zz=1,2", "sweep point 0 (params.zz=1): unknown parameter 'zz'"),
    ("p_ei=0.5,2", "sweep point 1 (params.p_ei=2.0): p_ei = 2.0 is invalid"),
    # a drive table without its kind: the option's content is checked up front too
    ("run.drive.amplitude=0,2", "sweep point 0 (run.drive.amplitude=0): run.drive.kind = None"),
])
def test_bad_point_parameters_are_refused_before_a_store_or_cluster_exists(
        tmp_path, capsys, monkeypatch, param, expected):
    import spikereduce.sweep.execute as ex

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started for a refused sweep")

    monkeypatch.setattr(ex, "_local_client", no_cluster)
    cfg = Path(__file__).parents[1] / "examples" / "configs" / "markov_dsode.toml"
    t0 = time.perf_counter()
    code = main(["sweep", str(cfg), "--param", param, "--store", str(tmp_path / "s.zarr")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "s.zarr").exists()
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.slow
def test_markov_sweep_over_the_drive_amplitude(tmp_path, cluster):
    """A sweep over one field of the drive table: each point equals a direct run."""
    if ("markov", "dsode") not in {(e.family, e.model) for e in registry.run_entries()}:
        pytest.skip("the markov family is not installed")
    from spikereduce.config import RunConfig

    cfg = RunConfig("markov", "dsode", seed=3, options={
        "t_max": 200.0, "finite_size": "multinomial",
        "drive": {"kind": "pulse", "amplitude": 0.0, "start": 100.0}})
    run_sweep(cfg, ["run.drive.amplitude=0,3"], tmp_path / "d.zarr", client=cluster[1])
    ds = open_sweep(tmp_path / "d.zarr")
    assert list(ds["drive.amplitude"].values) == [0, 3]
    plan = make_plan(cfg, ["run.drive.amplitude=0,3"])
    for i in range(2):
        direct = registry.get_run("markov", "dsode").run(plan.point_config(i))
        point = ds.isel({"drive.amplitude": i})
        assert point.rate_E.values.tobytes() == direct.rate_E.values.tobytes()
        assert float(point.lam.values[-1]) == 7.0 + 3.0 * i
    on = ds.nu_E.values
    assert on[1] > on[0]
