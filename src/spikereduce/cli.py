"""The ``spikereduce`` command: info, models, run, demo, compare, sweep.

Bad input prints one line on standard error and exits with status 2; set SPIKEREDUCE_DEBUG=1 to
see tracebacks of unexpected errors.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import __version__, registry
from .config import load_config, parse_value
from .errors import ConfigError, NumericalError, ParameterError, SpikeReduceError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Spiking networks side by side with the equations they reduce to.")


def _print_version(value: bool) -> None:
    if value:
        print(f"spikereduce {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="print the version and exit")] = False) -> None:
    """Finite spiking networks side by side with the equations they reduce to."""
# soft wrap: long lines (paths) are left to the terminal, never broken inside a word
out = Console(highlight=False, soft_wrap=True)


def _show(table: Table) -> None:
    """A table on the terminal; Markdown when the output is piped or redirected, so that no cell
    is wrapped or cut and the result pastes into a report."""
    if out.is_terminal:
        out.print(table)
        return
    lines = [f"**{table.title}**", ""] if table.title else []
    lines += _markdown(table)
    if table.caption:
        lines += ["", str(table.caption)]
    print("\n".join(lines), flush=True)


def _markdown(table: Table) -> list[str]:
    """A table's header and rows as Markdown lines (pipes in cells escaped)."""
    cols = table.columns
    heads = [str(c.header) for c in cols] if table.show_header else [""] * len(cols)
    cells = [[str(x) for x in c._cells] for c in cols]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in zip(*cells, strict=True):
        lines.append("| " + " | ".join(v.replace("|", "\\|").replace("\n", " ")
                                       for v in row) + " |")
    return lines


def _overrides(settings: list[str] | None) -> dict[str, object]:
    result: dict[str, object] = {}
    for item in settings or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError("--set", item, message=(
                f"--set {item!r}: expected NAME=VALUE, e.g. params.b=0.5 or run.t_max=2"))
        result[name.strip()] = parse_value(value.strip())
    return result


def _threading_layer(requested: str) -> str:
    """The layer numba will use for ``requested`` and the layers that load on this machine.

    numba picks a layer only when a parallel kernel first runs; this mirrors its choice
    (``default``/``safe``/``threadsafe``/``forksafe`` take the first that loads of tbb, omp,
    workqueue, each within its safety class) without compiling anything.
    """
    import importlib

    available = []
    for name, module in (("tbb", "tbbpool"), ("omp", "omppool"), ("workqueue", "workqueue")):
        try:
            importlib.import_module(f"numba.np.ufunc.{module}")
        except Exception:  # a missing or broken layer library: not available
            continue
        available.append(name)
    order = {"default": ["tbb", "omp", "workqueue"], "safe": ["tbb"],
             "threadsafe": ["tbb", "omp"], "forksafe": ["tbb", "omp", "workqueue"]}
    chosen = next((x for x in order.get(requested, [requested]) if x in available), None)
    listed = ", ".join(available) or "none"
    if chosen is None:
        return f"{requested}: not available (available: {listed})"
    return f"{chosen}" + (f" (from {requested})" if chosen != requested else "") + \
        f"; available: {listed}"


@app.command()
def info() -> None:
    """Versions, numba threading layer, cores and the registered families."""
    import importlib.metadata as md

    import numba

    table = Table(title=f"spikereduce {__version__}", show_header=False)
    table.add_row("python", sys.version.split()[0])
    for pkg in ("numpy", "scipy", "numba", "xarray", "h5netcdf", "zarr", "dask", "distributed",
                "matplotlib", "pydantic", "networkx", "powerlaw"):
        try:
            table.add_row(pkg, md.version(pkg))
        except md.PackageNotFoundError:
            table.add_row(pkg, "not installed")
    table.add_row("cores", str(os.cpu_count()))
    table.add_row("numba threads", str(numba.config.NUMBA_NUM_THREADS))
    table.add_row("numba threading layer", _threading_layer(numba.config.THREADING_LAYER))
    table.add_row("numba cache dir", numba.config.CACHE_DIR or "(beside the sources)")
    for entry in registry.run_entries():
        table.add_row(f"model {entry.family}/{entry.model}", entry.description)
    if not registry.families():
        table.add_row("families", "none registered")
    _show(table)


@app.command()
def models(name: Annotated[str | None, typer.Argument(
        help="FAMILY or FAMILY/MODEL; all models when omitted")] = None,
        markdown: Annotated[bool, typer.Option(
            "--markdown", help="print Markdown tables (the docs' options page)")] = False,
        ) -> None:
    """The registered models and their [run] options: name, default, unit and meaning."""
    entries = registry.run_entries()
    if name:
        family, _, model = name.partition("/")
        entries = [e for e in entries if e.family == family and (not model or e.model == model)]
        if not entries:
            registry.get_run(family, model or "?")  # raises with the known names
            raise ConfigError(f"no models match {name!r}")
    if markdown:
        print(registry.options_markdown(entries), end="")
        return
    for entry in entries:
        table = Table(title=f"{entry.family}/{entry.model}: {entry.description}",
                      title_justify="left")
        for column in ("option", "default", "unit", "meaning"):
            table.add_column(column)
        for o in entry.options:
            table.add_row(o.name, o.default_text, o.unit, o.doc)
        _show(table)


@app.command()
def run(config: Annotated[Path, typer.Argument(help="TOML config naming family, model, params")],
        output: Annotated[Path, typer.Option("--output", "-o", help="result file (.nc or .zarr)")],
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="override a value: seed=3, params.b=0.5, run.t_max=2")] = None,
        figure: Annotated[bool, typer.Option(help="also write a PNG beside the result")] = True,
        ) -> None:
    """Run one model from a config file; save the Dataset and a figure."""
    from .io import save
    from .plot import save_png

    cfg = load_config(config).with_overrides(_overrides(set_))
    entry = registry.get_run(cfg.family, cfg.model)
    t0 = time.perf_counter()
    ds = entry.run(cfg)
    wall = time.perf_counter() - t0
    path = save(ds, output)
    out.print(f"{cfg.family}/{cfg.model}: {wall:.2f} s -> {path}")
    if int(ds.attrs.get("blowup", 0)):
        out.print(f"blow-up at t = {float(ds.attrs['blowup_time']):.6g}: "
                  f"{ds.attrs.get('blowup_reason', 'the rate left the grid')}; the run stopped "
                  "there")
    if figure and entry.figure is not None:
        png = save_png(entry.figure(ds), path.with_suffix(".png"))
        out.print(f"figure -> {png}")


@app.command()
def demo(folder: Annotated[Path, typer.Option("--out", "-o", help="output folder")] = Path(
            "spikereduce-demo"),
         only: Annotated[list[str] | None, typer.Option(
             "--only", help="run only these families")] = None) -> None:
    """A short showcase of every family: figures, NetCDF files and a summary table."""
    entries = registry.demo_entries()
    if only:
        unknown = sorted(set(only) - {e.family for e in entries})
        if unknown:
            raise ConfigError(f"--only {unknown[0]!r}: no demo for that family "
                              f"(have: {', '.join(e.family for e in entries) or 'none'})")
        entries = [e for e in entries if e.family in only]
    if not entries:
        out.print("No family is registered yet; the demo would run, for each of "
                  "markov, avalanche, nlif and balanced, a micro and a macro model side by side "
                  f"and write figures, NetCDF files and summary.md into {folder}/.")
        return
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[registry.SummaryRow] = []
    for entry in entries:
        t0 = time.perf_counter()
        out.print(f"[bold]{entry.family}[/bold]: {entry.description}")
        rows.extend(entry.run(folder / entry.family))
        out.print(f"  done in {time.perf_counter() - t0:.1f} s")
    _write_summary(folder, rows)


@app.command()
def examples(copy: Annotated[Path | None, typer.Option(
                 "--copy", help="copy the shipped configs into this folder (existing files "
                 "are kept)")] = None) -> None:
    """List the example configs shipped with spikereduce (one per model), or copy them."""
    import tomllib
    from importlib.resources import files

    from .io import atomic_write_bytes

    shipped = sorted((p for p in files("spikereduce").joinpath("configs").iterdir()
                      if p.name.endswith(".toml")), key=lambda p: p.name)
    if copy is None:
        table = Table(title="example configs (spikereduce examples --copy DIR)")
        for col in ("config", "family/model", "description"):
            table.add_column(col)
        for p in shipped:
            cfg = tomllib.loads(p.read_text())
            table.add_row(p.name, f"{cfg.get('family')}/{cfg.get('model')}",
                          str(cfg.get("description", "")))
        _show(table)
        return
    if copy.exists() and not copy.is_dir():
        raise ConfigError(f"--copy {str(copy)!r} is a file, not a folder")
    copy.mkdir(parents=True, exist_ok=True)
    written, kept = 0, []
    for p in shipped:
        target = copy / p.name
        if target.exists():
            kept.append(p.name)
            continue
        atomic_write_bytes(target, p.read_bytes())
        written += 1
    out.print(f"{written} config(s) copied into {copy}/"
              + (f"; kept {len(kept)} existing file(s): {', '.join(kept)}" if kept else ""))
    out.print(f"run one with: spikereduce run {copy / 'markov_snn.toml'} -o snn.nc")


def _write_summary(folder: Path, rows: list[registry.SummaryRow]) -> None:
    from .io import atomic_write_bytes

    table = Table(title="spikereduce demo summary")
    for col in ("family", "quantity", "value", "reference", "note"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.family, r.quantity, r.value, r.reference, r.note)
    _show(table)
    atomic_write_bytes(folder / "summary.md", ("\n".join(_markdown(table)) + "\n").encode())
    out.print(f"summary -> {folder / 'summary.md'}")


@app.command()
def compare(config: Annotated[Path, typer.Argument(help="TOML config of the family to compare")],
            folder: Annotated[Path, typer.Option("--out", "-o", help="folder for figure/data")]
            = Path("spikereduce-compare"),
            set_: Annotated[list[str] | None, typer.Option("--set", help="override a value")]
            = None,
            figure: Annotated[bool, typer.Option(help="write the comparison figure")] = True,
            data: Annotated[bool, typer.Option(help="save the micro and macro datasets")] = True,
            ) -> None:
    """Run a family's micro and macro models on the same parameters and tabulate the errors.

    Writes <family>_compare.md/.json (the table), the figure and the datasets into --out.
    """
    from .analysis.compare import COLUMNS, Comparison
    from .io import atomic_write_bytes, save
    from .plot import save_png

    cfg = load_config(config).with_overrides(_overrides(set_))
    entry = registry.get_compare(cfg.family)
    t0 = time.perf_counter()
    result = entry.run(cfg)
    wall = time.perf_counter() - t0
    if not isinstance(result, Comparison):
        raise ConfigError(f"the {cfg.family} compare entry returned {type(result).__name__}, "
                          "not an analysis.compare.Comparison")
    table = Table(title=result.title or f"{cfg.family}: micro vs macro",
                  caption=f"computed in {wall:.2f} s (wall clock)", caption_justify="right")
    for col in COLUMNS:
        table.add_column(col, justify="right" if col in ("micro", "macro", "error") else "left")
    for cells in result.table_rows():
        table.add_row(*cells)
    _show(table)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{cfg.family}_compare"
    atomic_write_bytes(folder / f"{stem}.md", result.to_markdown().encode())
    atomic_write_bytes(folder / f"{stem}.json", result.to_json().encode())
    written = [f"{stem}.md", f"{stem}.json"]
    if data:
        for name, ds in result.datasets.items():
            written.append(save(ds, folder / f"{name}.nc").name)
    if figure and result.figure is not None:
        written.append(save_png(result.figure, folder / f"{stem}.png").name)
    out.print(f"-> {folder}/: {', '.join(written)}")


@app.command()
def sweep(config: Annotated[Path, typer.Argument(help="TOML config of the model to sweep")],
          param: Annotated[list[str], typer.Option(
              "--param", help="swept value: NAME=START:STOP:COUNT (both ends included) or "
                              "NAME=V1,V2,...; NAME is params.X (or X), run.X or "
                              "run.TABLE.FIELD (run.drive.amplitude); repeatable")],
          store: Annotated[Path, typer.Option("--store", help="Zarr store of the results "
                                                                "(a rerun resumes it)")],
          seeds: Annotated[int, typer.Option("--seeds", help="seed replicates per point")] = 1,
          workers: Annotated[int | None, typer.Option(
              "--workers", help="local worker processes (default: number of cores)")] = None,
          scheduler: Annotated[str | None, typer.Option(
              "--scheduler", help="address of a running Dask scheduler, tcp://HOST:8786")] = None,
          set_: Annotated[list[str] | None, typer.Option("--set", help="override a value")]
          = None) -> None:
    """Run a model over a grid of parameters on Dask, point by point into a resumable store."""
    from .sweep import SweepInterrupted, run_sweep

    cfg = load_config(config).with_overrides(_overrides(set_))
    try:
        result = run_sweep(cfg, param, store, seeds=seeds, workers=workers, scheduler=scheduler)
    except SweepInterrupted as exc:
        # typer turns a KeyboardInterrupt into a bare exit status; keep the message.
        raise _Interrupted(str(exc)) from None
    dims = " x ".join(f"{n} {d} value{'s' if n != 1 else ''}" if d != "replicate"
                      else f"{n} replicate{'s' if n != 1 else ''}"
                      for d, n in zip(result.dims, result.shape, strict=True))
    out.print(f"{cfg.family}/{cfg.model} sweep ({dims}): {result.computed} point(s) computed "
              f"in {result.wall_s:.1f} s, {result.already_done} already in the store "
              f"-> {result.store}")
    if result.damaged:
        out.print(f"{len(result.damaged)} finished point(s) failed their checksum and were "
                  f"computed again: {', '.join(map(str, result.damaged))}")


class _Interrupted(SpikeReduceError):
    """Ctrl-C with something to say (how far a sweep got)."""


def _fail(message: str, code: int = 2) -> int:
    # One line, whatever the message contains.
    print(f"spikereduce: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every input error into one line and exit status 2.

    Warnings raised while a command runs are held back: a command that fails prints only its
    one line; one that succeeds prints each distinct warning once, as one line, after its
    output.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = _main(argv)
    if status == 0:
        seen = set()
        for w in caught:
            text = " ".join(str(w.message).split())
            if text not in seen:
                seen.add(text)
                print(f"spikereduce: warning: {text}", file=sys.stderr)
    return status


def _main(argv: list[str] | None) -> int:
    command = typer.main.get_command(app)
    try:
        status = command.main(args=argv, prog_name="spikereduce", standalone_mode=False)
        if status == 130:  # typer's answer to a KeyboardInterrupt outside a sweep
            return _fail("interrupted", 130)
    except _Interrupted as exc:
        return _fail(str(exc), 130)
    except (ParameterError, ConfigError) as exc:
        return _fail(str(exc), 2)
    except NumericalError as exc:
        return _fail(f"numerical failure: {exc}", 3)
    except SpikeReduceError as exc:
        return _fail(str(exc), 2)
    except KeyboardInterrupt as exc:
        # A sweep's interruption says how far it got and how to finish.
        return _fail(str(exc) or "interrupted", 130)
    except Exception as exc:
        # typer ships its own copy of click, so its exceptions are recognised by class name.
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "NoArgsIsHelpError" in kinds:
            exc.show()
            return 0
        if "Exit" in kinds:
            return int(getattr(exc, "exit_code", 0))
        if "Abort" in kinds:
            return _fail("interrupted", 130)
        if "ClickException" in kinds:
            return _fail(exc.format_message(), 2)
        if isinstance(exc, OSError):
            return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "), 2)
        if os.environ.get("SPIKEREDUCE_DEBUG"):
            raise
        return _fail(f"internal error ({type(exc).__name__}): {exc}; "
                     "rerun with SPIKEREDUCE_DEBUG=1 for a traceback", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
