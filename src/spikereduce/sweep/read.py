"""Reading a sweep back: the finished points of a store as one Dataset over the grid."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..io import clean_attrs
from .grid import REPLICATE_DIM, point_seed
from .store import SweepStore


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
