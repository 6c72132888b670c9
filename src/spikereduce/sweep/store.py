"""The Zarr store of a sweep: manifest, one folder and one completion marker per point, written
atomically, verified and reused on resume.

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
import os
import re
import shutil
import socket
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..io import atomic_write_bytes, process_alive, sanitized
from .grid import FORMAT, FORMAT_VERSION, MANIFEST, SweepPlan, fingerprint

LOCK = ".lock"
POINTS = "points"
_ZGROUP = b'{\n    "zarr_format": 2\n}\n'


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
        if manifest.get("fingerprint") != fingerprint(body):
            raise ConfigError(f"corrupt sweep store {self.path}: {MANIFEST} does not match its "
                              "fingerprint (edited or damaged); delete it to start again")
        return manifest

    def create_or_check(self, plan: SweepPlan) -> dict[str, Any]:
        """Write the manifest of a new store, or check that an existing store is this sweep."""
        from .. import __version__

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

    def verify(self, done: set[int]) -> list[int]:
        """Check every finished point in ``done`` against its marker's checksum (the data are
        read back); a point that fails (a truncated or swapped chunk, a missing variable or
        metadata file) loses its marker and data and leaves ``done``. Returns the damaged
        indices, which a resume then computes again. For the sweep's owner only."""
        damaged = []
        for index in sorted(done):
            try:
                self.read_point(index)
            except ConfigError:
                damaged.append(index)
                self.marker_path(index).unlink(missing_ok=True)
                _remove(self.data_path(index))
                done.discard(index)
        return damaged

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
                if pid > 0 and pid != me["pid"] and process_alive(pid):
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
