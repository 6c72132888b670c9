"""Parameter sweeps of any registered run entry on Dask, written point by point to a Zarr store.

design.md "sweep.py" and "Reliability rules": a sweep killed at any moment and started again
computes only the missing points and ends with the same numbers as an uninterrupted run.

Store layout (a Zarr v2 hierarchy, so plain ``zarr``/``xarray`` can read every point)::

    OUT.zarr/
      .zgroup
      sweep.json            manifest: family, model, base config, grid, seeds (written first)
      points/.zgroup
      points/p000000/       the point's Dataset (renamed into place when complete)
      points/p000000.done   completion marker (JSON, written last, atomically)

A point counts as finished only when its marker exists; a point folder without a marker is what a
kill between the two writes leaves behind and is computed again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .config import RunConfig, parse_value
from .errors import ConfigError, NumericalError, ParameterError, SpikeReduceError
from .io import atomic_write_bytes, clean_attrs, sanitized
from .params import check_int, check_seed
from .rng import derive_seed

MANIFEST = "sweep.json"
LOCK = ".lock"
POINTS = "points"
FORMAT = "spikereduce-sweep"
FORMAT_VERSION = 1
REPLICATE_DIM = "replicate"
_ZGROUP = b'{\n    "zarr_format": 2\n}\n'
_NAME = re.compile(r"^(?:(params|run)\.)?([A-Za-z_][A-Za-z0-9_]*)$")


# --- the grid ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepParam:
    """One swept axis: the override key (``params.p_ei``, ``run.t_max``) and its values.

    The Dataset dimension is the bare name (``p_ei``).
    """

    key: str
    values: tuple[Any, ...]

    @property
    def dim(self) -> str:
        return self.key.partition(".")[2]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "dim": self.dim, "values": list(self.values)}


def _number(text: str, what: str, spec: str) -> float | int:
    value = parse_value(text.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError("--param", spec, message=(
            f"--param {spec!r}: {what} {text.strip()!r} is not a finite number"))
    return value


def parse_param(spec: str) -> SweepParam:
    """Parse ``NAME=START:STOP:COUNT`` (COUNT evenly spaced values, both ends included) or
    ``NAME=V1,V2,...`` (explicit values).

    NAME is ``params.X``, ``run.X`` or a bare ``X`` (meaning ``params.X``). Integer START and STOP
    with integer steps give integer values (for counts such as ``run.n``).
    """
    if not isinstance(spec, str):
        raise ParameterError("--param", spec, "a string NAME=START:STOP:COUNT")
    usage = "expected NAME=START:STOP:COUNT (e.g. params.p_ei=0.1:0.9:51) or NAME=V1,V2,..."
    name, sep, rest = spec.partition("=")
    match = _NAME.match(name.strip())
    if not sep or match is None or not rest.strip():
        raise ParameterError("--param", spec, message=f"--param {spec!r}: {usage}")
    key = f"{match.group(1) or 'params'}.{match.group(2)}"
    if ":" in rest:
        parts = rest.split(":")
        if len(parts) != 3:
            raise ParameterError("--param", spec, message=f"--param {spec!r}: {usage}")
        start = _number(parts[0], "START", spec)
        stop = _number(parts[1], "STOP", spec)
        count = parse_value(parts[2].strip())
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ParameterError("--param", spec, message=(
                f"--param {spec!r}: COUNT {parts[2].strip()!r} must be an integer >= 1"))
        if count == 1 and start != stop:
            raise ParameterError("--param", spec, message=(
                f"--param {spec!r}: COUNT = 1 needs START = STOP"))
        grid = np.linspace(float(start), float(stop), count)
        if isinstance(start, int) and isinstance(stop, int) and (
                count == 1 or (stop - start) % (count - 1) == 0):
            values: tuple[Any, ...] = tuple(int(round(v)) for v in grid)
        else:
            values = tuple(float(v) for v in grid)
    else:
        items = [v for v in rest.split(",")]
        values = tuple(_number(v, "value", spec) for v in items)
        if all(isinstance(v, int) for v in values):
            values = tuple(int(v) for v in values)
        else:
            values = tuple(float(v) for v in values)
    if len(set(values)) != len(values):
        raise ParameterError("--param", spec, message=f"--param {spec!r}: values repeat")
    return SweepParam(key, values)


def _as_params(grid: Sequence[SweepParam | str]) -> list[SweepParam]:
    axes = [parse_param(g) if isinstance(g, str) else g for g in grid]
    if not axes:
        raise ParameterError("--param", None, message="a sweep needs at least one --param")
    for ax in axes:
        if not isinstance(ax, SweepParam):
            raise ParameterError("grid", ax, "SweepParam objects or NAME=START:STOP:COUNT strings")
    dims = [ax.dim for ax in axes]
    for dim in dims:
        if dims.count(dim) > 1:
            raise ParameterError("--param", dim, message=f"--param: {dim!r} is swept twice")
        if dim == REPLICATE_DIM:
            raise ParameterError("--param", dim, message=(
                f"--param: {dim!r} is reserved for the seed replicates"))
    return axes


def point_seed(seed: int, index: int) -> int:
    """The seed of sweep point ``index``: :func:`spikereduce.rng.derive_seed` of the sweep's
    seed, so a point's result is the same whichever worker computes it, in whatever order."""
    return derive_seed(seed, index)


@dataclass(frozen=True)
class SweepPlan:
    """Everything that defines a sweep's numbers: base config, grid axes, seed replicates."""

    config: RunConfig
    axes: tuple[SweepParam, ...]
    seeds: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(ax.values) for ax in self.axes) + ((self.seeds,) if self.seeds > 1 else ())

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(ax.dim for ax in self.axes) + ((REPLICATE_DIM,) if self.seeds > 1 else ())

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)

    def position(self, index: int) -> tuple[int, ...]:
        """Grid position (one integer per dim) of point ``index`` (C order, replicate last)."""
        return tuple(int(i) for i in np.unravel_index(index, self.shape))

    def seed_of(self, index: int) -> int:
        return point_seed(self.config.seed, index)

    def overrides(self, index: int) -> dict[str, Any]:
        pos = self.position(index)
        out: dict[str, Any] = {ax.key: ax.values[i] for ax, i in zip(self.axes, pos, strict=False)}
        out["seed"] = self.seed_of(index)
        return out

    def point_config(self, index: int) -> RunConfig:
        return self.config.with_overrides(self.overrides(index))

    def manifest(self) -> dict[str, Any]:
        cfg = self.config
        body = {
            "family": cfg.family, "model": cfg.model,
            "params": _jsonable(dict(cfg.params)), "run": _jsonable(dict(cfg.options)),
            "seed": cfg.seed, "seeds": self.seeds,
            "grid": [ax.to_dict() for ax in self.axes],
            "dims": list(self.dims), "shape": list(self.shape), "n_points": self.n_points,
        }
        return {"format": FORMAT, "format_version": FORMAT_VERSION,
                "fingerprint": _fingerprint(body), **body}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _fingerprint(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def make_plan(cfg: RunConfig, grid: Sequence[SweepParam | str], *, seeds: int = 1) -> SweepPlan:
    """Validate a sweep: the grid's names against the config, the seed count, every point's
    overrides (cheap checks only; the family validates values when a point runs)."""
    if not isinstance(cfg, RunConfig):
        raise ParameterError("config", cfg, "a RunConfig (spikereduce.config.load_config)")
    seeds = check_int("seeds", seeds, lo=1)
    check_seed(cfg.seed)
    plan = SweepPlan(cfg, tuple(_as_params(grid)), seeds)
    plan.point_config(0)
    return plan


# --- the store -----------------------------------------------------------------------------------


def _point_name(index: int) -> str:
    return f"p{index:06d}"


class SweepStore:
    """A sweep's Zarr store on a local (or shared) file system."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.points = self.path / POINTS

    def data_path(self, index: int) -> Path:
        return self.points / _point_name(index)

    def marker_path(self, index: int) -> Path:
        return self.points / f"{_point_name(index)}.done"

    def read_manifest(self) -> dict[str, Any]:
        file = self.path / MANIFEST
        if not self.path.is_dir():
            raise ConfigError(f"no sweep store at {self.path}")
        if not file.exists():
            raise ConfigError(f"{self.path} is not a spikereduce sweep store (no {MANIFEST}); "
                              "refusing to touch it: choose another --store")
        try:
            manifest = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"corrupt sweep store {self.path}: cannot read {MANIFEST} "
                              f"({exc}); delete it to start again") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ConfigError(f"{self.path} is not a spikereduce sweep store "
                              f"({MANIFEST} has no format {FORMAT!r})")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ConfigError(f"{self.path}: sweep store format version "
                              f"{manifest.get('format_version')!r} is not {FORMAT_VERSION}")
        body = {k: v for k, v in manifest.items()
                if k not in ("format", "format_version", "fingerprint", "created",
                             "spikereduce_version")}
        if manifest.get("fingerprint") != _fingerprint(body):
            raise ConfigError(f"corrupt sweep store {self.path}: {MANIFEST} does not match its "
                              "fingerprint (edited or damaged); delete it to start again")
        return manifest

    def create_or_check(self, plan: SweepPlan) -> dict[str, Any]:
        """Write the manifest of a new store, or check that an existing store is this sweep."""
        from . import __version__

        wanted = plan.manifest()
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--store {self.path} exists and is not a folder")
        if self.path.is_dir() and not self._is_skeleton():
            have = self.read_manifest()
            if have["fingerprint"] != wanted["fingerprint"]:
                raise ConfigError(f"{self.path} holds a different sweep ({_describe(have)}), "
                                  f"not this one ({_describe(wanted)}); use another --store")
            self.points.mkdir(exist_ok=True)
            return have
        self.path.mkdir(parents=True, exist_ok=True)
        self.points.mkdir(exist_ok=True)
        atomic_write_bytes(self.points / ".zgroup", _ZGROUP)
        atomic_write_bytes(self.path / ".zgroup", _ZGROUP)
        stamped = {**wanted, "created": _now(), "spikereduce_version": __version__}
        # The manifest goes last of the three: a store with a manifest is complete as a container.
        atomic_write_bytes(self.path / MANIFEST, json.dumps(stamped, indent=1).encode())
        return stamped

    def _is_skeleton(self) -> bool:
        """Empty, or only what a creation killed before its manifest leaves behind."""
        def ours(folder: Path, allowed: set[str]) -> bool:
            return all(p.name in allowed or (p.name.startswith(".") and p.name.endswith(".tmp"))
                       for p in folder.iterdir())

        return ours(self.path, {".zgroup", POINTS}) and (
            not self.points.is_dir() or ours(self.points, {".zgroup"}))

    def scan(self, manifest: Mapping[str, Any], *, clean: bool = False) -> set[int]:
        """Indices of finished points; ``clean=True`` (the sweep's owner only) removes
        leftovers of interrupted writes."""
        n = int(manifest["n_points"])
        done: set[int] = set()
        if not self.points.is_dir():
            return done
        for entry in self.points.iterdir():
            name = entry.name
            if name.startswith(".") and name.endswith(".tmp"):
                if clean:
                    _remove(entry)  # a write in progress when the process died
                continue
            m = re.fullmatch(r"p(\d{6,})(\.done)?", name)
            if m is None:
                if name != ".zgroup":
                    raise ConfigError(f"corrupt sweep store {self.path}: unexpected entry "
                                      f"{POINTS}/{name}")
                continue
            index = int(m.group(1))
            if index >= n:
                raise ConfigError(f"corrupt sweep store {self.path}: point {index} is outside "
                                  f"the grid of {n} points")
            if m.group(2):
                if not self.data_path(index).is_dir():
                    raise ConfigError(f"corrupt sweep store {self.path}: point {index} is "
                                      "marked finished but its data are missing")
                marker = self.read_marker(index)
                if marker.get("fingerprint") != manifest["fingerprint"]:
                    raise ConfigError(f"corrupt sweep store {self.path}: point {index} belongs "
                                      "to a different sweep")
                done.add(index)
        for entry in list(self.points.iterdir()) if clean else []:
            m = re.fullmatch(r"p(\d{6,})", entry.name)
            if m and int(m.group(1)) not in done:
                _remove(entry)  # data renamed into place, killed before its marker
        return done

    def lock(self) -> None:
        """Claim the store for this process, so two sweeps never write into one store at once.

        A lock left by a process that died (SIGKILL, power loss) on this host is taken over.
        """
        lock = self.path / LOCK
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(3):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = json.loads(lock.read_text(encoding="utf-8"))
                    pid, host = int(holder["pid"]), str(holder["host"])
                except (OSError, ValueError, KeyError, TypeError):
                    pid, host = -1, me["host"]
                if host != me["host"]:
                    raise ConfigError(f"sweep store {self.path} is in use by process {pid} on "
                                      f"{host} (delete {lock} if that sweep is dead)") from None
                if pid > 0 and pid != me["pid"] and _alive(pid):
                    raise ConfigError(f"sweep store {self.path} is in use by process {pid}; "
                                      "wait for it or stop it") from None
                lock.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            return
        raise ConfigError(f"cannot lock sweep store {self.path}")

    def unlock(self) -> None:
        (self.path / LOCK).unlink(missing_ok=True)

    def read_marker(self, index: int) -> dict[str, Any]:
        try:
            marker = json.loads(self.marker_path(index).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"corrupt sweep store {self.path}: unreadable marker of point "
                              f"{index} ({exc})") from None
        if not isinstance(marker, dict) or marker.get("index") != index:
            raise ConfigError(f"corrupt sweep store {self.path}: bad marker of point {index}")
        return marker

    def write_point(self, index: int, ds: xr.Dataset, *, fingerprint: str, seed: int,
                    wall_s: float, run_id: str) -> None:
        """Write one point: data to a temporary folder, rename into place, then the marker."""
        tmp, checksum = self.write_temporary(index, ds)
        self.commit_point(index, tmp, checksum, fingerprint=fingerprint, seed=seed,
                          wall_s=wall_s, run_id=run_id)

    def write_temporary(self, index: int, ds: xr.Dataset) -> tuple[Path, str]:
        """Write a point's data to a fresh hidden folder beside its final place (a reader or
        :meth:`scan` ignores it; ``scan(clean=True)`` removes it if it is never committed).
        Returns the folder and the data's checksum. Safe to call from any process that sees
        the store, e.g. the Dask worker that computed the point."""
        tmp = self.points / f".{_point_name(index)}.{uuid.uuid4().hex}.tmp"
        ds = sanitized(ds, drop_encoding=True)
        try:
            ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2)
        except BaseException:
            _remove(tmp)
            raise
        return tmp, _checksum(ds)

    def commit_point(self, index: int, tmp: Path, checksum: str, *, fingerprint: str,
                     seed: int, wall_s: float, run_id: str) -> None:
        """Rename a written point into place, then write its marker (which makes it count)."""
        final = self.data_path(index)
        if tmp.parent.resolve() != self.points.resolve() or \
                not tmp.name.startswith(f".{final.name}."):
            raise ConfigError(f"sweep store {self.path}: {tmp} is not a temporary folder of "
                              f"point {index}")
        try:
            if final.exists():
                _remove(final)
            os.replace(tmp, final)
        except BaseException:
            _remove(tmp)
            raise
        marker = {"index": index, "fingerprint": fingerprint, "seed": seed,
                  "wall_s": wall_s, "finished": _now(), "run_id": run_id,
                  "checksum": checksum}
        atomic_write_bytes(self.marker_path(index), json.dumps(marker).encode())

    def read_point(self, index: int) -> xr.Dataset:
        try:
            with xr.open_zarr(self.data_path(index), consolidated=True) as ds:
                ds = ds.load()
        except Exception as exc:  # zarr/xarray raise many kinds for damaged folders
            raise ConfigError(f"corrupt sweep store {self.path}: cannot read point {index} "
                              f"({type(exc).__name__}: {exc})") from None
        marker = self.read_marker(index)
        if marker.get("checksum") != _checksum(ds):
            raise ConfigError(f"corrupt sweep store {self.path}: data of point {index} do not "
                              "match the checksum in its marker")
        return ds


def _describe(manifest: Mapping[str, Any]) -> str:
    axes = ", ".join(f"{g['key']} x{len(g['values'])}" for g in manifest.get("grid", []))
    return (f"{manifest.get('family')}/{manifest.get('model')}, {axes}, "
            f"seed {manifest.get('seed')}, {manifest.get('seeds')} seed(s)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _checksum(ds: xr.Dataset) -> str:
    """A digest of every variable's name, dims, dtype and values (not attrs, which hold times)."""
    h = hashlib.sha256()
    for name in sorted(ds.variables, key=str):
        var = ds.variables[name]
        values = np.asarray(var.values)
        h.update(repr((str(name), var.dims, values.shape)).encode())
        if values.dtype.kind in "OUS":
            h.update(json.dumps(values.astype(str).tolist()).encode())
        else:
            h.update(str(values.dtype.str[1:]).encode())
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()[:32]


# --- running -------------------------------------------------------------------------------------


def _compute_point(run: Callable[[RunConfig], Any], cfg: RunConfig,
                   write_to: tuple[str, int] | None = None) -> tuple[Any, float]:
    """Runs on a Dask worker: one point of the sweep, with its wall time (s).

    With ``write_to = (store path, index)`` the worker writes the data itself into a temporary
    folder of the store and returns a :class:`_Written` for the client to commit: the data never
    travel through the scheduler, and their encoding costs the worker's core rather than the
    client's. The library's own errors come back as data: their constructors take other
    arguments than their message, so they do not survive pickling back to the client as
    exceptions.
    """
    t0 = time.perf_counter()
    try:
        ds = run(cfg)
    except SpikeReduceError as exc:
        return _Failure(type(exc).__name__, str(exc), getattr(exc, "field", None)), 0.0
    if not isinstance(ds, xr.Dataset):
        return _Failure("ConfigError", f"{cfg.family}/{cfg.model}: the run entry returned "
                        f"{type(ds).__name__}, not an xarray.Dataset; it cannot be swept"), 0.0
    wall = time.perf_counter() - t0
    if write_to is None:
        return ds, wall
    tmp, checksum = SweepStore(write_to[0]).write_temporary(write_to[1], ds)
    return _Written(str(tmp), checksum), wall


@dataclass(frozen=True)
class _Written:
    """A point that its worker wrote into a temporary folder of the store."""

    tmp: str
    checksum: str


def _workers_share_store(client: Any, store: SweepStore) -> bool:
    """Whether every worker of ``client`` sees the store's folder (a local cluster, or a shared
    file system): the client writes a random token there and each worker must read it back."""
    token = uuid.uuid4().hex
    probe = store.points.resolve() / f".probe.{token}.tmp"
    try:
        probe.write_text(token, encoding="utf-8")
        seen = client.run(_read_text, str(probe))
    except Exception:  # no worker yet, a worker that cannot import us: write on the client
        return False
    finally:
        probe.unlink(missing_ok=True)
    return bool(seen) and all(v == token for v in seen.values())


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None


@dataclass(frozen=True)
class _Failure:
    kind: str
    message: str
    field: str | None = None

    def exception(self, where: str) -> SpikeReduceError:
        message = f"{where}: {self.message}"
        if self.kind == "ParameterError":
            return ParameterError(self.field or "params", message=message)
        if self.kind == "NumericalError":
            return NumericalError(message)
        return ConfigError(message)


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` did: the store, the grid size, and how many points it computed."""

    store: Path
    n_points: int
    computed: int
    already_done: int
    wall_s: float
    dims: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; finished points are in the store and a rerun completes it."""

    def __init__(self, store: Path, done: int, total: int):
        self.store, self.done, self.total = store, done, total
        super().__init__(f"interrupted: {done} of {total} points are finished in {store}; "
                         "run the same command again to compute the rest")


def _local_client(workers: int) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    # Ctrl-C in a terminal reaches the whole process group: the workers start with SIGINT
    # ignored (inherited), so only this process reacts, cancels the points and closes them.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        # One thread per worker process, and numba pinned to it: the points are the parallelism.
        # Logs below CRITICAL stay quiet: a point's failure reaches the client as its result,
        # and a shutdown after Ctrl-C can race a worker's heartbeat against the closing
        # scheduler, which dask logs as an ERROR with a traceback on the user's terminal.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=50,
                               env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return Client(cluster), cluster


def _remote_client(address: str) -> Any:
    from distributed import Client

    try:
        # Waits as long as dask's distributed.comm.timeouts.connect (30 s unless configured).
        return Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None


def run_sweep(cfg: RunConfig, grid: Sequence[SweepParam | str], store: str | os.PathLike[str],
              *, seeds: int = 1, workers: int | None = None, scheduler: str | None = None,
              client: Any = None, progress: bool | None = None,
              on_point: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run ``cfg``'s model over ``grid`` (and ``seeds`` replicates), one Dask task per point.

    Points already finished in ``store`` are kept and not computed again. The cluster is, in
    order of precedence: ``client`` (an existing ``distributed.Client``), ``scheduler`` (address
    of a running Dask scheduler, e.g. ``tcp://host:8786``), or a new local cluster of ``workers``
    single-threaded processes (default: the number of cores). Point ``i`` runs with seed
    :func:`point_seed` ``(cfg.seed, i)``. ``on_point(done, total)`` is called after each write.
    Ctrl-C raises :class:`SweepInterrupted` after cancelling the remaining points.
    """
    from . import registry

    plan = make_plan(cfg, grid, seeds=seeds)
    entry = registry.get_run(cfg.family, cfg.model)
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ParameterError("scheduler", scheduler, "a Dask scheduler address, tcp://HOST:PORT")
    sweep_store = SweepStore(store)
    manifest = sweep_store.create_or_check(plan)
    sweep_store.lock()
    try:
        return _run_locked(plan, entry, sweep_store, manifest, workers=workers,
                           scheduler=scheduler, client=client, progress=progress,
                           on_point=on_point)
    finally:
        sweep_store.unlock()


def _run_locked(plan: SweepPlan, entry: Any, sweep_store: SweepStore,
                manifest: Mapping[str, Any], *, workers: int | None, scheduler: str | None,
                client: Any, progress: bool | None,
                on_point: Callable[[int, int], None] | None) -> SweepResult:
    from .progress import progress_bar

    cfg = plan.config
    done = sweep_store.scan(manifest, clean=True)
    missing = [i for i in range(plan.n_points) if i not in done]
    t_start = time.perf_counter()
    if not missing:
        return SweepResult(sweep_store.path, plan.n_points, 0, len(done), 0.0, plan.dims,
                           plan.shape)
    configs = {i: plan.point_config(i) for i in missing}

    own_client = own_cluster = None
    if client is None:
        if scheduler is not None:
            client = own_client = _remote_client(scheduler)
        else:
            n = min(workers or os.cpu_count() or 1, len(missing))
            own_client, own_cluster = _local_client(n)
            client = own_client
    from distributed import as_completed

    run_id = uuid.uuid4().hex
    futures = []
    computed = 0
    label = f"sweep {cfg.family}/{cfg.model}" + (f" ({len(done)} already done)" if done else "")
    try:
        # Workers that see the store write their points themselves (see _compute_point).
        root = str(sweep_store.path.resolve()) if _workers_share_store(client, sweep_store) \
            else None
        for i in missing:
            # Lower indices first, so an interrupted sweep leaves a contiguous head of the grid.
            target = (root, i) if root is not None else None
            futures.append(client.submit(_compute_point, entry.run, configs[i], target,
                                         pure=False, key=f"spikereduce-point-{i}-{run_id}",
                                         priority=-i))
        index_of = {f.key: i for f, i in zip(futures, missing, strict=True)}
        with progress_bar(len(missing), label, enabled=progress, unit="points") as bar:
            for future in as_completed(futures):
                i = index_of[future.key]
                ds, wall = future.result()
                future.release()
                if isinstance(ds, _Failure):
                    where = ", ".join(f"{k}={v}" for k, v in plan.overrides(i).items())
                    raise ds.exception(f"sweep point {i} ({where})")
                if isinstance(ds, _Written):
                    sweep_store.commit_point(i, Path(ds.tmp), ds.checksum,
                                             fingerprint=manifest["fingerprint"],
                                             seed=configs[i].seed, wall_s=wall, run_id=run_id)
                else:
                    sweep_store.write_point(i, ds, fingerprint=manifest["fingerprint"],
                                            seed=configs[i].seed, wall_s=wall, run_id=run_id)
                computed += 1
                bar.update(computed)
                if on_point is not None:
                    on_point(len(done) + computed, plan.n_points)
    except KeyboardInterrupt:
        _cancel(client, futures)
        # Count the markers rather than trust ``computed``: the interrupt may land between a
        # point's marker and the count that follows it.
        finished = len(sweep_store.scan(manifest))
        raise SweepInterrupted(sweep_store.path, finished, plan.n_points) from None
    except BaseException:
        _cancel(client, futures)
        raise
    finally:
        if own_client is not None:
            own_client.close(timeout=10)
        if own_cluster is not None:
            own_cluster.close(timeout=10)
    return SweepResult(sweep_store.path, plan.n_points, computed, len(done),
                       time.perf_counter() - t_start, plan.dims, plan.shape)


def _cancel(client: Any, futures: list[Any]) -> None:
    try:
        client.cancel(futures, force=True)
    except Exception:  # the cluster may already be gone; nothing is left to save
        pass


# --- reading -------------------------------------------------------------------------------------


def sweep_status(store: str | os.PathLike[str]) -> tuple[int, int]:
    """``(finished, total)`` points of a sweep store."""
    s = SweepStore(store)
    manifest = s.read_manifest()
    return len(s.scan(manifest)), int(manifest["n_points"])


def open_sweep(store: str | os.PathLike[str], *, allow_incomplete: bool = False,
               preprocess: Callable[[xr.Dataset], xr.Dataset] | None = None) -> xr.Dataset:
    """The whole sweep as one Dataset, loaded into memory, with the swept parameters (and
    ``replicate`` when ``seeds > 1``) as leading dimensions before each point's own dims.

    Adds ``point_seed`` (coordinate: the seed each point ran with) and ``point_wall_s`` (wall
    time of each point, s). Points' time axes are outer-joined (padded with NaN) if they differ,
    e.g. when ``run.t_max`` is swept. Dimensions without a coordinate whose length varies
    between points (spike lists) are padded at the end (NaN; integers become floats) and their
    true lengths given in ``<dim>_count``. ``preprocess(ds)`` is applied to each point first
    (to drop or reduce variables, as in ``xarray.open_mfdataset``). A sweep with missing points
    is refused unless ``allow_incomplete=True``, which fills them with NaN and adds a boolean
    ``point_done``.
    """
    s = SweepStore(store)
    manifest = s.read_manifest()
    done = s.scan(manifest)
    n = int(manifest["n_points"])
    shape = tuple(int(k) for k in manifest["shape"])
    dims = list(manifest["dims"])
    if not done:
        raise ConfigError(f"sweep store {s.path} has no finished point yet")
    if len(done) < n and not allow_incomplete:
        raise ConfigError(f"sweep store {s.path} is incomplete ({len(done)} of {n} points); "
                          "run the sweep again to finish it, or open it with "
                          "allow_incomplete=True")
    datasets: dict[int, xr.Dataset] = {i: s.read_point(i) for i in sorted(done)}
    if preprocess is not None:
        datasets = {i: preprocess(ds) for i, ds in datasets.items()}
    datasets, counts = _pad_ragged(datasets)
    template = datasets[min(done)]
    clash = sorted(set(dims) & set(map(str, template.dims)))
    if clash:
        raise ConfigError(f"the points of {s.path} have their own dimension {clash[0]!r}, which "
                          "is also a swept parameter; open it with preprocess= to drop or rename "
                          "that dimension")
    seeds = np.zeros(n, dtype=np.int64)
    walls = np.full(n, np.nan)
    for i in range(n):
        seeds[i] = point_seed(int(manifest["seed"]), i)
        if i in done:
            walls[i] = float(s.read_marker(i).get("wall_s", np.nan))
    flat = [datasets[i] if i in datasets else _missing_like(template) for i in range(n)]
    for ds in flat:
        ds.attrs = {}
    nested: Any = np.empty(shape, dtype=object)
    for i, ds in enumerate(flat):
        nested[np.unravel_index(i, shape)] = ds
    combined = xr.combine_nested(nested.tolist(), concat_dim=dims, join="outer",
                                 combine_attrs="drop", data_vars="all", coords="different",
                                 compat="no_conflicts")
    coords: dict[str, Any] = {g["dim"]: np.asarray(g["values"]) for g in manifest["grid"]}
    if REPLICATE_DIM in dims:
        coords[REPLICATE_DIM] = np.arange(int(manifest["seeds"]))
    # combine_nested stacks the innermost axis first; put the grid dims back in grid order.
    combined = combined.transpose(*dims, ...).assign_coords(coords)
    combined = combined.assign_coords(point_seed=(dims, seeds.reshape(shape)))
    combined["point_wall_s"] = (dims, walls.reshape(shape), {"units": "s"})
    for dim, lengths in counts.items():
        full = np.array([lengths.get(i, 0) for i in range(n)], dtype=np.int64)
        combined[f"{dim}_count"] = (dims, full.reshape(shape),
                                    {"long_name": f"length of {dim} before padding"})
    if allow_incomplete:
        mask = np.zeros(n, dtype=bool)
        mask[sorted(done)] = True
        combined["point_done"] = (dims, mask.reshape(shape))
    for g in manifest["grid"]:
        combined[g["dim"]].attrs["sweep_key"] = g["key"]
    combined.attrs = clean_attrs({
        "family": manifest["family"], "model": manifest["model"],
        "params": json.dumps(manifest["params"], sort_keys=True),
        "run": json.dumps(manifest["run"], sort_keys=True),
        "seed": int(manifest["seed"]), "seeds": int(manifest["seeds"]),
        "sweep_grid": json.dumps(manifest["grid"]), "sweep_fingerprint": manifest["fingerprint"],
        "spikereduce_version": manifest.get("spikereduce_version", ""),
        "points_finished": len(done), "points_total": n,
    })
    return combined


def _pad_ragged(datasets: dict[int, xr.Dataset]
                ) -> tuple[dict[int, xr.Dataset], dict[str, dict[int, int]]]:
    """Pad dims without a coordinate whose length differs between points to a common length."""
    sizes: dict[str, set[int]] = {}
    for ds in datasets.values():
        for dim, size in ds.sizes.items():
            if dim not in ds.indexes:
                sizes.setdefault(str(dim), set()).add(int(size))
    ragged = {dim for dim, seen in sizes.items() if len(seen) > 1}
    if not ragged:
        return datasets, {}
    counts = {dim: {i: int(ds.sizes.get(dim, 0)) for i, ds in datasets.items()}
              for dim in sorted(ragged)}
    longest = {dim: max(sizes[dim]) for dim in ragged}
    padded = {}
    for i, ds in datasets.items():
        widths = {d: (0, longest[d] - ds.sizes[d]) for d in ragged if d in ds.sizes}
        padded[i] = ds.pad(widths) if any(w[1] for w in widths.values()) else ds
    return padded, counts


def _missing_like(template: xr.Dataset) -> xr.Dataset:
    """A stand-in for a point not computed yet: the template's variables, all NaN."""
    out = template.copy(deep=True)
    for name, var in template.data_vars.items():
        if var.dtype.kind in "fc":
            out[name] = var.copy(data=np.full(var.shape, np.nan, dtype=var.dtype))
        elif var.dtype.kind in "iub":
            out[name] = var.copy(data=np.full(var.shape, np.nan))
        else:
            out[name] = var.copy(data=np.full(var.shape, "", dtype=object))
    return out


def grid_points(plan: SweepPlan) -> list[dict[str, Any]]:
    """The overrides of every point, in index order (for inspection and dry runs)."""
    return [plan.overrides(i) for i in range(plan.n_points)]


__all__ = ["SweepParam", "SweepPlan", "SweepResult", "SweepInterrupted", "SweepStore",
           "parse_param", "point_seed", "make_plan", "run_sweep", "open_sweep", "sweep_status",
           "grid_points"]
