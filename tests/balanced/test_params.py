"""BalancedParams validation (spec balanced.md §1.2, §1.4) and the reference sets (§1.6)."""

import pytest
from pydantic import ValidationError

from spikereduce.balanced import BalancedParams, reference_set
from spikereduce.errors import ParameterError


def test_defaults_are_set_b():
    assert BalancedParams() == reference_set("B")
    assert reference_set("C").sigmoid == "logistic"


@pytest.mark.parametrize("field,value", [
    ("gamma_E", 0.0), ("gamma_I", -1.0), ("lam_E", 0.0), ("lam_I", -0.5), ("beta_E", 0.0),
    ("beta_I", -2.0), ("w_E", 0.0), ("w_I", -1.0), ("mu_E", float("nan")), ("h_I", float("inf")),
    ("sigmoid", "tanh"), ("nu", True),
])
def test_invalid_values_name_the_field(field, value):
    with pytest.raises(ParameterError) as exc:
        BalancedParams(**{field: value})
    assert exc.value.field == field
    assert field in str(exc.value)


def test_unknown_field_refused():
    with pytest.raises(ParameterError, match="unknown parameter 'tau'"):
        BalancedParams(tau=1.0)


def test_identical_populations_are_degenerate():
    same = dict(gamma_E=1.0, gamma_I=1.0, mu_E=0.0, mu_I=0.0, beta_E=1.0, beta_I=1.0, h_E=0.0,
                h_I=0.0)
    with pytest.raises(ParameterError, match="D = 0"):
        BalancedParams(**same)
    # One differing parameter is enough.
    assert BalancedParams(**{**same, "h_I": 0.1}).h_I == 0.1
    assert BalancedParams(**{**same, "w_I": 1.2}).w_I == 1.2


def test_frozen_and_replace():
    p = BalancedParams()
    with pytest.raises(ValidationError):
        p.gamma_E = 3.0
    assert p.replace(beta_E=2.0, beta_I=1.0).beta_E == 2.0
    with pytest.raises(ParameterError):
        reference_set("D")
