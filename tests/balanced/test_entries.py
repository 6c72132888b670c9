"""CLI entries of the balanced family: example configs run, compare and demo."""

import time
from pathlib import Path

import numpy as np
import pytest

from spikereduce import registry
from spikereduce.cli import main
from spikereduce.io import load

CONFIGS = Path(__file__).resolve().parents[2] / "examples" / "configs"


@pytest.mark.numba
def test_cli_runs_the_network_config(tmp_path):
    out = tmp_path / "net.nc"
    assert main(["run", str(CONFIGS / "balanced_network.toml"), "-o", str(out),
                 "--set", "run.t_max=0.5", "--set", "run.n=300"]) == 0
    ds = load(out)
    assert ds.attrs["family"] == "balanced" and ds.attrs["n"] == 300 and ds.attrs["seed"] == 1
    assert float(ds["time"][-1]) == pytest.approx(0.5)
    assert ds["m_I"].values[0] == pytest.approx(-0.338132, abs=0.1)  # balanced start (T2)
    assert out.with_suffix(".png").exists()


def test_cli_runs_the_limit_config(tmp_path):
    out = tmp_path / "lim.nc"
    assert main(["run", str(CONFIGS / "balanced_limit.toml"), "-o", str(out),
                 "--set", "run.t_max=4.0", "--set", "run.n_points=5"]) == 0
    ds = load(out)
    # Set C (logistic) at t = 4 (spec T3).
    np.testing.assert_allclose(ds["m_I"].values[-1], -0.464588, atol=1e-5)
    assert out.with_suffix(".png").exists()


@pytest.mark.numba
def test_cli_runs_a_small_convergence_study(tmp_path):
    out = tmp_path / "conv.nc"
    assert main(["run", str(CONFIGS / "balanced_convergence.toml"), "-o", str(out),
                 "--set", "run.ns=[100, 400]", "--set", "run.replicates=[2, 1]",
                 "--set", "run.t_max=0.5", "--set", "run.times=[0.25, 0.5]"]) == 0
    ds = load(out)
    assert ds["n"].values.tolist() == [100, 400] and "slope_pooled" in ds.attrs


def test_cli_rejects_bad_values(tmp_path, capsys):
    cfg = str(CONFIGS / "balanced_network.toml")
    assert main(["run", cfg, "-o", str(tmp_path / "x.nc"), "--set", "params.beta_I=-1"]) == 2
    assert "beta_I" in capsys.readouterr().err
    assert main(["run", cfg, "-o", str(tmp_path / "x.nc"), "--set", "run.steps=3"]) == 2
    assert "unknown run option 'steps'" in capsys.readouterr().err
    assert main(["run", cfg, "-o", str(tmp_path / "x.nc"), "--set", "run.dt=0.3"]) == 2


@pytest.mark.numba
def test_compare_network_against_limit(tmp_path):
    cfg = registry.get_compare("balanced")
    assert cfg is not None
    assert main(["compare", str(CONFIGS / "balanced_network.toml"), "-o", str(tmp_path),
                 "--set", "run.t_max=1.0", "--set", "run.n=500"]) == 0
    assert (tmp_path / "balanced_compare.png").exists()
    net, lim = load(tmp_path / "network.nc"), load(tmp_path / "limit.nc")
    assert net["time"].size == lim["time"].size
    # n = 500: network within a few n^-1/2 of the limit (T6 band at n = 500 is about 0.05).
    assert float(np.max(np.abs(net["v_E"] - lim["v_E"]))) < 0.1


@pytest.mark.numba
def test_demo_writes_histograms_quickly(tmp_path):
    t0 = time.perf_counter()
    assert main(["demo", "--out", str(tmp_path), "--only", "balanced"]) == 0
    assert time.perf_counter() - t0 < 12.0 + 10.0  # 12 s in a fresh process; slack for load
    folder = tmp_path / "balanced"
    for name in ("balanced_histograms.png", "balanced_trajectories.png",
                 "balanced_network.nc", "balanced_limit.nc"):
        assert (folder / name).exists(), name
    assert "| balanced | m_I(0) balanced start (set B) | -0.338132 |" in (
        tmp_path / "summary.md").read_text()
    ds = load(folder / "balanced_network.nc")
    assert ds["x_E"].shape == (4, 2000)
