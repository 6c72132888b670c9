"""Continuing the dsODE from a previous result, and the continuation in a parameter (the two
attractors at p_EI -> 1 and their hysteresis loop)."""

from __future__ import annotations

import numpy as np
import pytest

from spikereduce.cli import main
from spikereduce.errors import ParameterError
from spikereduce.io import load
from spikereduce.markov import MarkovParams, continuation, simulate_dsode, simulate_network

FINE = {"v_bin": 2.0, "v_bin_min": -20}


def test_a_continued_run_equals_one_long_run_bit_for_bit():
    p = MarkovParams()
    whole = simulate_dsode(p, 400.0)
    first = simulate_dsode(p, 200.0)
    second = simulate_dsode(p, 200.0, initial=first)
    assert second.attrs["initial"] == "continued" and whole.attrs["initial"] == "reset"
    for var in ("rate_E", "rate_I", "H_EI", "Sigma_II", "R_E", "vhist_E"):
        np.testing.assert_array_equal(second[var].values, whole[var].values[2000:], var)
    np.testing.assert_array_equal(second["W_E_final"].values, whole["W_E_final"].values)


def test_a_stochastic_run_from_a_deterministic_state_moves_whole_neurons():
    start = simulate_dsode(MarkovParams(), 150.0)
    run = simulate_dsode(MarkovParams(p_ei=0.9), 100.0, initial=start,
                         finite_size="multinomial", seed=2)
    n = run["vhist_E"].values
    np.testing.assert_array_equal(n, np.round(n))
    total = n.sum(axis=1) + run["R_E"].values + run["lost_E"].values
    np.testing.assert_array_equal(total, 300.0)


@pytest.mark.parametrize("bad, field_value", [
    (lambda: simulate_dsode(MarkovParams(), 50.0), None),  # fine: the control
    (lambda: simulate_dsode(MarkovParams(n_e=200), 50.0), "n_E, n_I = 200, 100"),
    (lambda: simulate_dsode(MarkovParams(**FINE), 50.0), "a grid of 70 bins"),
    (lambda: simulate_network(MarkovParams(), 20.0, seed=1), "Dataset"),
    (lambda: "state", "str"),
])
def test_initial_must_be_a_dsode_result_on_the_same_grid_and_sizes(bad, field_value):
    initial = bad()
    if field_value is None:
        simulate_dsode(MarkovParams(p_ei=0.9), 20.0, initial=initial)
        return
    with pytest.raises(ParameterError) as err:
        simulate_dsode(MarkovParams(), 20.0, initial=initial)
    assert err.value.field == "initial" and field_value in str(err.value)


def test_continuation_finds_both_attractors_and_the_hysteresis_loop():
    """2-unit bins: from reset the map follows the synchronous cycle up to p_EI = 0.99, and
    back down from the asynchronous state at 1.0 it stays asynchronous down to 0.95. Measured
    (600 ms per point): up 23.6 / 23.4 / 7.2 Hz, down 10.0 / 9.0 / 7.2 Hz at 0.97 / 0.98 / 1.0;
    SSI_E 0.44 / 0.42 up, <= 0.011 down. The deterministic map gives these to the last digit;
    asserted to 0.1 Hz and 0.01."""
    c = continuation(MarkovParams(**FINE), values=[0.97, 0.98, 1.0], t_max=600.0)
    assert list(c.sweep.values) == ["up", "down"] and list(c.p_ei.values) == [0.97, 0.98, 1.0]
    np.testing.assert_allclose(c.nu_E.sel(sweep="up"), [23.64, 23.35, 7.21], atol=0.1)
    np.testing.assert_allclose(c.nu_E.sel(sweep="down"), [9.98, 8.99, 7.20], atol=0.1)
    np.testing.assert_allclose(c.ssi_E.sel(sweep="up"), [0.443, 0.420, 0.008], atol=0.01)
    assert (c.ssi_E.sel(sweep="down") < 0.02).all()
    assert list(c.pattern.sel(sweep="up").values[:2]) == ["period-1", "period-1"]


def test_continuation_refuses_bad_input():
    with pytest.raises(ParameterError) as err:
        continuation(MarkovParams(), name="n_e", values=[100, 200])
    assert err.value.field == "name"
    with pytest.raises(ParameterError) as err:
        continuation(MarkovParams(), values=[0.9])
    assert err.value.field == "values"
    with pytest.raises(ParameterError) as err:
        continuation(MarkovParams(), values=[0.9, 1.5])
    assert err.value.field == "p_ei"
    with pytest.raises(ParameterError) as err:
        continuation(MarkovParams(), name="lam", values=None)
    assert err.value.field == "values"


def test_cli_runs_the_continuation_config(tmp_path):
    out = tmp_path / "c.nc"
    assert main(["run", "examples/configs/markov_continuation.toml", "-o", str(out),
                 "--set", "run.values=[0.98, 1.0]", "--set", "run.t_max=300"]) == 0
    ds = load(out)
    assert ds.attrs["model"] == "continuation" and ds.nu_E.dims == ("sweep", "p_ei")
    assert out.with_suffix(".png").exists()
