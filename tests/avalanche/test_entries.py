"""CLI entries of the avalanche family: run (example configs), compare and the demo."""

from pathlib import Path

import numpy as np
import pytest

from spikereduce import registry
from spikereduce.cli import main
from spikereduce.config import load_config
from spikereduce.io import load

CONFIGS = Path(__file__).resolve().parents[2] / "examples" / "configs"


@pytest.mark.numba
@pytest.mark.parametrize("name", ["ring", "homogeneous", "torus"])
def test_cli_run_example_config(tmp_path, name):
    out = tmp_path / f"{name}.nc"
    argv = ["run", str(CONFIGS / f"avalanche_{name}.toml"), "-o", str(out),
            "--set", "run.n_avalanches=2000"]
    if name == "torus":
        argv += ["--set", "params.l=12"]
    assert main(argv) == 0
    ds = load(out)
    assert ds.sizes["avalanche"] == 2000 and ds.attrs["family"] == "avalanche"
    assert ds["P_sim"].sum() == pytest.approx(1.0)
    assert ds.attrs["mean_size_theory"] > 1
    if name != "torus":
        assert ds["P_theory"].sum() == pytest.approx(1.0)
    assert out.with_suffix(".png").exists()


def test_cli_bad_parameter_is_one_line(tmp_path, capsys):
    argv = ["run", str(CONFIGS / "avalanche_ring.toml"), "-o", str(tmp_path / "o.nc"),
            "--set", "params.alpha=1.2"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "alpha" in err and err.count("\n") == 1
    argv[-1] = "run.delta=0.9"
    assert main(argv) == 2
    assert "delta" in capsys.readouterr().err


@pytest.mark.numba
def test_compare_rows_agree_with_theory():
    cfg = load_config(CONFIGS / "avalanche_ring.toml").with_overrides(
        {"run.n_avalanches": 50_000})
    result = registry.get_compare("avalanche").run(cfg)
    rows = {r.quantity.split("(")[0].strip(): r for r in result.rows}
    assert rows["mean size"].macro == pytest.approx(2.6457356, abs=1e-6)
    assert rows["mean size"].rel_error < 0.03
    tv = [r for r in result.rows if r.metric == "TV"][0]
    assert tv.distance < 0.02  # sampling floor ~ 0.007 at 5e4 avalanches
    # every sampled row is judged against three standard errors (seeded: all agree)
    assert [r.verdict for r in result.rows] == ["agrees"] * len(result.rows)
    assert result.figure is not None and "avalanche_ring" in result.datasets


@pytest.mark.slow
@pytest.mark.numba
def test_demo_writes_figures_and_data(tmp_path):
    rows = registry.demo_entries()
    demo = [d for d in rows if d.family == "avalanche"][0]
    summary = demo.run(tmp_path)
    for name in ("avalanche_torus.png", "avalanche_ring16.png", "avalanche_torus.nc",
                 "avalanche_ring16.nc"):
        assert (tmp_path / name).exists()
    values = {r.quantity: r for r in summary}
    r = values["ring16 P(1) (sim vs exact)"]
    assert abs(float(r.value) - float(r.reference)) < 0.005
    m = values["torus 32x32 mean size (sim vs FFT)"]
    assert abs(float(m.value) / float(m.reference) - 1) < 0.05
    assert np.isfinite(float(values["ring16 |determinant - closed form|"].value))
