"""NLIFParams, input objects and per-step input averages (spec nlif §1.1, §1.4)."""

import math

import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.nlif import NLIFParams, Periodic, Pulse, current_at, step_currents


def test_defaults_are_the_spec_values():
    p = NLIFParams()
    assert (p.b, p.a, p.v_f, p.v_r, p.current) == (0.5, 1.0, 2.0, 1.0, 0.0)


@pytest.mark.parametrize("kwargs, field", [
    ({"v_r": 2.0}, "v_r"),
    ({"v_r": 3.0}, "v_r"),
    ({"a": -1.0}, "a"),
    ({"a": 0.0}, "a"),
    ({"b": float("nan")}, "b"),
    ({"v_f": float("inf")}, "v_f"),
    ({"b": True}, "b"),
    ({"current": True}, "current"),
    ({"speed": 1.0}, "speed"),
])
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(ParameterError) as err:
        NLIFParams(**kwargs)
    assert err.value.field == field


def test_pulse_needs_start_before_stop():
    with pytest.raises(ParameterError) as err:
        Pulse(amplitude=1.0, start=1.0, stop=1.0)
    assert err.value.field == "stop"
    with pytest.raises(ParameterError) as err:
        Periodic(amplitude=1.0, period=0.0)
    assert err.value.field == "period"


def test_current_tables_from_configs_become_input_objects():
    p = NLIFParams(current={"kind": "pulse", "amplitude": 100.0, "start": 1.0, "stop": 1.01})
    assert isinstance(p.current, Pulse) and p.current.stop == 1.01
    assert NLIFParams(**p.to_dict()) == p  # provenance JSON round-trips
    q = NLIFParams(current={"kind": "periodic", "amplitude": 6.0, "period": 1.0})
    assert isinstance(q.current, Periodic)
    with pytest.raises(ParameterError) as err:
        NLIFParams(current={"kind": "ramp", "amplitude": 1.0})
    assert err.value.field == "current.kind"


def test_step_averages_keep_the_charge_of_a_pulse_shorter_than_a_step():
    pulse = Pulse(amplitude=100.0, start=1.0, stop=1.01)
    for dt in (2e-4, 1e-3, 0.05):
        n = round(2.0 / dt)
        i = step_currents(pulse, 0.0, dt, n)
        assert math.isclose(i.sum() * dt, 1.0, rel_tol=1e-9)  # 100 * 0.01
    assert np.all(step_currents(pulse, 0.0, 1e-3, 1000) == 0.0)
    assert current_at(pulse, [0.5, 1.005, 1.01]).tolist() == [0.0, 100.0, 0.0]


def test_periodic_step_average_is_the_exact_mean_of_the_sine():
    per = Periodic(amplitude=6.0, period=1.0, offset=0.5)
    dt = 0.01
    got = step_currents(per, 0.3, dt, 50)
    fine = np.linspace(0.0, dt, 20001)
    lo = 0.3 + dt * np.arange(50)
    want = [np.trapezoid(current_at(per, t0 + fine), fine) / dt for t0 in lo]
    assert np.allclose(got, want, rtol=0, atol=1e-9)
    assert np.allclose(step_currents(0.7, 0.0, 0.1, 3), 0.7)


def test_main_fields_can_be_given_positionally_as_in_the_design():
    assert NLIFParams(1.5) == NLIFParams(b=1.5)
    assert NLIFParams(1.5, 0.5).a == 0.5
    assert Pulse(100.0, 1.0, 1.01) == Pulse(amplitude=100.0, start=1.0, stop=1.01)
    assert Periodic(6.0, 1.0).period == 1.0
    with pytest.raises(ParameterError) as err:
        NLIFParams(0.5, b=1.0)
    assert err.value.field == "b"
    assert NLIFParams(1.5).replace(a=2.0) == NLIFParams(b=1.5, a=2.0)
