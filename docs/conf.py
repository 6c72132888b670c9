"""Sphinx configuration of the spikereduce documentation site (``make docs``)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))

import spikereduce  # noqa: E402

project = "spikereduce"
author = "the spikereduce authors"
copyright = "2026, the spikereduce authors"
release = spikereduce.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode", "markdown_pages"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "README.md"]
templates_path: list[str] = []

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autoclass_content = "both"
add_module_names = False
default_role = "code"

html_theme = "alabaster"
html_title = f"spikereduce {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Spiking networks and the equations they reduce to, side by side",
    "fixed_sidebar": True,
    "page_width": "1180px",
    "sidebar_width": "240px",
}


def _escape_bars(app, what, name, obj, options, lines):
    """Docstrings write absolute values as |x|, which reST reads as substitutions: escape the
    bars outside inline literals."""
    for k, line in enumerate(lines):
        parts = line.split("``")
        for j in range(0, len(parts), 2):
            parts[j] = parts[j].replace("|", r"\|")
        lines[k] = "``".join(parts)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
