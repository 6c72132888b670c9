"""Result Datasets with provenance, and atomic save/load (NetCDF via h5netcdf, or Zarr).

Every simulation returns an ``xarray.Dataset`` built by :func:`make_dataset`, which records the
library version, the parameters as JSON, the seed, the creation time and wall time per phase.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import ConfigError, ParameterError

NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf")
ZARR_SUFFIXES = (".zarr",)


class PhaseTimer:
    """Cheap per-phase wall-clock timers (seconds), reported as ``wall_time_<phase>`` attrs.

    >>> timer = PhaseTimer()
    >>> with timer("compile"):
    ...     pass
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + float(seconds)


def _attr_value(value: Any) -> Any:
    """Coerce an attribute to a type NetCDF and Zarr both store (str, number, 1-D array)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, Number, np.number)):
        return value
    if isinstance(value, np.ndarray) and value.ndim <= 1 and value.dtype.kind in "iuf":
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, Number) and not isinstance(v, bool) for v in value):
        return np.asarray(value)
    return json.dumps(value, sort_keys=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return str(obj)


def clean_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _attr_value(v) for k, v in attrs.items()}


def provenance(*, family: str, model: str, params: Any = None, seed: int | None = None,
               timings: Mapping[str, float] | PhaseTimer | None = None,
               **extra: Any) -> dict[str, Any]:
    """The provenance attrs every result carries."""
    from . import __version__

    if isinstance(timings, PhaseTimer):
        timings = timings.seconds
    if params is not None and not isinstance(params, str):
        params = json.dumps(params, sort_keys=True, default=_json_default)
    attrs: dict[str, Any] = {
        "spikereduce_version": __version__,
        "family": family,
        "model": model,
        "params": params if params is not None else "{}",
        "seed": -1 if seed is None else int(seed),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for phase, seconds in (timings or {}).items():
        attrs[f"wall_time_{phase}"] = float(seconds)
    attrs.update(extra)
    return clean_attrs(attrs)


@contextmanager
def _without_dask_probe() -> Iterator[None]:
    """Wrap in-memory arrays without importing dask.

    xarray asks of every array it wraps whether it is a dask array, and answering imports
    ``dask.array`` (about 0.3 s, most of a short run's start-up) whenever dask is installed. While
    ``dask.array`` has not been imported no dask array can exist, so for the duration of the call
    xarray is told that dask is absent; its own answer is restored afterwards.
    """
    if "dask.array" in sys.modules:
        yield
        return
    try:
        from xarray.namedarray import pycompat

        cache = pycompat._cached_duck_array_modules
        stub = object.__new__(pycompat.DuckArrayModule)
        stub.module, stub.version, stub.type, stub.available = (
            None, pycompat.Version("0.0.0"), (), False)
    except (ImportError, AttributeError, TypeError):  # another xarray layout: just ask it
        yield
        return
    if "dask" in cache:
        yield
        return
    cache["dask"] = stub
    try:
        yield
    finally:
        if cache.get("dask") is stub:
            del cache["dask"]


def make_dataset(data_vars: Mapping[str, Any], coords: Mapping[str, Any] | None = None, *,
                 family: str, model: str, params: Any = None, seed: int | None = None,
                 timings: Mapping[str, float] | PhaseTimer | None = None,
                 time_units: str | None = None, **extra_attrs: Any) -> xr.Dataset:
    """Build a result Dataset with provenance attrs.

    ``data_vars`` and ``coords`` are passed to :class:`xarray.Dataset`; ``time_units`` is written
    to the ``time`` coordinate's ``units`` attr (and the Dataset's ``time_units``).
    """
    with _without_dask_probe():
        ds = xr.Dataset(data_vars=dict(data_vars), coords=dict(coords or {}))
    if time_units is not None:
        extra_attrs["time_units"] = time_units
        if "time" in ds.coords:
            ds["time"].attrs["units"] = time_units
    ds.attrs.update(provenance(family=family, model=model, params=params, seed=seed,
                               timings=timings, **extra_attrs))
    return ds


def params_of(ds: xr.Dataset) -> dict[str, Any]:
    """The parameters a result was computed with (parsed from its ``params`` attr)."""
    return json.loads(ds.attrs.get("params", "{}") or "{}")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in NETCDF_SUFFIXES:
        return "netcdf"
    if suffix in ZARR_SUFFIXES:
        return "zarr"
    raise ParameterError("path", str(path),
                         "a file name ending in .nc (NetCDF) or .zarr (Zarr store)")


def sanitized(ds: xr.Dataset, *, drop_encoding: bool = False) -> xr.Dataset:
    """A shallow copy of ``ds`` whose attrs (and its variables') are writable by every backend
    (see :func:`clean_attrs`); ``drop_encoding`` also forgets the encodings read from a file."""
    ds = ds.copy(deep=False)
    ds.attrs = clean_attrs(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = clean_attrs(ds[name].attrs)
        if drop_encoding:
            ds[name].encoding = {}
    return ds


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary_name(path: Path, kind: str = "tmp") -> Path:
    """A hidden sibling of ``path`` for a write in progress (``kind`` "tmp") or a store being
    replaced ("old"), named with this process's id so a later write can tell debris of a
    process that died from the files of one still running."""
    return path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.{kind}"


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_debris(path: Path) -> list[Path]:
    """Remove what killed writes to ``path`` left beside it: temporary files or stores and
    replaced stores of processes that no longer run. Returns what was removed."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:(\d+)\.)?[0-9a-f]{{32}}\.(?:tmp|old)")
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None or (m.group(1) is not None and process_alive(int(m.group(1)))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _write_error(path: Path, exc: OSError) -> ConfigError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return ConfigError(f"cannot write {path}: {reason}; nothing was changed at {path}")


def _check_room(path: Path, nbytes: int, largest_file: int | None = None) -> None:
    """Refuse before writing what the disk (``nbytes`` in all) or the file-size limit (the
    largest single file, ``nbytes`` unless given) cannot hold."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if free is not None and nbytes > free:
        raise ConfigError(f"cannot write {path}: it needs {nbytes / 1e6:.1f} MB and the disk "
                          f"has {free / 1e6:.1f} MB free; nothing was changed at {path}")
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        return
    largest = nbytes if largest_file is None else largest_file
    if limit != resource.RLIM_INFINITY and largest > limit:
        raise ConfigError(f"cannot write {path}: it needs a file of {largest / 1e6:.1f} MB and "
                          f"the process may write files of at most {limit / 1e6:.1f} MB (ulimit "
                          f"-f); nothing was changed at {path}")


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The mode a replaced file keeps, or what a plain ``open(path, "w")`` would give."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename).

    The file gets the permissions an ordinary write would give it (those of the file it
    replaces, else 0666 less the umask), not the owner-only mode of a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _new_file_mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _commit(tmp: Path, path: Path) -> None:
    """Move a completely written ``tmp`` to ``path``.

    A file is replaced atomically. A directory (Zarr) cannot be: the old one is renamed aside,
    then the new one renamed into place, so ``path`` never holds a partial store; between the two
    renames it is briefly absent (the old store is still whole under its ``.old`` name until the
    new one is in place).
    """
    if tmp.is_dir() and path.exists():
        trash = _temporary_name(path, "old")
        os.replace(path, trash)
        os.replace(tmp, path)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, path)


def is_own_result(path: Path) -> bool:
    """Whether ``path`` is a result file or Zarr store that :func:`save` wrote, and nothing
    else: only those are replaced by a save to the same path."""
    try:
        if path.is_symlink():
            return False
        if path.is_dir():
            if not (path / ".zgroup").is_file():
                return False
            for p in path.iterdir():  # only Zarr metadata and array folders
                if p.name in (".zgroup", ".zattrs", ".zmetadata"):
                    continue
                if not (p.is_dir() and (p / ".zarray").is_file()):
                    return False
            attrs = json.loads((path / ".zattrs").read_text(encoding="utf-8"))
            return "spikereduce_version" in attrs
        if path.is_file():
            import h5py

            with h5py.File(path, "r") as fh:
                return "spikereduce_version" in fh.attrs
    except Exception:  # unreadable, not HDF5, not JSON: not ours
        return False
    return False


def save(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Save a Dataset to NetCDF (``.nc``, h5netcdf engine) or Zarr (``.zarr``), atomically.

    The data go to a temporary name in the target's folder and are renamed into place only when
    complete, so an interrupted save never leaves a partial file under ``path``. An existing
    ``path`` is replaced only if it is a result spikereduce wrote (:func:`is_own_result`);
    anything else is left alone and the save refused. A NetCDF file is encoded in memory first,
    so a full disk or a file-size limit is found before anything is written; a failed write
    raises ConfigError and leaves the previous file untouched. Debris of killed writes to the
    same path is removed.
    """
    path = Path(path)
    fmt = _format(path)
    if path.exists() or path.is_symlink():
        if not is_own_result(path):
            raise ParameterError("output", str(path), message=(
                f"{path} exists and is not a result spikereduce wrote; it is left alone "
                "(choose another path, or remove it first)"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(path, exc) from None
    remove_debris(path)
    ds = sanitized(ds)
    tmp = _temporary_name(path)
    try:
        if fmt == "netcdf":
            data = bytes(ds.to_netcdf(engine="h5netcdf"))
            _check_room(path, len(data))
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            # Upper bounds: chunks are compressed, and a variable is at most one chunk here.
            _check_room(path, int(ds.nbytes),
                        max((int(v.nbytes) for v in ds.variables.values()), default=0))
            # Zarr format 2: a stable on-disk format for every dtype we write (strings included).
            ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2)
        _commit(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise _write_error(path, exc) from None
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def _remove_quietly(tmp: Path) -> None:
    if not tmp.is_dir():
        tmp.unlink(missing_ok=True)
        return
    # A failed Zarr write may still have chunk writes in flight on zarr's own threads, and
    # they create their folders again: remove until the temporary stays gone.
    for _ in range(40):
        shutil.rmtree(tmp, ignore_errors=True)
        time.sleep(0.025)
        if not tmp.exists():
            return


def load(path: str | os.PathLike[str]) -> xr.Dataset:
    """Load a Dataset saved by :func:`save` fully into memory (the file is closed afterwards)."""
    path = Path(path)
    fmt = _format(path)
    if not path.exists():
        raise ConfigError(f"no such file: {path}")
    try:
        if fmt == "netcdf":
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                return ds.load()
        with xr.open_zarr(path, consolidated=None) as ds:
            return ds.load()
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
