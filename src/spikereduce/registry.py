"""Where families plug in: each family's ``entries`` module registers its run/demo/compare entries.

The CLI, the demo and sweeps look models up here, so adding a family touches no CLI code: a
subpackage ``spikereduce/<family>/entries.py`` is discovered and imported on first lookup.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ConfigError


@dataclass(frozen=True)
class SummaryRow:
    """One line of the demo's summary table."""

    family: str
    quantity: str
    value: str
    reference: str = ""
    note: str = ""


@dataclass(frozen=True)
class RunEntry:
    family: str
    model: str
    run: Callable[[RunConfig], Any]
    figure: Callable[[Any], Any] | None = None
    description: str = ""


@dataclass(frozen=True)
class DemoEntry:
    family: str
    run: Callable[[Path], list[SummaryRow]]
    description: str = ""


@dataclass(frozen=True)
class CompareEntry:
    family: str
    run: Callable[[RunConfig], Any]
    description: str = ""


@dataclass
class _Registry:
    runs: dict[tuple[str, str], RunEntry] = field(default_factory=dict)
    demos: dict[str, DemoEntry] = field(default_factory=dict)
    compares: dict[str, CompareEntry] = field(default_factory=dict)
    discovered: bool = False


_REGISTRY = _Registry()


def register_run(family: str, model: str, *, figure: Callable[[Any], Any] | None = None,
                 description: str = "") -> Callable[[Callable], Callable]:
    """Decorator: ``run(config) -> Dataset`` is the ``[family, model]`` entry of ``run``/sweeps.

    ``figure(ds) -> Figure`` (optional) draws the PNG that ``spikereduce run`` writes beside
    the result.
    """
    def deco(func: Callable) -> Callable:
        _REGISTRY.runs[(family, model)] = RunEntry(family, model, func, figure, description)
        return func
    return deco


def register_demo(family: str, *, description: str = "") -> Callable[[Callable], Callable]:
    """Decorator: ``demo(folder) -> list[SummaryRow]`` writes the family's showcase files."""
    def deco(func: Callable) -> Callable:
        _REGISTRY.demos[family] = DemoEntry(family, func, description)
        return func
    return deco


def register_compare(family: str, *, description: str = "") -> Callable[[Callable], Callable]:
    """Decorator: ``compare(config) -> analysis.compare.Comparison`` (micro vs macro)."""
    def deco(func: Callable) -> Callable:
        _REGISTRY.compares[family] = CompareEntry(family, func, description)
        return func
    return deco


def discover() -> None:
    """Import every ``spikereduce.<family>.entries`` module once."""
    if _REGISTRY.discovered:
        return
    _REGISTRY.discovered = True
    import spikereduce

    for mod in sorted(pkgutil.iter_modules(spikereduce.__path__), key=lambda m: m.name):
        if not mod.ispkg:
            continue
        name = f"spikereduce.{mod.name}.entries"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def families() -> list[str]:
    discover()
    names = {f for f, _ in _REGISTRY.runs} | set(_REGISTRY.demos) | set(_REGISTRY.compares)
    return sorted(names)


def run_entries() -> list[RunEntry]:
    discover()
    return [_REGISTRY.runs[k] for k in sorted(_REGISTRY.runs)]


def demo_entries() -> list[DemoEntry]:
    discover()
    return [_REGISTRY.demos[k] for k in sorted(_REGISTRY.demos)]


def get_run(family: str, model: str) -> RunEntry:
    discover()
    entry = _REGISTRY.runs.get((family, model))
    if entry is not None:
        return entry
    known_families = families()
    if family not in known_families:
        known = ", ".join(known_families) or "none"
        raise ConfigError(f"unknown family {family!r} (known: {known})")
    models = sorted(m for f, m in _REGISTRY.runs if f == family)
    raise ConfigError(f"unknown model {model!r} for family {family!r} "
                      f"(known: {', '.join(models) or 'none'})")


def get_compare(family: str) -> CompareEntry:
    discover()
    entry = _REGISTRY.compares.get(family)
    if entry is None:
        have = ", ".join(sorted(_REGISTRY.compares)) or "none"
        raise ConfigError(f"family {family!r} provides no micro-vs-macro comparison "
                          f"(families with one: {have})")
    return entry
