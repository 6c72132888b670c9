"""Every code block of the README and the docs runs as written.

Each page's blocks run in order in one fresh folder (``examples/`` and ``docs/`` linked in, so
the pages' relative paths work) and one namespace, as a reader would run them: ``python`` blocks
are executed (as ``__main__``), the ``$ ...`` lines of ``console`` blocks and the lines of
``bash`` blocks are run (``spikereduce`` in-process through the CLI's ``main``, ``python ...`` as
a subprocess) and must exit 0. A command that cannot run here must be listed in NOT_RUN with the
reason; an unlabelled or unknown block fails the test, so a page cannot add code nobody runs.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from spikereduce.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md")
                                    if "_build" not in p.parts)]

#: Commands shown but not run here, by prefix, and why.
NOT_RUN = {
    "make demo": "the set-up command; .ci/run installs the built wheel and runs the demo",
    "make test": "the command that runs this suite",
    "spikereduce demo #": "the full showcase; .ci/run runs it from the built wheel",
    "dask scheduler": "starts a scheduler on a head node (a multi-machine set-up)",
    "NUMBA_NUM_THREADS=1 dask worker": "starts workers on compute nodes",
    "spikereduce sweep examples/configs/markov_snn.toml --param params.p_ei=0.5:1.0:51 "
    "--scheduler": "needs the remote scheduler above",
    "make bench": "the benchmark suite (minutes; the performance page reports it)",
    ".venv/bin/python benchmarks/": "the benchmark suite",
    "python3 -m venv /tmp/anchors": "installs Brian2 and NEST from the network",
    "/tmp/anchors/": "installs Brian2 and NEST from the network",
    "# ": "a comment",
}
# block languages that hold no code to run (diagrams, config files)
TEXT = {"toml", "text", "json"}
_FENCE = re.compile(r"^```([A-Za-z0-9_-]*)\s*$")


def blocks(page: Path) -> list[tuple[str, int, str]]:
    """(language, first line, text) of every fenced block of ``page``."""
    out = []
    lang = None
    start = 0
    lines: list[str] = []
    for n, line in enumerate(page.read_text().splitlines(), 1):
        m = _FENCE.match(line)
        if lang is None and m:
            lang, start, lines = m.group(1), n + 1, []
        elif lang is not None and line.strip() == "```":
            out.append((lang, start, "\n".join(lines)))
            lang = None
        elif lang is not None:
            lines.append(line)
    return out


def commands(text: str, *, prompt: bool) -> list[str]:
    """Command lines of a shell block: ``$ `` lines (with ``\\`` continuations) if ``prompt``,
    else every non-empty line; trailing ``#`` comments removed."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending:
            if prompt and not line.startswith("$ "):
                continue
            line = line[2:] if prompt else line
        if not line:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    return [_strip_comment(c) for c in out]


def _strip_comment(cmd: str) -> str:
    if cmd.startswith("# "):
        return cmd
    return shlex.join(shlex.split(cmd, comments=True))


def _not_run(cmd: str) -> str | None:
    """The reason ``cmd`` is not run, or None. A key ending in " #" matches the whole command
    only; any other key is a prefix."""
    squeezed = " ".join(cmd.split())
    for key, why in NOT_RUN.items():
        if key.endswith(" #") and squeezed == key[:-2] or squeezed.startswith(key):
            return why
    return None


def _run_command(cmd: str, page: Path, line: int) -> None:
    argv = shlex.split(cmd)
    where = f"{page.relative_to(ROOT)}:{line}: {cmd}"
    if argv[0] == "spikereduce":
        assert main(argv[1:]) == 0, where
    elif argv[0] in ("python", "python3"):
        proc = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{where}\n{proc.stderr[-2000:]}"
    else:
        pytest.fail(f"{where}: a command this test cannot run; add it to NOT_RUN with a reason")


def _has_code(page: Path) -> bool:
    return any(lang not in TEXT for lang, _, _ in blocks(page))


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if _has_code(p)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_block_runs_as_written(page, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    for name in ("examples", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"),
                                                      os.environ.get("PYTHONPATH", "")]))
    namespace: dict = {"__name__": "__main__"}
    for lang, line, text in blocks(page):
        if lang == "python":
            code = compile(text, f"{page.name}:{line}", "exec")
            exec(code, namespace)  # noqa: S102 - the page's own example code
        elif lang in ("console", "bash"):
            for cmd in commands(text, prompt=lang == "console"):
                if _not_run(cmd) is None:
                    _run_command(cmd, page, line)
        elif lang not in TEXT:
            pytest.fail(f"{page.name}:{line}: a code block labelled {lang!r}; label it python, "
                        "console ($ lines), bash, toml or text")
