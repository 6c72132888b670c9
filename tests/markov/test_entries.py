"""CLI runs of the markov example configs, the compare and demo entries (small settings)."""

from pathlib import Path

import numpy as np
import pytest

from spikereduce import registry
from spikereduce.cli import main
from spikereduce.config import load_config
from spikereduce.io import load

CONFIGS = Path(__file__).resolve().parents[2] / "examples" / "configs"


@pytest.mark.parametrize("model", ["snn", "sde", "dsode"])
def test_cli_run_example_config(tmp_path, model):
    out = tmp_path / f"{model}.nc"
    assert main(["run", str(CONFIGS / f"markov_{model}.toml"), "-o", str(out),
                 "--set", "run.t_max=300"]) == 0
    ds = load(out)
    assert ds.attrs["family"] == "markov" and ds.attrs["model"] == model
    assert float(ds.time[-1]) == pytest.approx(300.0)
    assert 20 < float(ds.nu_E) < 80 and ds.beat_hist.dims == ("dm_bin",)
    assert out.with_suffix(".png").exists()


def test_cli_run_bifurcation_config(tmp_path):
    out = tmp_path / "bif.nc"
    assert main(["run", str(CONFIGS / "markov_bifurcation.toml"), "-o", str(out),
                 "--set", "run.t_max=200", "--set", "run.count=2",
                 "--set", 'run.models=["dsode"]']) == 0
    ds = load(out)
    assert ds.beat_hist.shape == (1, 2, 120)
    assert out.with_suffix(".png").exists()


def test_cli_bad_parameter_is_one_line(tmp_path, capsys):
    assert main(["run", str(CONFIGS / "markov_snn.toml"), "-o", str(tmp_path / "o.nc"),
                 "--set", "params.p_ei=1.5"]) == 2
    assert "p_ei = 1.5" in capsys.readouterr().err


def test_compare_entry_rows_and_figure():
    cfg = load_config(CONFIGS / "markov_snn.toml").with_overrides({"run.t_max": 400.0})
    comp = registry.get_compare("markov").run(cfg)
    rows = {r.quantity: r for r in comp.rows}
    assert {"nu_E", "nu_I", "SSI_E", "mean H_EE"} <= set(rows)
    assert rows["nu_E"].unit == "Hz" and rows["nu_E"].rel_error < 0.2
    # the finite-size reduction is reported beside the deterministic one, from the config's seed
    assert {"nu_E, finite-size", "SSI_E, finite-size", "mean H_EE, finite-size"} <= set(rows)
    assert rows["nu_E, finite-size"].rel_error < 0.2
    assert rows["nu_E, finite-size"].micro == rows["nu_E"].micro
    assert rows["nu_E, finite-size"].macro != rows["nu_E"].macro
    assert comp.figure is not None
    assert set(comp.datasets) == {"snn", "dsode", "dsode_finite_size"}
    assert comp.datasets["dsode_finite_size"].attrs["finite_size"] == "authors"
    off = registry.get_compare("markov").run(cfg.with_overrides({"run.finite_size": "off"}))
    assert set(off.datasets) == {"snn", "dsode"} and len(off.rows) == len(comp.rows) // 2


def test_demo_writes_files(tmp_path):
    rows = registry.demo_entries()
    demo = next(d for d in rows if d.family == "markov")
    summary = demo.run(tmp_path)
    assert (tmp_path / "markov_raster.png").exists() and (tmp_path / "markov_h_space.png").exists()
    assert load(tmp_path / "markov_dsode.nc").attrs["model"] == "dsode"
    assert any("period-2 / period-2" == r.value for r in summary)
    assert all(np.isfinite(float(v)) for r in summary[:1] for v in r.value.split(" / "))
