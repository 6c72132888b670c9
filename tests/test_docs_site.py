"""The documentation site builds without a warning, and its Markdown reader reports what a
reader would trip over (a link to a page the site does not contain)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

sphinx_cmd = pytest.importorskip("sphinx.cmd.build")

ROOT = Path(__file__).resolve().parents[1]


def _build(src: Path, out: Path) -> int:
    return sphinx_cmd.build_main(["-W", "--keep-going", "-q", "-b", "html", str(src), str(out)])


@pytest.mark.slow
def test_site_builds_without_warnings(tmp_path):
    assert _build(ROOT / "docs", tmp_path / "html") == 0
    html = tmp_path / "html"
    page = (html / "families" / "markov.html").read_text()
    assert "<table" in page and "markov_finite_size.png" in page
    assert 'href="nlif_multiscale.html"' in (html / "families" / "nlif.html").read_text()
    api = (html / "api" / "markov.html").read_text()
    assert "simulate_dsode" in api and "probability that an E neuron receives" in api
    for path in html.rglob("*.html"):  # no reference to a document the user does not have
        text = path.read_text()
        assert "spec §" not in text and "specs/" not in text and "design.md" not in text, path


def test_a_broken_link_fails_the_build(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(ROOT / "docs" / "_ext", src / "_ext")
    (src / "conf.py").write_text(
        "import sys\nsys.path.insert(0, r'%s')\nextensions = ['markdown_pages']\n"
        "source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}\n"
        "exclude_patterns = ['_ext']\n" % (src / "_ext"))
    (src / "index.rst").write_text("Home\n====\n\n.. toctree::\n\n   page\n")
    (src / "page.md").write_text("# Page\n\nSee [the other page](missing.md) and\n"
                                 "| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert _build(src, tmp_path / "out") != 0
    (src / "page.md").write_text("# Page\n\nSee [home](index.rst) and\n\n| a | b |\n"
                                 "|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n")
    assert _build(src, tmp_path / "out2") == 0
    html = (tmp_path / "out2" / "page.html").read_text()
    assert "<table" in html and "highlight-python" in html
