"""The grid of a sweep: ``--param`` axes, seed replicates, and the plan that fixes every
point's configuration and seed (its fingerprint names the sweep in the store's manifest)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import RunConfig, parse_value
from ..errors import ParameterError
from ..params import check_int, check_seed
from ..rng import derive_seed

MANIFEST = "sweep.json"
#: The most points (grid points times seed replicates) one sweep may have: each is a Dask task
#: and a folder in the store. A larger sweep is split into several stores.
MAX_POINTS = 1_000_000
FORMAT = "spikereduce-sweep"
FORMAT_VERSION = 1
REPLICATE_DIM = "replicate"
_NAME = re.compile(r"^(?:(params|run)\.)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)$")


@dataclass(frozen=True)
class SweepParam:
    """One swept axis: the override key (``params.p_ei``, ``run.t_max``,
    ``run.drive.amplitude``) and its values.

    The Dataset dimension is the key without its section (``p_ei``, ``drive.amplitude``).
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

    NAME is ``params.X``, ``run.X``, ``run.TABLE.FIELD`` (one field of a table option, such as
    ``run.drive.amplitude``) or a bare ``X`` (meaning ``params.X``). Integer START and STOP
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
    if "." in match.group(2) and match.group(1) != "run":
        raise ParameterError("--param", spec, message=(
            f"--param {spec!r}: only run options have fields (run.TABLE.FIELD)"))
    if ":" in rest:
        parts = rest.split(":")
        if len(parts) != 3:
            raise ParameterError("--param", spec, message=f"--param {spec!r}: {usage}")
        start = _number(parts[0], "START", spec)
        stop = _number(parts[1], "STOP", spec)
        count = parse_value(parts[2].strip())
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_POINTS:
            raise ParameterError("--param", spec, message=(
                f"--param {spec!r}: COUNT {parts[2].strip()!r} must be an integer from 1 to "
                f"{MAX_POINTS}"))
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
                "fingerprint": fingerprint(body), **body}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def fingerprint(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def make_plan(cfg: RunConfig, grid: Sequence[SweepParam | str], *, seeds: int = 1) -> SweepPlan:
    """Validate a sweep: the grid's names against the config, the seed count, every point's
    overrides (cheap checks only; the family validates values when a point runs)."""
    if not isinstance(cfg, RunConfig):
        raise ParameterError("config", cfg, "a RunConfig (spikereduce.config.load_config)")
    seeds = check_int("seeds", seeds, lo=1, hi=MAX_POINTS)
    check_seed(cfg.seed)
    plan = SweepPlan(cfg, tuple(_as_params(grid)), seeds)
    if plan.n_points > MAX_POINTS:
        raise ParameterError("--param", " x ".join(map(str, plan.shape)), message=(
            f"a sweep of {plan.n_points} points (grid {' x '.join(map(str, plan.shape))}) is "
            f"more than {MAX_POINTS} points, one task and one folder each; split it"))
    plan.point_config(0)
    return plan


def grid_points(plan: SweepPlan) -> list[dict[str, Any]]:
    """The overrides of every point, in index order (for inspection and dry runs)."""
    return [plan.overrides(i) for i in range(plan.n_points)]
