"""The NNLIF Fokker–Planck solver: conservation, positivity, T1 rates, T3 blow-up (spec §2.2)."""

import warnings

import numpy as np
import pytest

from spikereduce.errors import NumericalError, ParameterError
from spikereduce.nlif import (
    FokkerPlanckStepper,
    NLIFParams,
    Periodic,
    PositivityWarning,
    gaussian_density,
    solve_fokker_planck,
    steady_states,
)

pytestmark = pytest.mark.numba


@pytest.mark.parametrize("b, v0, var, t_max", [(0.5, 0.0, 0.25, 2.0), (1.5, 1.5, 0.005, 0.03),
                                               (-1.0, -1.0, 0.5, 2.0), (3.0, -1.0, 0.5, 3.0)])
def test_t2_mass_conserved_and_density_non_negative(b, v0, var, t_max):
    ds = solve_fokker_planck(NLIFParams(b=b), gaussian_density(v0, var), t_max, save_every=0.01)
    assert ds.attrs["mass_error"] <= 1e-12  # spec T2
    assert ds.attrs["min_density"] >= 0.0
    assert np.all(np.isfinite(ds.rate)) and np.all(ds.rate >= 0)


def test_t1_macro_rate_at_t12():
    # Spec T1 macro check: b = 0.5 from (0, 0.25) to t = 12 with dt = 5e-5 gives 0.134808;
    # the exact steady state 0.134775 within 5e-4 relative at h = 0.01.
    ds = solve_fokker_planck(NLIFParams(b=0.5), gaussian_density(0.0, 0.25), 12.0, dt=5e-5,
                             save_every=1.0)
    n_end = float(ds.rate[-1])
    assert abs(n_end - 0.134808) < 2e-6
    assert abs(n_end / steady_states(NLIFParams(b=0.5))[0] - 1) < 5e-4


@pytest.mark.parametrize("current", [0.3, Periodic(amplitude=2.0, period=0.5)])
def test_stepper_in_pieces_equals_one_advance(current):
    st = FokkerPlanckStepper(NLIFParams(b=1.5, current=current))
    p1, r = st.initial(gaussian_density(0.0, 0.25))
    p2 = p1.copy()
    rates1 = st.advance(p1, r, 0.0, 500)
    rates2 = []
    t, rate = 0.0, r
    for k in (7, 193, 300):
        got = st.advance(p2, rate, t, k)
        rates2.append(got)
        t, rate = t + k * st.dt, float(got[-1])
    if isinstance(current, float):  # bitwise: the state is all the stepper carries
        assert np.array_equal(rates1, np.concatenate(rates2)) and np.array_equal(p1, p2)
    else:  # input times t + j dt round differently from another start t
        assert np.allclose(rates1, np.concatenate(rates2), rtol=1e-12)
    spikes = st.spikes_per_step(r, rates1)
    assert np.isclose(spikes[0], st.dt * r) and spikes.size == 500


@pytest.mark.slow
@pytest.mark.validation
@pytest.mark.parametrize("h, b, v0, var, expected", [
    (0.02, 3.0, -1.0, 0.5, 3.4189), (0.01, 3.0, -1.0, 0.5, 3.4177),
    (0.005, 3.0, -1.0, 0.5, 3.4173),
    (0.02, 1.5, 1.5, 0.005, None), (0.01, 1.5, 1.5, 0.005, 0.0409),
    (0.005, 1.5, 1.5, 0.005, 0.0404),
])
def test_t3_blowup_times(h, b, v0, var, expected):
    # Spec T3: time N first exceeds 1e3 with dt = min(1e-4, h^2/2); values to 4 decimals.
    t_max = 3.5 if b == 3.0 else 0.1
    ds = solve_fokker_planck(NLIFParams(b=b), gaussian_density(v0, var), t_max, h=h,
                             dt=min(1e-4, h * h / 2), blowup_rate=1e3, save_every=0.1)
    if expected is None:  # the grid's cap a/h^2 = 2500 keeps N below 1e3 here
        assert not ds.attrs["blowup"] and float(ds.rate.max()) < 1e3
    else:
        assert ds.attrs["blowup"] and "rate above" in ds.attrs["blowup_reason"]
        assert abs(ds.attrs["blowup_time"] - expected) <= 1.5e-4
        assert float(ds.rate[-1]) > 1e3 and np.all(np.isfinite(ds.rate))
        assert np.isclose(float(ds.time[-1]), ds.attrs["blowup_time"])


def test_t3_threshold_above_the_grid_cap_is_refused():
    # At h = 0.04 the cap a/h^2 = 625 can never reach 1e3 (spec T3 expected failure mode).
    with pytest.raises(ParameterError) as err:
        solve_fokker_planck(NLIFParams(b=3.0), gaussian_density(-1, 0.5), 1.0, h=0.04,
                            dt=1e-4, blowup_rate=1e3)
    assert err.value.field == "blowup_rate"


def test_blowup_can_raise():
    with pytest.raises(NumericalError) as err:
        solve_fokker_planck(NLIFParams(b=1.5), gaussian_density(1.5, 0.005), 0.1,
                            blowup_rate=1e3, on_blowup="raise")
    assert abs(err.value.time - 0.0409) < 2e-4


def test_positivity_condition_refuses_by_default_and_warns_on_request():
    """Regression (nonsense with exit 0): dt = 1e-3 at h = 0.01 gave a rate of -362 with only
    a warning; a step beyond the positivity bound is now refused unless strict=False."""
    with pytest.raises(ParameterError) as err:
        solve_fokker_planck(NLIFParams(), gaussian_density(0, 0.25), 0.01, h=0.01, dt=2e-4)
    assert err.value.field == "dt" and "positivity bound" in str(err.value)
    with pytest.warns(PositivityWarning):
        solve_fokker_planck(NLIFParams(), gaussian_density(0, 0.25), 0.01, h=0.01, dt=2e-4,
                            strict=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve_fokker_planck(NLIFParams(), gaussian_density(0, 0.25), 0.01, h=0.01, dt=1e-4)


@pytest.mark.parametrize("kwargs, field", [
    ({"h": 0.03}, "h"),          # v_r = 1 is not a node of -4 + 0.03 k
    ({"h": -0.01}, "h"),
    ({"dt": 0.0}, "dt"),
    ({"v_min": 1.5}, "v_min"),
    ({"t_max": 0.0}, "t_max"),
    ({"on_blowup": "ignore"}, "on_blowup"),
    ({"p0": np.ones(7)}, "p0"),
    ({"p0": -np.ones(600)}, "p0"),
])
def test_bad_arguments_name_the_field(kwargs, field):
    args = {"p0": gaussian_density(0, 0.25), "t_max": 0.01, **kwargs}
    p0, t_max = args.pop("p0"), args.pop("t_max")
    with pytest.raises(ParameterError) as err:
        solve_fokker_planck(NLIFParams(), p0, t_max, **args)
    assert err.value.field == field


def test_array_and_callable_initial_data_agree():
    g = gaussian_density(0.0, 0.25)
    v = -4.0 + 0.01 * np.arange(600)
    a = solve_fokker_planck(NLIFParams(), g, 0.1)
    b = solve_fokker_planck(NLIFParams(), g(v), 0.1)
    assert np.array_equal(a.rate.values, b.rate.values)
    assert np.allclose(a.cumulative_spikes[1:], np.cumsum(a.rate.values[:-1]) * 1e-4)
