"""Fuzzing what runs: generated command lines over every example config, and adversarial
arguments to the public functions. Each case either refuses in one line (exit 2; exit 3 for a
reported numerical failure) or returns a result without NaN, within a time bound; never exit 1,
a traceback, or another exception class.

The bound cases are small (each starts from a shrunken config), so the suite runs in about a
minute; SPIKEREDUCE_FUZZ_EXAMPLES raises the number of cases per config or function.
"""

import _thread
import math
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikereduce import avalanche, balanced, markov, nlif, registry
from spikereduce.avalanche import closed_form, theory
from spikereduce.avalanche.models import MODELS
from spikereduce.cli import main
from spikereduce.config import load_config
from spikereduce.errors import SpikeReduceError
from spikereduce.io import load

RUNS = int(os.environ.get("SPIKEREDUCE_FUZZ_EXAMPLES", "4"))
BOUND_S = 60.0  # no single case may take longer
CONFIGS = Path(__file__).resolve().parents[1] / "examples" / "configs"

# Overrides that make each example config cheap; a fuzzed setting of the same key replaces its.
CHEAP = {
    "avalanche_homogeneous": {"run.n_avalanches": "2000"},
    "avalanche_modular": {"run.n_avalanches": "2000"},
    "avalanche_ring": {"run.n_avalanches": "2000"},
    "avalanche_torus": {"run.n_avalanches": "2000"},
    "balanced_convergence": {"run.ns": "[100, 200]", "run.replicates": "[2, 2]",
                             "run.t_max": "0.2", "run.times": "[0.1, 0.2]"},
    "balanced_limit": {"run.t_max": "1.0"},
    "balanced_network": {"run.n": "200", "run.t_max": "0.2"},
    "markov_bifurcation": {"run.count": "2", "run.t_max": "50.0"},
    "markov_dsode": {"run.t_max": "50.0"},
    "markov_sde": {"run.t_max": "50.0"},
    "markov_snn": {"run.t_max": "50.0"},
    "nlif_fokker_planck": {"run.t_max": "0.05"},
    "nlif_multiscale": {"run.n": "2000", "run.t_max": "0.05"},
    "nlif_particles": {"run.n": "2000", "run.t_max": "0.05"},
    "nlif_pulse": {"run.n": "2000", "run.t_max": "0.05"},
    "nlif_time_dilated": {"run.t_max": "0.05"},
}

# TOML values as a user types them after --set: edges, wrong kinds, containers.
LITERALS = ["0", "-1", "1", "2", "0.5", "-0.0", "nan", "inf", "-inf", "1e300", "-1e300",
            "1e-300", "1e12", "9223372036854775808", "true", "false", '"x"', '""', "[]",
            "[1, 2]", "[0.5, nan]", "{a = 1}", "0.999999999999", "1e-7"]


@contextmanager
def _watchdog(seconds):
    """Interrupt the main thread if the block runs past ``seconds`` (a hang ends the case)."""
    done = threading.Event()

    def watch():
        if not done.wait(seconds):
            _thread.interrupt_main()

    threading.Thread(target=watch, daemon=True).start()
    try:
        yield
    finally:
        done.set()


def _fields(cfg):
    entry = registry.get_run(cfg.family, cfg.model)
    run = [f"run.{o.name}" for o in entry.options]
    if cfg.family == "avalanche":
        params_cls = MODELS[cfg.model].params
    else:
        params_cls = {"markov": markov.MarkovParams, "nlif": nlif.NLIFParams,
                      "balanced": balanced.BalancedParams}[cfg.family]
    params = [f"params.{f}" for f in params_cls.model_fields]
    return sorted(run + params)


def _scaled(cfg, key):
    """Values near the config's own: half, double, ten times."""
    section, name = key.split(".", 1)
    value = (cfg.params if section == "params" else cfg.options).get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    return [repr(type(value)(value * f)) for f in (0.5, 2, 10)]


def _finite_result(path):
    ds = load(path)
    # NaN is allowed only as declared padding of a ragged table
    bad = [k for k, v in ds.data_vars.items()
           if v.dtype.kind == "f" and np.isnan(v.values).any() and "padding" not in v.attrs]
    assert not bad, f"NaN returned silently in {bad}"


@pytest.mark.parametrize("name", sorted(CHEAP))
@settings(max_examples=RUNS, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_command_lines_refuse_in_one_line_or_give_a_finite_result(
        name, data, tmp_path, capsys):
    path = CONFIGS / f"{name}.toml"
    cfg = load_config(path)
    key = data.draw(st.sampled_from(_fields(cfg)), label="key")
    value = data.draw(st.sampled_from(LITERALS + _scaled(cfg, key)), label="value")
    settings_ = {**CHEAP[name], key: value}
    out = tmp_path / f"{name}.nc"
    argv = ["run", str(path), "-o", str(out), "--no-figure"]
    for k, v in settings_.items():
        argv += ["--set", f"{k}={v}"]
    t0 = time.perf_counter()
    with _watchdog(BOUND_S):
        status = main(argv)
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert elapsed < BOUND_S, f"{key}={value} took {elapsed:.0f} s"
    assert status in (0, 2, 3), (status, key, value, err)
    if status == 0:
        _finite_result(out)
    else:
        assert err.count("\n") == 1 and err.startswith("spikereduce: error: "), err
        assert "internal error" not in err and "Traceback" not in err, err
    out.unlink(missing_ok=True)


# ---- public functions ------------------------------------------------------------------------

ARGS = st.sampled_from([0, -1, 1, 2, 0.5, -0.0, math.nan, math.inf, -math.inf, 1e300, 1e-300,
                        1e12, 2**63, True, None, "x", [1, 2], (0.5, 0.5), 0.999999999999,
                        1e-9, np.float32(0.25), np.int64(3)])

# Each call: a small valid baseline and the names of the arguments the fuzzer may replace.
CALLS = {
    "markov.simulate_dsode": (
        lambda a: markov.simulate_dsode(a["params"], a["t_max"], dt=a["dt"]),
        {"params": markov.MarkovParams(), "t_max": 20.0, "dt": 0.1}),
    "markov.simulate_network": (
        lambda a: markov.simulate_network(a["params"], a["t_max"], dt=a["dt"], seed=a["seed"]),
        {"params": markov.MarkovParams(), "t_max": 20.0, "dt": 0.1, "seed": 0}),
    "nlif.solve_fokker_planck": (
        lambda a: nlif.solve_fokker_planck(a["params"], nlif.gaussian_density(a["v0"], 0.25),
                                           a["t_max"], h=a["h"], dt=a["dt"]),
        {"params": nlif.NLIFParams(b=0.5), "v0": 0.0, "t_max": 0.02, "h": 0.02, "dt": 1e-4}),
    "nlif.simulate_particles": (
        lambda a: nlif.simulate_particles(a["params"], a["n"], a["t_max"], dt=a["dt"],
                                          p0=nlif.gaussian_density(0.0, a["var"]), seed=0),
        {"params": nlif.NLIFParams(b=0.5), "n": 500, "t_max": 0.02, "dt": 1e-3, "var": 0.25}),
    "nlif.steady_states": (
        lambda a: nlif.steady_states(a["params"]), {"params": nlif.NLIFParams(b=0.5)}),
    "balanced.solve_limit": (
        lambda a: balanced.solve_limit(a["params"], a["y0"], a["t_max"]),
        {"params": balanced.BalancedParams(), "y0": (0.0, None, 0.5, 0.1), "t_max": 0.5}),
    "avalanche.simulate": (
        lambda a: avalanche.simulate(avalanche.weights.homogeneous(a["N"], a["alpha"]),
                                     a["n_avalanches"], delta=a["delta"], seed=0),
        {"N": 20, "alpha": 0.8, "n_avalanches": 200, "delta": None}),
    "avalanche.theory.size_distribution": (
        lambda a: theory.size_distribution(avalanche.weights.homogeneous(a["N"], a["alpha"])),
        {"N": 8, "alpha": 0.8}),
    "avalanche.closed_form.homogeneous": (
        lambda a: closed_form.homogeneous(a["N"], a["alpha"]), {"N": 50, "alpha": 0.9}),
}


def _finite(result):
    if hasattr(result, "data_vars"):
        for k, v in result.data_vars.items():
            assert not (v.dtype.kind == "f" and np.isnan(v.values).any()), f"NaN in {k}"
    elif isinstance(result, np.ndarray) and result.dtype.kind == "f":
        assert not np.isnan(result).any()
    elif isinstance(result, float):
        assert not math.isnan(result)


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(max_examples=4 * RUNS, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_public_functions_refuse_or_return_finite_results(name, data):
    call, base = CALLS[name]
    keys = data.draw(st.lists(st.sampled_from(sorted(base)), min_size=1, max_size=2,
                              unique=True), label="keys")
    args = {**base, **{k: data.draw(ARGS, label=k) for k in keys}}
    t0 = time.perf_counter()
    try:
        with _watchdog(BOUND_S):
            result = call(args)
    except SpikeReduceError as exc:
        assert str(exc) and "\n" not in str(exc), exc
    else:
        _finite(result)
    assert time.perf_counter() - t0 < BOUND_S, args
