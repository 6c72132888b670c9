"""Run configurations: a TOML file naming a family, a model, its parameters and run options.

    family = "nlif"
    model = "particles"
    seed = 1
    [params]          # the family's parameter object
    b = 0.5
    [run]             # the model's run options (declared with the model: spikereduce models)
    n = 10000
    t_max = 2.0

Config files are data: they are parsed with ``tomllib`` and nothing in them is evaluated.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError, ParameterError
from .params import check_seed

_TOP_KEYS = {"family", "model", "seed", "params", "run", "description"}


@dataclass(frozen=True)
class RunConfig:
    """A parsed config; ``params`` and ``options`` are plain dicts that the family validates."""

    family: str
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    description: str = ""
    source: str = ""

    def with_overrides(self, overrides: Mapping[str, Any]) -> RunConfig:
        """Apply ``{"params.b": 0.5, "run.t_max": 2, "seed": 3}`` style overrides;
        ``run.TABLE.FIELD`` sets one field of a table option (``run.drive.amplitude``)."""
        params, options, seed = dict(self.params), dict(self.options), self.seed
        for key, value in overrides.items():
            section, _, name = key.partition(".")
            if key == "seed":
                seed = check_seed(value)
            elif section == "params" and name:
                params[name] = value
            elif section == "run" and "." in name:
                # one field of a table option, e.g. run.drive.amplitude
                table, _, sub = name.partition(".")
                if not sub or "." in sub:
                    raise ParameterError(key, value, message=(
                        f"cannot set {key!r}: names are 'run.NAME' or 'run.TABLE.FIELD'"))
                current = options.get(table)
                current = {} if current is None else current
                if not isinstance(current, Mapping):
                    raise ParameterError(key, value, message=(
                        f"cannot set {key!r}: run.{table} is not a table"))
                options[table] = {**current, sub: value}
            elif section == "run" and name:
                options[name] = value
            else:
                raise ParameterError(key, value, message=(
                    f"cannot set {key!r}: names are 'seed', 'params.NAME', 'run.NAME' or "
                    f"'run.TABLE.FIELD'"))
        return replace(self, params=params, options=options, seed=seed)


def parse_config(data: Mapping[str, Any], *, source: str = "") -> RunConfig:
    """Check the structure of a config mapping (the family validates the values)."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source or 'config'}: unknown top-level key {unknown[0]!r} "
                          f"(allowed: {', '.join(sorted(_TOP_KEYS))})")
    for key in ("family", "model"):
        if key not in data:
            raise ConfigError(f"{source or 'config'}: missing required key {key!r}")
        if not isinstance(data[key], str):
            raise ConfigError(f"{source or 'config'}: {key!r} must be a string")
    for key in ("params", "run"):
        if key in data and not isinstance(data[key], Mapping):
            raise ConfigError(f"{source or 'config'}: [{key}] must be a table")
    seed = check_seed(data.get("seed", 0))
    return RunConfig(family=data["family"], model=data["model"],
                     params=dict(data.get("params", {})), options=dict(data.get("run", {})),
                     seed=seed, description=str(data.get("description", "")), source=source)


#: The largest config file read (configs are a few hundred bytes; a larger file is not one).
MAX_CONFIG_BYTES = 1_000_000


def load_config(path: str | Path) -> RunConfig:
    """Read and structurally check a TOML config file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)  # a device or a huge file is not read whole
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: not a config file (larger than {MAX_CONFIG_BYTES} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read config file {path}: not UTF-8 text ({exc.reason})") \
            from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    return parse_config(data, source=str(path))


def parse_value(text: str) -> Any:
    """A command-line value: TOML syntax if it parses (numbers, booleans, arrays), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text
