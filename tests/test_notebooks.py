"""The example notebooks (examples/notebooks, one per family) run top to bottom in a Jupyter
kernel, and show progress bars there; they are kept in git without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))


def test_one_notebook_per_family_stored_without_outputs():
    assert [p.stem for p in NOTEBOOKS] == ["avalanche", "balanced", "markov", "nlif"]
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert code and all(not c["outputs"] and c["execution_count"] is None for c in code), path


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as for a user
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # a figure in every notebook, and the progress bars drawn in the notebook
    assert any("image/png" in o.get("data", {}) for o in outputs), path.stem
    shown = json.dumps([o for o in outputs if o.output_type == "display_data"],
                       ensure_ascii=False)
    assert "━" in shown, path.stem
