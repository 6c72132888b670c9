"""CLI entries of the nlif family: run the example configs, compare, bad input (spec nlif §4)."""

from pathlib import Path

import numpy as np
import pytest

from spikereduce.cli import main
from spikereduce.config import load_config
from spikereduce.io import load
from spikereduce.nlif import NLIFParams, gaussian_density
from spikereduce.nlif.entries import compare_particles_fp

CONFIGS = Path(__file__).resolve().parents[2] / "examples" / "configs"


@pytest.mark.numba
@pytest.mark.parametrize("name, overrides", [
    ("nlif_particles", ["run.t_max=0.3", "run.n=2000"]),
    ("nlif_pulse", ["run.t_max=1.05", "run.n=2000"]),
    ("nlif_fokker_planck", ["run.t_max=0.2", "run.h=0.02"]),
])
def test_example_configs_run_from_the_cli(tmp_path, name, overrides):
    out = tmp_path / f"{name}.nc"
    argv = ["run", str(CONFIGS / f"{name}.toml"), "-o", str(out)]
    for o in overrides:
        argv += ["--set", o]
    assert main(argv) == 0
    ds = load(out)
    assert ds.attrs["family"] == "nlif" and "rate" in ds and "cumulative_spikes" in ds
    assert np.all(np.isfinite(ds.rate))
    assert out.with_suffix(".png").exists()


def test_fokker_planck_config_blows_up_at_the_t3_time(tmp_path):
    out = tmp_path / "fp.nc"
    assert main(["run", str(CONFIGS / "nlif_fokker_planck.toml"), "-o", str(out),
                 "--no-figure", "--set", "run.h=0.02", "--set", "run.dt=0.0001"]) == 0
    ds = load(out)
    assert ds.attrs["blowup"] == 1 and abs(ds.attrs["blowup_time"] - 3.4189) < 2e-4


def test_bad_config_values_exit_2(tmp_path, capsys):
    cfg = CONFIGS / "nlif_particles.toml"
    assert main(["run", str(cfg), "-o", str(tmp_path / "o.nc"), "--set", "params.v_r=2.5"]) == 2
    assert "v_r = 2.5" in capsys.readouterr().err
    assert main(["run", str(cfg), "-o", str(tmp_path / "o.nc"), "--set", "run.n=0"]) == 2
    assert "n = 0" in capsys.readouterr().err
    assert main(["run", str(CONFIGS / "nlif_fokker_planck.toml"), "-o", str(tmp_path / "o.nc"),
                 "--set", "run.dt=0.001", "--set", "run.strict=true"]) == 2
    assert "dt = 0.001" in capsys.readouterr().err


@pytest.mark.numba
def test_compare_entry_tabulates_particles_against_fokker_planck(tmp_path, capsys):
    assert main(["compare", str(CONFIGS / "nlif_particles.toml"), "-o", str(tmp_path),
                 "--set", "run.n=5000", "--set", "run.t_max=1.0"]) == 0
    text = capsys.readouterr().out
    assert "mean rate" in text and "cumulative spikes" in text and "L2" in text
    assert (tmp_path / "nlif_compare.png").exists()
    assert (tmp_path / "nlif_particles.nc").exists()
    assert load_config(CONFIGS / "nlif_particles.toml").params["b"] == 0.5


@pytest.mark.numba
def test_compare_rows_agree_at_b05_and_note_the_blowup_at_b3():
    c = compare_particles_fp(NLIFParams(b=0.5), gaussian_density(0, 0.25), seed=2, n=20_000,
                             t_max=2.0, h=0.02)
    mean, cum, l2 = c.rows[:3]
    # 2e4 neurons over [1, 2]: ~2.7e3 spikes, Poisson sd ~0.0026 per unit time; 4 sd band.
    # Cumulative: ~4.8e3 spikes, relative sd 1.4 %; 4 sd band (plus the h = 0.02 grid's bias).
    assert abs(mean.micro - mean.macro) < 0.011
    assert cum.rel_error < 0.06 and l2.distance < 0.25 and l2.metric == "rel. L2"
    d = compare_particles_fp(NLIFParams(b=3.0), gaussian_density(-1, 0.5), seed=2, n=5000,
                             t_max=4.0, h=0.02)
    assert "blew up" in d.rows[0].note


@pytest.mark.numba
def test_compare_from_the_fokker_planck_config_stops_at_the_blowup(tmp_path, capsys):
    assert main(["compare", str(CONFIGS / "nlif_fokker_planck.toml"), "-o", str(tmp_path),
                 "--set", "run.h=0.02", "--set", "run.n=2000"]) == 0
    assert "blew up" in capsys.readouterr().out
