"""The validation pattern: ParameterError names field, value and admissible range."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, ValidationError, model_validator

from spikereduce.errors import ParameterError
from spikereduce.params import Params, check_choice, check_int, check_real, check_seed


class Toy(Params):
    a: float = Field(1.0, gt=0)
    p: float = Field(0.5, ge=0, le=1)
    n: int = Field(10, ge=1)
    v_r: float = 1.0
    v_f: float = 2.0

    @model_validator(mode="after")
    def _order(self):
        if not self.v_r < self.v_f:
            raise ParameterError("v_r", self.v_r, f"< v_f = {self.v_f}")
        return self


def test_defaults_and_frozen():
    t = Toy()
    assert (t.a, t.p, t.n) == (1.0, 0.5, 10)
    with pytest.raises(ValidationError):
        t.a = 2.0  # type: ignore[misc]
    assert t.replace(a=3.0).a == 3.0
    assert Toy(**t.to_dict()) == t


@given(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False))
def test_nonpositive_a_names_field_and_range(a):
    with pytest.raises(ParameterError) as info:
        Toy(a=a)
    assert info.value.field == "a"
    assert "> 0" in str(info.value)


@given(st.one_of(st.floats(min_value=1.0, exclude_min=True, allow_infinity=False),
                 st.floats(max_value=0.0, exclude_max=True, allow_infinity=False)))
def test_probability_out_of_unit_interval(p):
    with pytest.raises(ParameterError) as info:
        Toy(p=p)
    assert info.value.field == "p"


@given(st.sampled_from([math.nan, math.inf, -math.inf]))
def test_non_finite_rejected(x):
    with pytest.raises(ParameterError) as info:
        Toy(a=x)
    assert info.value.field == "a"


@given(st.floats(min_value=2.0, max_value=1e6))
def test_cross_field_rule_keeps_its_message(v_r):
    with pytest.raises(ParameterError) as info:
        Toy(v_r=v_r)
    assert info.value.field == "v_r"
    assert "v_f" in str(info.value)


def test_unknown_and_wrongly_typed_fields():
    with pytest.raises(ParameterError, match="unknown parameter 'bogus'"):
        Toy(bogus=1)
    with pytest.raises(ParameterError) as info:
        Toy(n="ten")
    assert info.value.field == "n" and "integer" in str(info.value)


def test_argument_checks():
    assert check_real("dt", 0.1, lo=0, lo_open=True) == 0.1
    with pytest.raises(ParameterError, match=r"dt = 0 .*> 0"):
        check_real("dt", 0, lo=0, lo_open=True)
    with pytest.raises(ParameterError, match="finite"):
        check_real("t_max", float("inf"))
    with pytest.raises(ParameterError, match="n = 0"):
        check_int("n", 0, lo=1)
    assert check_int("n", 5.0, lo=1) == 5
    with pytest.raises(ParameterError, match="integer"):
        check_int("n", 2.5)
    with pytest.raises(ParameterError, match="one of"):
        check_choice("model", "ode", ("snn", "sde"))
    with pytest.raises(ParameterError, match="seed"):
        check_seed(-1)


def test_errors_survive_pickling():
    # Dask sends exceptions between processes by pickle; the message must come back whole.
    import pickle

    from spikereduce.errors import NumericalError

    err = pickle.loads(pickle.dumps(ParameterError("dt", 0.5, "<= 0.1")))
    assert (err.field, err.value, err.admissible) == ("dt", 0.5, "<= 0.1")
    assert str(err) == "dt = 0.5 is invalid: must be <= 0.1"
    num = pickle.loads(pickle.dumps(NumericalError("blow-up", time=3.4)))
    assert num.time == 3.4 and str(num) == "blow-up (at t = 3.4)"


@pytest.mark.parametrize("family,model,key,value", [
    ("avalanche", "homogeneous", "params.self_coupling", "yes"),
    ("avalanche", "homogeneous", "params.self_coupling", 2),
    ("nlif", "particles", "run.cascade", "yes"),
    ("nlif", "particles", "run.bridge", 2),
    ("avalanche", "ring", "run.random_amplitude", "no"),
    ("nlif", "particles", "run.n", True),
    ("nlif", "particles", "params.b", "0.5"),
    ("markov", "snn", "params.n_e", 300.5),
])
def test_loose_types_are_refused(family, model, key, value):
    """Regression (loose types): "yes" or 2 is not true, true is not 1, "0.5" is not a number;
    the error names the field and the value before anything runs."""
    from spikereduce import registry
    from spikereduce.config import RunConfig

    registry.discover()
    base = {"avalanche": {"N": 8, "alpha": 0.5}, "nlif": {"b": 0.5}, "markov": {}}[family]
    cfg = RunConfig(family, model, params=base,
                    options={"n_avalanches": 10} if family == "avalanche" else {})
    cfg = cfg.with_overrides({key: value})
    with pytest.raises(ParameterError, match=key.split(".")[1]):
        registry.get_run(family, model).run(cfg)
