"""The micro-vs-macro comparison machinery (analysis.compare) and the `spikereduce compare`
command, on a toy family registered for the test."""

import json
import math

import numpy as np
import pytest

from spikereduce import registry
from spikereduce.analysis.compare import (
    Comparison,
    ComparisonRow,
    ks_distance,
    ks_samples,
    pmf_moments,
    relative_l2,
    total_variation,
)
from spikereduce.cli import main
from spikereduce.errors import ParameterError
from spikereduce.io import load, make_dataset


def test_row_errors():
    r = ComparisonRow("nu_E", 48.0, 44.0, "Hz")
    assert r.abs_error == 4.0 and r.rel_error == pytest.approx(4 / 48)
    assert r.error == r.rel_error and r.error_text() == "8.33%"
    assert ComparisonRow("x", 0.0, 0.0).error_text() == "0%"
    assert math.isnan(ComparisonRow("x", 0.0, 0.0).rel_error)
    undefined = ComparisonRow("period", float("nan"), 2.0)
    assert undefined.error_text() == "—" and undefined.to_dict()["micro"] is None
    d = ComparisonRow("P(s)", float("nan"), float("nan"), distance=0.0312, metric="KS")
    assert d.error == 0.0312 and d.error_text() == "0.0312 KS"


def _comparison():
    rows = [ComparisonRow("nu_E", 48.0, 44.0, "Hz", note="t > 200 ms"),
            ComparisonRow("SSI", 0.28, 0.32),
            ComparisonRow("P(s)", float("nan"), float("nan"), distance=0.5, metric="KS"),
            ComparisonRow("a|b", 1.0, 1.0)]
    return Comparison("toy", rows, title="toy: micro vs macro")


def test_comparison_tables():
    c = _comparison()
    md = c.to_markdown()
    assert md.startswith("## toy: micro vs macro")
    assert "| nu_E (Hz) | 48 | 44 | 8.33% | — | t > 200 ms |" in md
    assert "| P(s) | — | — | 0.5 KS | — |  |" in md
    assert "a\\|b" in md  # a pipe in a name does not break the table
    data = json.loads(c.to_json())
    assert data["family"] == "toy" and len(data["rows"]) == 4
    assert data["rows"][0]["rel_error"] == pytest.approx(1 / 12)
    assert data["rows"][2]["distance"] == 0.5 and data["rows"][2]["micro"] is None
    assert c.worst().quantity == "P(s)"
    assert Comparison("toy", []).worst() is None


def test_distances_on_known_distributions():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.0, 0.5, 0.5])
    assert ks_distance(p, q) == pytest.approx(0.5)
    assert total_variation(p, q) == pytest.approx(0.5)
    assert ks_distance(p, 3 * p) == 0.0  # weights are normalised
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert pmf_moments([1, 2, 3], [1, 2, 1]) == pytest.approx((2.0, 0.5))
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    # Two samples of one law: KS statistic ~ sqrt(2/n) scale; 0.1 is > 7 sigma away.
    assert ks_samples(x, rng.normal(size=2000)) < 0.1
    assert ks_samples(x, x + 1.0) > 0.3
    assert relative_l2([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_l2([2.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)


@pytest.mark.parametrize("call, field", [
    (lambda: ks_distance([0.5, 0.5], [1.0]), "q"),
    (lambda: ks_distance([-0.1, 1.1], [0.5, 0.5]), "p"),
    (lambda: total_variation([0.0, 0.0], [0.5, 0.5]), "p"),
    (lambda: total_variation([0.5, np.nan], [0.5, 0.5]), "p"),
    (lambda: ks_samples([], [1.0]), "samples"),
    (lambda: pmf_moments([1, 2], [1, 1, 1]), "support"),
])
def test_distance_inputs_are_validated(call, field):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.field == field


# --- the command -------------------------------------------------------------------------------


def _toy_compare(cfg, opts):
    k = float(cfg.params.get("k", 1.0))
    t = np.linspace(0, 1, 11)
    micro = make_dataset({"rate": ("time", k * (1 + 0.1 * t))}, {"time": t}, family="toy",
                         model="micro", params={"k": k}, seed=cfg.seed)
    macro = make_dataset({"rate": ("time", k * np.ones_like(t))}, {"time": t}, family="toy",
                         model="macro", params={"k": k}, seed=cfg.seed)
    from spikereduce.plot import rate_traces

    fig = rate_traces({"micro": (t, micro.rate), "macro": (t, macro.rate)})
    rows = [ComparisonRow("mean rate", float(micro.rate.mean()), float(macro.rate.mean()), "Hz"),
            ComparisonRow("rate trace", float("nan"), float("nan"),
                          distance=relative_l2(micro.rate, macro.rate), metric="rel. L2")]
    return Comparison("toy", rows, figure=fig, datasets={"micro": micro, "macro": macro})


def _bad_compare(cfg, opts):
    return {"nu": 1.0}


@pytest.fixture(autouse=True)
def toy_family():
    registry.discover()
    registry.register_compare("toy")(_toy_compare)
    registry.register_compare("toybad")(_bad_compare)
    yield
    registry._REGISTRY.compares.pop("toy", None)
    registry._REGISTRY.compares.pop("toybad", None)


def test_cli_compare_prints_table_and_writes_files(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('family = "toy"\nmodel = "micro"\n[params]\nk = 2.0\n')
    out = tmp_path / "cmp"
    assert main(["compare", str(cfg), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "mean rate (Hz)" in text and "4.76%" in text and "rel. L2" in text
    table = json.loads((out / "toy_compare.json").read_text())
    assert table["rows"][0]["micro"] == pytest.approx(2.1)
    assert "| mean rate (Hz) | 2.1 | 2 | 4.76% |" in (out / "toy_compare.md").read_text()
    assert (out / "toy_compare.png").stat().st_size > 1000
    assert float(load(out / "micro.nc").rate[-1]) == pytest.approx(2.2)
    out2 = tmp_path / "cmp2"
    assert main(["compare", str(cfg), "-o", str(out2), "--no-figure", "--no-data",
                 "--set", "params.k=1"]) == 0
    assert sorted(p.name for p in out2.iterdir()) == ["toy_compare.json", "toy_compare.md"]


def test_cli_compare_entry_returning_the_wrong_type_exits_2(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('family = "toybad"\nmodel = "x"\n')
    assert main(["compare", str(cfg), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an analysis.compare.Comparison" in err


def test_rows_carry_a_verdict_against_their_band_and_absolute_errors_near_zero():
    near_zero = ComparisonRow("m_E", 0.083, 0.022, "", absolute=True)
    assert near_zero.error == pytest.approx(0.061) and near_zero.error_text() == "±0.061"
    assert near_zero.verdict == ""  # no band, no verdict
    within = ComparisonRow("P(s=1)", 0.3014, 0.3009, band=0.003)
    outside = ComparisonRow("law", 0.37, 0.36, distance=0.075, metric="KS", band=0.030)
    assert within.verdict == "agrees" and outside.verdict == "differs"
    assert ComparisonRow("x", 1.0, float("nan"), band=1.0).verdict == ""
    c = Comparison("toy", [within, outside])
    assert "| verdict |" in c.to_markdown() and "| differs |" in c.to_markdown()
    assert json.loads(c.to_json())["rows"][1]["verdict"] == "differs"
