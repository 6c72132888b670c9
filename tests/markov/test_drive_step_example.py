"""The drive-step example (examples/markov_drive_step.py) on short runs: every model follows a
step of +2 kicks/ms, and the table and figure are written."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "markov_drive_step.py"


def _example():
    spec = importlib.util.spec_from_file_location("markov_drive_step", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_model_follows_a_step_in_drive(tmp_path):
    example = _example()
    results, rows = example.measure(2.0, 400.0, 800.0, 3)
    assert len(rows) == len(example.P_EI) * len(example.MODELS)
    for p, model, before, _first, after in rows:
        # +2 kicks/ms on 7 raises every rate by well over its seed-to-seed spread: 5 seeds give
        # ratios 1.24-1.62 for nu_E and nu_I at both p_EI, 3 seeds 1.20-1.58
        assert after[0] > 1.1 * before[0] and after[1] > 1.1 * before[1], (p, model)
    for (p, model), dsets in results.items():
        lam = dsets[0]["lam"].values
        assert lam[0] == 7.0 and lam[-1] == 9.0, (p, model)
    example.main(["--seeds", "1", "--t-max", "450", "--step-at", "250",
                  "--out", str(tmp_path / "step")])
    assert "| 0.95 | finite-size dsODE |" in (tmp_path / "step.md").read_text()
    assert (tmp_path / "step.png").stat().st_size > 10_000
