"""Bad input never crashes, hangs or lies: regression tests named after the classes of failure
an adversarial audit found (sizes nobody checked, hangs, nonsense with exit 0)."""

import time
from pathlib import Path

import numpy as np
import pytest

from spikereduce import balanced, markov, nlif
from spikereduce.cli import main
from spikereduce.errors import NumericalError, ParameterError
from spikereduce.params import MAX_STEPS, check_steps

CONFIGS = "examples/configs"


@pytest.mark.parametrize("config", ["markov_snn", "markov_sde", "markov_dsode",
                                    "markov_bifurcation", "nlif_particles",
                                    "nlif_fokker_planck", "nlif_multiscale", "balanced_network"])
@pytest.mark.parametrize("setting", ["run.t_max=1e12", "run.dt=1e-300"])
def test_sizes_nobody_checked_are_refused_before_anything_runs(config, setting, capsys):
    """A step count beyond MAX_STEPS (or records beyond the available memory) is refused with
    one line and exit 2, before anything is allocated (it used to run out of memory or hang)."""
    if config == "nlif_multiscale":
        setting = setting.replace("run.dt=", "run.dt_macro=")
    t0 = time.perf_counter()
    assert main(["run", f"{CONFIGS}/{config}.toml", "-o", "/nonexistent/x.nc", "--no-figure",
                 "--set", setting]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("steps of dt" in err or "is invalid" in err), err
    assert time.perf_counter() - t0 < 20


@pytest.mark.parametrize("run", [
    lambda: markov.simulate_network(markov.MarkovParams(), 0.05, seed=0),
    lambda: markov.simulate_dsode(markov.MarkovParams(), 0.05),
    lambda: nlif.simulate_particles(nlif.NLIFParams(b=0.5), 100, 0.5, dt=1.0,
                                    p0=nlif.gaussian_density(0, 0.25), seed=0),
    lambda: nlif.solve_fokker_planck(nlif.NLIFParams(b=0.5), nlif.gaussian_density(0, 0.25),
                                     5e-5),
])
def test_nonsense_dt_greater_than_t_max_is_refused(run):
    """A step longer than the run gave an IndexError (markov) or a result past t_max (nlif
    particles returned time = [1.0] for t_max = 0.5)."""
    with pytest.raises(ParameterError, match=r"t_max = .* must be >= dt"):
        run()


def test_memory_check_names_what_fits():
    with pytest.raises(ParameterError, match=r"fit in memory: .* GB needed"):
        check_steps(1e8, 1.0, bytes_per_step=1e6)
    assert check_steps(1.0, 0.1) == 10 and check_steps(0.1, 0.1) == 1
    with pytest.raises(ParameterError, match="or a larger dt"):
        check_steps(MAX_STEPS * 2.0, 1.0)


def test_limit_ode_that_cannot_reach_t_max_stops_with_a_message():
    """A hang: solve_limit at t_max = 1e12 ran without output for minutes; it now stops after
    max_evaluations right-hand-side evaluations, naming the bound to raise."""
    B = balanced.reference_set("B")
    y0 = balanced.balanced_initial(B, 0.0, 0.5, 0.1)
    t0 = time.perf_counter()
    with pytest.raises(NumericalError, match="max_evaluations"):
        balanced.solve_limit(B, y0, 1e12, max_evaluations=20_000)
    assert time.perf_counter() - t0 < 10
    assert float(balanced.solve_limit(B, y0, 4.0)["time"][-1]) == 4.0  # the default is ample


def test_a_drive_too_weak_to_trigger_avalanches_stops_with_a_message(monkeypatch):
    """A hang: simulate(..., delta=1e-300) drove the network for ever; it now stops after
    MAX_DRIVE_STEPS drive steps (1e9 by default; lowered here to keep the test short)."""
    import importlib

    from spikereduce import avalanche

    sim = importlib.import_module("spikereduce.avalanche.simulate")  # the module, not the function

    monkeypatch.setattr(sim, "MAX_DRIVE_STEPS", 200_000)
    with pytest.raises(NumericalError, match=r"0 of 100 avalanches after 2e\+05 drive steps"):
        avalanche.simulate(avalanche.weights.ring(10, 0.5), 100, delta=1e-300, seed=1)
    ds = avalanche.simulate(avalanche.weights.ring(10, 0.5), 100, seed=1)  # a normal drive
    assert ds.sizes["avalanche"] == 100


@pytest.mark.parametrize("argv,expected", [
    (["run", "/dev/zero", "-o", "x.nc"], "not a config file"),
    (["run", "{deep}", "-o", "x.nc"], "nested too deeply"),
    (["run", f"{CONFIGS}/avalanche_ring.toml", "-o", "x.nc", "--set", "run.n_avalanches=1e300"],
     "n_avalanches = "),
    (["run", f"{CONFIGS}/nlif_particles.toml", "-o", "x.nc", "--set", "run.n=1e12"],
     "n = 1000000000000 is invalid"),
    (["run", f"{CONFIGS}/balanced_convergence.toml", "-o", "x.nc", "--set", "run.ns=5"],
     "run.ns = 5 is invalid: must be a list"),
    (["sweep", f"{CONFIGS}/markov_dsode.toml", "--param", "params.p_ei=0:1:10000000",
      "--store", "s.zarr"], "COUNT '10000000' must be an integer from 1 to 1000000"),
    (["sweep", f"{CONFIGS}/markov_dsode.toml", "--param", "params.p_ei=0:1:2", "--seeds",
      "1000000000", "--store", "s.zarr"], "seeds = 1000000000 is invalid"),
])
def test_sizes_and_files_nobody_checked_give_one_line(tmp_path, capsys, argv, expected,
                                                      monkeypatch):
    """Regression (internal error, exit 1, for sizes nobody checked): one line, exit 2."""
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    monkeypatch.chdir(tmp_path)
    argv = [a.format(deep=deep) if "{deep}" in a else a for a in argv]
    argv = [str(Path(__file__).resolve().parents[1] / a) if a.startswith(CONFIGS) else a
            for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "s.zarr").exists()


def test_warnings_do_not_leak_into_the_one_line_error(capsys):
    """Regression: a failing run printed RuntimeWarnings before its one line."""
    cfg = Path(__file__).resolve().parents[1] / CONFIGS / "balanced_network.toml"
    assert main(["run", str(cfg), "-o", "x.nc", "--no-figure", "--set", "run.m_E0=1e300"]) in (2, 3)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spikereduce: error:")


@pytest.mark.parametrize("call,field", [
    (lambda: nlif.steady_states(None), "params"),
    (lambda: nlif.critical_coupling({"b": 1.0}), "params"),
    (lambda: nlif.blowup_certificate(nlif.NLIFParams(b=3), nlif.gaussian_density(-1, 0.5),
                                     n_mu=0), "n_mu"),
    (lambda: nlif.solve_fokker_planck(nlif.NLIFParams(b=0.5), "gauss", 0.1), "p0"),
    (lambda: nlif.simulate_particles(nlif.NLIFParams(b=0.5), 100, 0.1, p0="x", seed=0), "p0"),
    (lambda: __import__("spikereduce.avalanche", fromlist=["weights"]).weights.ring(10**7, 0.5),
     "N"),
    (lambda: __import__("spikereduce.avalanche", fromlist=["weights"]).weights.homogeneous(
        10**6, 0.5), "N"),
    (lambda: __import__("spikereduce.avalanche", fromlist=["closed_form"]).closed_form.line(
        10**6, 0.5), "N"),
    # found by tests/test_fuzz_runs.py
    (lambda: __import__("spikereduce.avalanche", fromlist=["closed_form"]
                        ).closed_form.homogeneous(10**12, 0.5), "N"),
    (lambda: __import__("spikereduce.avalanche", fromlist=["closed_form"]
                        ).closed_form.two_population(10**7, 1e-8, 1e-8, joint=True), "n_s"),
    (lambda: nlif.solve_fokker_planck(nlif.NLIFParams(b=0.5, v_f=1e12),
                                      nlif.gaussian_density(0, 0.25), 0.1), "h"),
    (lambda: nlif.simulate_multiscale(nlif.NLIFParams(b=0.5, current=1e300), 100, 0.1,
                                      p0=nlif.gaussian_density(0, 0.25), seed=0), "current"),
    (lambda: nlif.simulate_multiscale(nlif.NLIFParams(b=0.5), 100, 0.1, window=1e300,
                                      p0=nlif.gaussian_density(0, 0.25), seed=0), "window"),
    (lambda: nlif.simulate_multiscale(nlif.NLIFParams(b=0.5), 100, 0.1, bw=1e300,
                                      p0=nlif.gaussian_density(0, 0.25), seed=0), "bw"),
    (lambda: nlif.simulate_multiscale(nlif.NLIFParams(b=0.5), 10**300, 0.1,
                                      p0=nlif.gaussian_density(0, 0.25), seed=0), "n"),
])
def test_api_exceptions_that_were_not_spikereduce_errors(call, field):
    """Regression (AttributeError, ValueError, MemoryError or a hang from the public API):
    each is a ParameterError naming the field."""
    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.field == field


def test_cli_says_a_fokker_planck_blow_up_in_one_line(tmp_path, capsys):
    """Regression: a blow-up was recorded only in the file's attrs."""
    cfg = Path(__file__).resolve().parents[1] / CONFIGS / "nlif_fokker_planck.toml"
    assert main(["run", str(cfg), "-o", str(tmp_path / "b.nc"), "--no-figure", "--set",
                 "params.b=3", "--set", "run.v0=-1", "--set", "run.var=0.5", "--set",
                 "run.t_max=4"]) == 0
    assert "blow-up at t = 3.41" in capsys.readouterr().out


def test_hangs_relaxing_a_nearly_conservative_network_stops_with_a_message():
    """Regression (a hang): the stationary start of a network within 1e-12 of the conservative
    limit needed ~1e13 firings; it stops at MAX_RELAX_WORK with a NumericalError."""
    from spikereduce import avalanche

    W = avalanche.weights.homogeneous(100, 0.999999999999)
    t0 = time.perf_counter()
    with pytest.raises(NumericalError, match="1 - max row sum = 1e-12"):
        avalanche.simulate(W, 10, seed=1)
    assert time.perf_counter() - t0 < 30


def test_nonsense_a_fokker_planck_division_by_zero_ends_as_a_result_or_a_failure():
    """Regression (ZeroDivisionError inside the compiled step at b = -1e300): a zero divisor now
    gives inf/NaN, which the run reports; here the rate simply decays to 0."""
    ds = nlif.solve_fokker_planck(nlif.NLIFParams(b=-1e300), nlif.gaussian_density(0, 0.25),
                                  0.05, h=0.02)
    assert np.isfinite(ds["rate"].values).all() and ds["rate"].values[-1] < 1e-3


def test_sizes_a_population_beyond_any_integer_type_is_refused(capsys):
    """Regression (found by the run fuzzer): a dsODE of 1e300 neurons ran, then its result
    could not be stored (an object-dtype count); population sizes are capped at 1e9."""
    cfg = Path(__file__).resolve().parents[1] / CONFIGS / "markov_dsode.toml"
    assert main(["run", str(cfg), "-o", "/nonexistent/x.nc", "--no-figure", "--set",
                 "params.n_e=1e300"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_e" in err and "<= 1000000000" in err
