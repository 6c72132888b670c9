"""The CLI: one-line errors with exit status 2 for bad input; run/demo through the registry."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from spikereduce import registry
from spikereduce.cli import main
from spikereduce.errors import ParameterError
from spikereduce.io import load, make_dataset
from spikereduce.params import Params, check_real


class ToyParams(Params):
    rate: float = Field(1.0, gt=0)
    p: float = Field(0.5, ge=0, le=1)


def _toy_run(cfg, opts):
    return _toy_simulate(ToyParams(**cfg.params), seed=cfg.seed, **opts)


def _toy_simulate(params, t_max=1.0, *, seed=0):
    t_max = check_real("t_max", t_max, lo=0, lo_open=True)
    t = np.linspace(0, t_max, 11)
    return make_dataset({"rate": ("time", params.rate * np.ones_like(t))}, {"time": t},
                        family="toy", model="const", params=params.to_dict(), seed=seed)


def _toy_figure(ds):
    from spikereduce.plot import rate_traces
    return rate_traces({"toy": (ds.time, ds.rate)})


def _toy_demo(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy.txt").write_text("ok")
    return [registry.SummaryRow("toy", "rate", "1.0", "1.0")]


@pytest.fixture(autouse=True)
def toy_family():
    registry.discover()
    registry.register_run("toy", "const", figure=_toy_figure, description="constant",
                          options=(registry.Option("t_max", 1.0, float, "s", "duration"),))(
        _toy_run)
    registry.register_demo("toy", description="toy demo")(_toy_demo)
    yield
    registry._REGISTRY.runs.pop(("toy", "const"), None)
    registry._REGISTRY.demos.pop("toy", None)


def _write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = 'family = "toy"\nmodel = "const"\nseed = 3\n[params]\nrate = 2.0\n[run]\nt_max = 5.0\n'


def test_run_saves_dataset_and_png(tmp_path, capsys):
    cfg = _write(tmp_path, GOOD)
    assert main(["run", str(cfg), "-o", str(tmp_path / "out.nc")]) == 0
    ds = load(tmp_path / "out.nc")
    assert float(ds.rate[0]) == 2.0 and float(ds.time[-1]) == 5.0 and ds.attrs["seed"] == 3
    assert (tmp_path / "out.png").exists()
    assert main(["run", str(cfg), "-o", str(tmp_path / "o2.nc"), "--set", "params.rate=4",
                 "--set", "seed=9"]) == 0
    ds = load(tmp_path / "o2.nc")
    assert float(ds.rate[0]) == 4.0 and ds.attrs["seed"] == 9


def test_demo_writes_folder_and_summary(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "d"), "--only", "toy"]) == 0
    assert (tmp_path / "d" / "toy" / "toy.txt").exists()
    assert "| toy | rate |" in (tmp_path / "d" / "summary.md").read_text()


BAD_INPUTS = {
    "missing file": (None, ["run", "{tmp}/absent.toml", "-o", "{tmp}/o.nc"], "not found"),
    "invalid toml": ("family = \n", ["run", "{cfg}", "-o", "{tmp}/o.nc"], "invalid TOML"),
    "unknown family": ('family = "nope"\nmodel = "x"\n', ["run", "{cfg}", "-o", "{tmp}/o.nc"],
                       "unknown family 'nope'"),
    "unknown model": ('family = "toy"\nmodel = "x"\n', ["run", "{cfg}", "-o", "{tmp}/o.nc"],
                      "unknown model 'x'"),
    "missing family": ('model = "x"\n', ["run", "{cfg}", "-o", "{tmp}/o.nc"],
                       "missing required key 'family'"),
    "bad parameter": (GOOD.replace("rate = 2.0", "rate = -1.0"),
                      ["run", "{cfg}", "-o", "{tmp}/o.nc"], "rate = -1.0"),
    "unknown parameter": (GOOD.replace("rate = 2.0", "speed = 1"),
                          ["run", "{cfg}", "-o", "{tmp}/o.nc"], "unknown parameter 'speed'"),
    "unknown run option": (GOOD.replace("t_max", "t_end"), ["run", "{cfg}", "-o", "{tmp}/o.nc"],
                           "unknown run option 't_end'"),
    "bad run value": (GOOD.replace("t_max = 5.0", "t_max = -5.0"),
                      ["run", "{cfg}", "-o", "{tmp}/o.nc"], "t_max = -5.0"),
    "bad output suffix": (GOOD, ["run", "{cfg}", "-o", "{tmp}/o.csv"], ".nc"),
    "bad --set": (GOOD, ["run", "{cfg}", "-o", "{tmp}/o.nc", "--set", "rate"], "NAME=VALUE"),
    "negative seed": (GOOD.replace("seed = 3", "seed = -3"), ["run", "{cfg}", "-o", "{tmp}/o.nc"],
                      "seed"),
    "no compare": (GOOD, ["compare", "{cfg}"], "no micro-vs-macro comparison"),
    "unknown command": (None, ["frobnicate"], "No such command"),
    "run option of the wrong kind": (GOOD.replace("t_max = 5.0", 't_max = "long"'),
                                     ["run", "{cfg}", "-o", "{tmp}/o.nc"],
                                     "run.t_max = 'long' is invalid: must be a number"),
    "missing argument": (None, ["run"], "Missing argument"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    text, argv, expected = BAD_INPUTS[case]
    cfg = _write(tmp_path, text) if text is not None else tmp_path / "absent.toml"
    argv = [a.format(tmp=tmp_path, cfg=cfg) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spikereduce: error:")
    assert expected in err
    assert "Traceback" not in err


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=st.one_of(st.floats(allow_nan=True), st.text(max_size=5), st.booleans()),
       p=st.floats(allow_nan=True, allow_infinity=True))
def test_generated_params_either_run_or_fail_cleanly(tmp_path, capsys, rate, p):
    def toml_value(x):
        if isinstance(x, str):
            return '"' + x.encode("unicode_escape").decode().replace('"', '\\"') + '"'
        if isinstance(x, bool):
            return "true" if x else "false"
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(x, "nan" if x != x else repr(x))

    text = (f'family = "toy"\nmodel = "const"\n[params]\nrate = {toml_value(rate)}\n'
            f"p = {toml_value(p)}\n")
    cfg = _write(tmp_path, text)
    code = main(["run", str(cfg), "-o", str(tmp_path / "o.nc"), "--no-figure"])
    err = capsys.readouterr().err
    valid = (isinstance(rate, float) and rate == rate and 0 < rate < float("inf")
             and p == p and 0 <= p <= 1)
    if valid:
        assert code == 0, err
    else:
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "spikereduce", "run", str(tmp_path / "x.toml"),
                           "-o", str(tmp_path / "o.nc")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not found" in proc.stderr


def test_info_runs(capsys):
    assert main(["info"]) == 0
    assert "numba" in capsys.readouterr().out


def test_info_names_the_threading_layer_numba_will_use():
    from spikereduce.cli import _threading_layer

    text = _threading_layer("default")
    chosen = text.split()[0].rstrip(";")
    assert chosen in ("tbb", "omp", "workqueue")
    assert f"available: {chosen}" in text or f", {chosen}" in text
    assert _threading_layer("no-such-layer").startswith("no-such-layer: not available")


def test_every_model_declares_documented_options_and_its_example_configs_resolve():
    """The declarations are the one source of [run] options: every option has a doc line, and
    every example config names only declared options of a right kind."""
    from pathlib import Path

    from spikereduce.config import load_config

    registry.discover()
    for entry in registry.run_entries():
        if entry.family == "toy":
            continue
        assert entry.options, f"{entry.family}/{entry.model} declares no options"
        for o in entry.options:
            assert o.doc, f"{entry.family}/{entry.model}: option {o.name} has no doc"
    configs = sorted(Path("examples/configs").glob("*.toml"))
    assert configs
    for path in configs:
        cfg = load_config(path)
        entry = registry.get_run(cfg.family, cfg.model)
        registry.resolve_options(entry.options, cfg.options, entry.run.where)


def test_option_of_the_wrong_kind_names_field_value_and_kind():
    registry.discover()
    entry = registry.get_run("nlif", "particles")
    with pytest.raises(ParameterError, match=r"run.n = '10' is invalid: must be an integer"):
        registry.resolve_options(entry.options, {"n": "10"}, "nlif/particles")
    with pytest.raises(ParameterError, match=r"unknown run option 'nn'.*known: bridge, cascade"):
        registry.resolve_options(entry.options, {"nn": 10}, "nlif/particles")
    got = registry.resolve_options(entry.options, {"dt": 1}, "nlif/particles")
    assert got["dt"] == 1.0 and isinstance(got["dt"], float) and got["n"] == 100_000
    assert registry.resolve_options(entry.options, {"n": 1e4}, "nlif/particles")["n"] == 10_000
    with pytest.raises(ParameterError, match=r"run.n = 10.5 is invalid: must be an integer"):
        registry.resolve_options(entry.options, {"n": 10.5}, "nlif/particles")


def test_cli_models_lists_the_declared_options(capsys):
    assert main(["models", "markov/dsode"]) == 0
    text = capsys.readouterr().out
    assert "refractory" in text and "'code'" in text and "ms" in text
    assert main(["models", "nofamily"]) == 2
    assert "unknown family 'nofamily'" in capsys.readouterr().err


def test_the_options_page_of_the_docs_matches_the_declarations():
    """docs/options.md is `spikereduce models --markdown`: regenerate it when an option changes."""
    from pathlib import Path

    registry.discover()
    entries = [e for e in registry.run_entries()
               if e.family in ("markov", "avalanche", "nlif", "balanced")]
    page = (Path(__file__).resolve().parents[1] / "docs" / "options.md").read_text("utf-8")
    assert page.endswith(registry.options_markdown(entries))


def test_run_refuses_an_output_folder_it_did_not_write(tmp_path, capsys):
    """Regression (-o deleted a folder it did not make): one line, exit 2, the folder kept."""
    cfg = _write(tmp_path, GOOD)
    folder = tmp_path / "d.zarr"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep")
    assert main(["run", str(cfg), "-o", str(folder), "--no-figure"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a result spikereduce wrote" in err
    assert (folder / "precious.txt").read_text() == "keep"


def test_version_flag_prints_the_version(capsys):
    from spikereduce import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"spikereduce {__version__}"


def test_examples_lists_and_copies_the_shipped_configs_without_overwriting(tmp_path, capsys):
    assert main(["examples"]) == 0
    listing = capsys.readouterr().out
    assert "markov_snn.toml" in listing and "nlif/time_dilated" in listing
    target = tmp_path / "cfg"
    assert main(["examples", "--copy", str(target)]) == 0
    shipped = sorted(p.name for p in (Path(__file__).parents[1] / "src" / "spikereduce"
                                      / "configs").glob("*.toml"))
    assert sorted(p.name for p in target.glob("*.toml")) == shipped
    (target / "markov_snn.toml").write_text("# mine\n")
    assert main(["examples", "--copy", str(target)]) == 0
    assert (target / "markov_snn.toml").read_text() == "# mine\n"  # a user's file is kept
    assert f"kept {len(shipped)} existing" in capsys.readouterr().out.replace("\n", " ")
    assert main(["run", str(target / "markov_dsode.toml"), "-o", str(tmp_path / "d.nc"),
                 "--set", "run.t_max=50"]) == 0


def test_tables_are_markdown_when_piped_and_boxes_on_a_terminal(monkeypatch, capsys):
    import io

    from rich.console import Console

    import spikereduce.cli as cli

    assert main(["models", "nlif/particles"]) == 0  # captured: not a terminal
    text = capsys.readouterr().out
    assert "| option | default | unit | meaning |" in text and "| n | 100000 | neurons |" in text
    buf = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buf, force_terminal=True, width=100))
    assert main(["models", "nlif/particles"]) == 0
    assert "┏" in buf.getvalue() and "option" in buf.getvalue()
    assert "| option |" not in buf.getvalue()
