"""Results: provenance attrs, NetCDF/Zarr round trips, atomic writes."""

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spikereduce import __version__
from spikereduce.errors import ConfigError, ParameterError
from spikereduce.io import PhaseTimer, load, make_dataset, params_of, save


def _result(n=50):
    timer = PhaseTimer()
    with timer("simulate"):
        t = np.arange(n) * 0.1
    return make_dataset(
        {"rate": ("time", np.sin(t)), "mode": ("time", np.array(["macro", "micro"] * (n // 2)))},
        {"time": t}, family="toy", model="m", params={"b": 0.5, "names": ["x"]}, seed=11,
        timings=timer, time_units="ms", flag=True, note=None)


def test_provenance_attrs():
    ds = _result()
    assert ds.attrs["spikereduce_version"] == __version__
    assert ds.attrs["seed"] == 11
    assert ds.attrs["family"] == "toy"
    assert params_of(ds) == {"b": 0.5, "names": ["x"]}
    assert ds.attrs["wall_time_simulate"] >= 0.0
    assert ds["time"].attrs["units"] == "ms"
    assert "created" in ds.attrs


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_round_trip_preserves_data_and_attrs(tmp_path, suffix):
    ds = _result()
    path = save(ds, tmp_path / f"r{suffix}")
    back = load(path)
    xr.testing.assert_identical(back[["rate"]], ds[["rate"]])
    assert list(back["mode"].values) == list(ds["mode"].values)
    for key in ("spikereduce_version", "params", "seed", "family", "wall_time_simulate"):
        assert back.attrs[key] == ds.attrs[key]
    assert json.loads(back.attrs["params"])["b"] == 0.5


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_overwrite_replaces_whole(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    save(_result(50), path)
    save(_result(10), path)
    assert load(path).sizes["time"] == 10
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ParameterError, match=r"\.nc"):
        save(_result(), tmp_path / "x.csv")
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.nc")


_KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import spikereduce.io as sio
    real_commit = sio._commit
    def stalled_commit(tmp, path):
        # The data are fully written to the temporary name: announce it and wait to be killed.
        print("written", flush=True)
        time.sleep(60)
        real_commit(tmp, path)
    sio._commit = stalled_commit
    ds = sio.make_dataset({"x": ("time", np.random.default_rng(0).random(200_000))},
                          {"time": np.arange(200_000)}, family="toy", model="m")
    sio.save(ds, sys.argv[1])
""")


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("existing", [False, True])
def test_killed_save_leaves_no_partial_file(tmp_path, suffix, existing):
    target = tmp_path / f"out{suffix}"
    if existing:
        save(_result(10), target)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    if existing:
        assert load(target).sizes["time"] == 10  # the old complete result, untouched
    else:
        assert not target.exists()
    time.sleep(0)  # the temporary is left beside the target, never under its name
    assert all(p.name.startswith(".") for p in tmp_path.iterdir() if p != target)


_BIG_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    import spikereduce.io as sio
    ds = sio.make_dataset({"x": ("time", np.random.default_rng(0).random(4_000_000))},
                          {"time": np.arange(4_000_000)}, family="toy", model="m")
    print("start", flush=True)
    sio.save(ds, sys.argv[1])
    print("saved", flush=True)
""")


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.4])
def test_save_killed_at_any_moment_is_absent_or_complete(tmp_path, delay):
    target = tmp_path / "big.nc"
    proc = subprocess.Popen([sys.executable, "-c", _BIG_WRITER, str(target)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(delay)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    if target.exists():  # the kill came after the rename: the file must be whole
        assert load(target).sizes["time"] == 4_000_000


def test_make_dataset_does_not_import_dask_and_dask_still_works():
    # Building a result from NumPy arrays must not pay for importing dask.array (start-up time),
    # and xarray must still recognise dask arrays once dask is imported.
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from spikereduce.io import make_dataset
        ds = make_dataset({"x": ("time", np.arange(3.0))}, family="f", model="m")
        assert "dask.array" not in sys.modules, "make_dataset imported dask.array"
        import dask.array as da
        from xarray.namedarray.pycompat import is_duck_dask_array
        lazy = make_dataset({"y": ("time", da.zeros(4, chunks=2))}, family="f", model="m")
        assert is_duck_dask_array(lazy["y"].data), type(lazy["y"].data)
        assert float(ds["x"].sum()) == 3.0
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_output_that_spikereduce_did_not_write_is_left_alone(tmp_path, suffix):
    """Regression (-o deleted a folder it did not make): a save replaces only a result it
    wrote; a user's folder or file under the same name is refused and kept."""
    target = tmp_path / f"d{suffix}"
    if suffix == ".zarr":
        target.mkdir()
        (target / "precious.txt").write_text("keep")
    else:
        target.write_text("keep")
    with pytest.raises(ParameterError, match="exists and is not a result spikereduce wrote"):
        save(_result(10), target)
    kept = target / "precious.txt" if suffix == ".zarr" else target
    assert kept.read_text() == "keep"
    # A store of ours with a foreign file dropped into it is not replaced either.
    ours = tmp_path / f"ours{suffix}"
    save(_result(10), ours)
    save(_result(20), ours)  # ours: replaced
    assert load(ours).sizes["time"] == 20
    if suffix == ".zarr":
        (ours / "notes.txt").write_text("mine")
        with pytest.raises(ParameterError, match="not a result spikereduce wrote"):
            save(_result(30), ours)
        assert (ours / "notes.txt").read_text() == "mine"


def test_debris_of_killed_writes_is_removed_by_the_next_write(tmp_path):
    """Regression (killed writes left .tmp/.old debris): the next write to the same path
    removes what dead processes left, and keeps what a running one is writing."""
    target = tmp_path / "run.zarr"
    dead = tmp_path / f".run.zarr.999999999.{'a' * 32}.tmp"
    legacy = tmp_path / f".run.zarr.{'b' * 32}.old"
    live = tmp_path / f".run.zarr.{os.getpid()}.{'c' * 32}.tmp"
    other = tmp_path / f".other.zarr.999999999.{'d' * 32}.tmp"
    for p in (dead, legacy, live, other):
        p.mkdir()
    save(_result(10), target)
    assert not dead.exists() and not legacy.exists()
    assert live.exists() and other.exists()


def _fsize_writer(target, limit):
    code = textwrap.dedent(f"""
        import resource, sys
        import numpy as np
        import spikereduce.io as sio
        from spikereduce.errors import SpikeReduceError
        x = np.random.default_rng(0).random(500_000)  # 4 MB that do not compress
        ds = sio.make_dataset({{"x": ("time", x)}}, family="toy", model="m")
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        try:
            sio.save(ds, {str(target)!r})
        except SpikeReduceError as exc:
            print("refused:", exc)
            sys.exit(2)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_write_over_the_file_size_limit_fails_cleanly(tmp_path, suffix):
    """Regression (a full disk segfaulted the process in h5netcdf's close): with the file-size
    limit below the result's size the save is refused in one line, exit 2, the previous
    result intact and no temporary left behind."""
    target = tmp_path / f"out{suffix}"
    save(_result(10), target)
    out = _fsize_writer(target, 1_000_000)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "refused: cannot write" in out.stdout and "nothing was changed" in out.stdout
    assert load(target).sizes["time"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_full_disk_fails_cleanly_with_the_old_result_intact(tmp_path, suffix, monkeypatch):
    """A write that runs out of room (ENOSPC) mid-way, or that would not fit in the free space,
    raises ConfigError (one line at the CLI), keeps the previous result and leaves no debris."""
    import errno
    import shutil

    target = tmp_path / f"out{suffix}"
    save(_result(10), target)

    def no_space(*args, **kwargs):
        if suffix == ".zarr":
            Path(args[1]).mkdir()
            (Path(args[1]) / ".zgroup").write_text("{}")  # a partial store
        raise OSError(errno.ENOSPC, "No space left on device")

    if suffix == ".nc":
        monkeypatch.setattr(os, "fsync", no_space)
    else:
        monkeypatch.setattr(xr.Dataset, "to_zarr", lambda self, *a, **k: no_space(self, *a))
    with pytest.raises(ConfigError, match="No space left on device; nothing was changed"):
        save(_result(20), target)
    monkeypatch.undo()
    assert load(target).sizes["time"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda p: usage._replace(free=100))
    with pytest.raises(ConfigError, match="MB free; nothing was changed"):
        save(_result(20), target)
    monkeypatch.undo()
    assert load(target).sizes["time"] == 10


@pytest.fixture
def small_filesystem(tmp_path):
    """A 2 MB tmpfs mounted for the test (needs root, as on the project's CI machine)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("precheck", [True, False], ids=["refused-up-front", "real-ENOSPC"])
def test_a_real_full_filesystem_fails_cleanly(small_filesystem, suffix, precheck, monkeypatch):
    """On a filesystem that really fills up the write fails with one ConfigError, the previous
    result is intact and nothing else is left on it: refused up front when the free space is
    known to be short, and when the estimate is bypassed, at the ENOSPC of the write itself."""
    import spikereduce.io as sio

    target = small_filesystem / f"out{suffix}"
    save(_result(10), target)
    x = np.random.default_rng(0).random(400_000)  # 3.2 MB that do not compress
    big = make_dataset({"x": ("time", x)}, family="toy", model="m")
    if not precheck:
        monkeypatch.setattr(sio, "_check_room", lambda *a, **k: None)
    with pytest.raises(ConfigError, match="nothing was changed"):
        save(big, target)
    assert load(target).sizes["time"] == 10
    assert sorted(p.name for p in small_filesystem.iterdir()) == [target.name]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_ordinary_permissions(tmp_path, umask):
    from spikereduce.io import atomic_write_bytes

    old = os.umask(umask)
    try:
        path = atomic_write_bytes(tmp_path / "a.png", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    path.chmod(0o640)  # a replaced file keeps its mode
    atomic_write_bytes(path, b"y")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_bytes() == b"y"
