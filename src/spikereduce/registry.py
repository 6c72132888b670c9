"""Where families plug in: each family's ``entries`` module registers its run/demo/compare entries.

The CLI, the demo and sweeps look models up here, so adding a family touches no CLI code: a
subpackage ``spikereduce/<family>/entries.py`` is discovered and imported on first lookup.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ConfigError, ParameterError


@dataclass(frozen=True)
class SummaryRow:
    """One line of the demo's summary table."""

    family: str
    quantity: str
    value: str
    reference: str = ""
    note: str = ""


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()
_KINDS = {float: "a number", int: "an integer", bool: "true or false", str: "a string",
          list: "a list"}


@dataclass(frozen=True)
class Option:
    """One ``[run]`` option of a model, declared once: the CLI, sweeps, error messages and the
    options table of the docs (``spikereduce models``) all read this declaration."""

    name: str
    default: Any
    kind: type = float
    unit: str = ""
    doc: str = ""
    #: checks a value's content (raises ParameterError), for options whose errors should be
    #: found before a sweep starts (a module-level function: options travel to workers)
    validate: Callable[[Any], Any] | None = None

    def check(self, value: Any, where: str) -> Any:
        """``value`` as this option's kind (an integer is a number and an integral number an
        integer; None where the default is None), then its ``validate``; the model's own
        function checks the rest."""
        if value is None and self.default is None:
            return None
        value = self._kind(value, where)
        if self.validate is not None:
            try:
                self.validate(value)
            except ParameterError as exc:  # named as a run option, like every other check
                raise ParameterError(f"run.{self.name}", value, exc.admissible,
                                     message=f"run.{exc}") from None
        return value

    def _kind(self, value: Any, where: str) -> Any:
        k = self.kind
        if k is int and isinstance(value, float) and value.is_integer():
            value = int(value)  # n = 1e5 in a config means 100000
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) if k is float
              else isinstance(value, int) and not isinstance(value, bool) if k is int
              else isinstance(value, (list, tuple)) if k is list
              else isinstance(value, k))
        if not ok:
            admissible = _KINDS.get(k, k.__name__) + (" or none" if self.default is None else "")
            raise ParameterError(f"run.{self.name}", value, f"{admissible} ({where})")
        if k is float:
            try:
                return float(value)
            except OverflowError:  # an integer beyond the float range
                raise ParameterError(f"run.{self.name}", value,
                                     f"a number within +-1.8e308 ({where})") from None
        return list(value) if k is list else value

    @property
    def default_text(self) -> str:
        return "required" if self.default is REQUIRED else repr(self.default)


def resolve_options(options: Sequence[Option], given: Mapping[str, Any], where: str
                    ) -> dict[str, Any]:
    """The declared options with the given values checked and the defaults filled in; an
    unknown or missing name raises ParameterError listing the valid names."""
    known = {o.name: o for o in options}
    for name in given:
        if name not in known:
            raise ParameterError(f"run.{name}", given[name], message=(
                f"unknown run option {name!r} for {where}; "
                f"known: {', '.join(sorted(known)) or 'none'}"))
    out: dict[str, Any] = {}
    for o in options:
        if o.name in given:
            out[o.name] = o.check(given[o.name], where)
        elif o.default is REQUIRED:
            raise ParameterError(f"run.{o.name}", message=(
                f"missing run option {o.name!r} for {where} ({o.doc or o.kind.__name__})"))
        else:
            out[o.name] = o.default
    return out


@dataclass(frozen=True)
class Model:
    """A registered model's callable: checks ``cfg``'s options against the declaration and calls
    ``func(cfg, options)``. Plain data and a module-level function, so it pickles to workers."""

    func: Callable[[RunConfig, dict[str, Any]], Any]
    options: tuple[Option, ...]
    where: str

    def __call__(self, cfg: RunConfig) -> Any:
        return self.func(cfg, resolve_options(self.options, cfg.options, self.where))


@dataclass(frozen=True)
class CompareModel(Model):
    """A family's micro-vs-macro comparison, called with a config of one of its run models:
    options that model declares and the comparison does not use are set aside (they configure
    the single run, not the pair); any other name must be the comparison's own."""

    def __call__(self, cfg: RunConfig) -> Any:
        own = {o.name for o in self.options}
        entry = _REGISTRY.runs.get((cfg.family, cfg.model))
        theirs = {o.name for o in entry.options} if entry is not None else set()
        given = {k: v for k, v in cfg.options.items() if k in own or k not in theirs}
        return self.func(cfg, resolve_options(self.options, given, self.where))


@dataclass(frozen=True)
class RunEntry:
    family: str
    model: str
    run: Model
    figure: Callable[[Any], Any] | None = None
    description: str = ""
    params: Callable[..., Any] | None = None

    def check_params(self, cfg: RunConfig) -> Any:
        """Validate ``cfg``'s ``[params]`` as the model will (raises ParameterError), without
        running anything; None if the model declares no parameter class."""
        return None if self.params is None else self.params(**cfg.params)

    @property
    def options(self) -> tuple[Option, ...]:
        return self.run.options


@dataclass(frozen=True)
class DemoEntry:
    family: str
    run: Callable[[Path], list[SummaryRow]]
    description: str = ""


@dataclass(frozen=True)
class CompareEntry:
    family: str
    run: Model
    description: str = ""

    @property
    def options(self) -> tuple[Option, ...]:
        return self.run.options


@dataclass
class _Registry:
    runs: dict[tuple[str, str], RunEntry] = field(default_factory=dict)
    demos: dict[str, DemoEntry] = field(default_factory=dict)
    compares: dict[str, CompareEntry] = field(default_factory=dict)
    discovered: bool = False


_REGISTRY = _Registry()


def register_run(family: str, model: str, *, options: Sequence[Option] = (),
                 figure: Callable[[Any], Any] | None = None,
                 description: str = "",
                 params: Callable[..., Any] | None = None) -> Callable[[Callable], Callable]:
    """Decorator: ``run(config, options) -> Dataset`` is the ``[family, model]`` entry of
    ``run``/sweeps; ``options`` declares its ``[run]`` options (the function receives them
    checked, defaults filled in); ``params`` the class that validates ``[params]``, so that a
    sweep can check every point before anything starts.

    ``figure(ds) -> Figure`` (optional) draws the PNG that ``spikereduce run`` writes beside
    the result.
    """
    def deco(func: Callable) -> Callable:
        bound = Model(func, tuple(options), f"{family}/{model}")
        _REGISTRY.runs[(family, model)] = RunEntry(family, model, bound, figure, description,
                                                   params)
        return func
    return deco


def register_demo(family: str, *, description: str = "") -> Callable[[Callable], Callable]:
    """Decorator: ``demo(folder) -> list[SummaryRow]`` writes the family's showcase files."""
    def deco(func: Callable) -> Callable:
        _REGISTRY.demos[family] = DemoEntry(family, func, description)
        return func
    return deco


def register_compare(family: str, *, options: Sequence[Option] = (),
                     description: str = "") -> Callable[[Callable], Callable]:
    """Decorator: ``compare(config, options) -> analysis.compare.Comparison`` (micro vs
    macro), with its ``[run]`` options declared as for :func:`register_run`."""
    def deco(func: Callable) -> Callable:
        bound = CompareModel(func, tuple(options), f"{family} compare")
        _REGISTRY.compares[family] = CompareEntry(family, bound, description)
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


def options_markdown(entries: Sequence[RunEntry]) -> str:
    """The [run] options of ``entries`` as Markdown tables, one section per model."""
    lines = []
    for e in entries:
        lines += [f"## {e.family}/{e.model}", "", e.description, "",
                  "| option | default | unit | meaning |", "|---|---|---|---|"]
        for o in e.options:
            cells = (o.name, o.default_text, o.unit, o.doc)
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def get_compare(family: str) -> CompareEntry:
    discover()
    entry = _REGISTRY.compares.get(family)
    if entry is None:
        have = ", ".join(sorted(_REGISTRY.compares)) or "none"
        raise ConfigError(f"family {family!r} provides no micro-vs-macro comparison "
                          f"(families with one: {have})")
    return entry
