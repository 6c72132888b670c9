"""Fuzzing the boundary: adversarial values for every parameter field, every declared run
option and the config structure give a valid object or a ParameterError / ConfigError naming
the field, never another exception. Cheap (nothing is simulated), so it runs in CI; set
SPIKEREDUCE_FUZZ_EXAMPLES for a longer run."""

import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikereduce import registry
from spikereduce.avalanche.models import MODELS
from spikereduce.balanced import BalancedParams
from spikereduce.config import parse_config
from spikereduce.errors import ConfigError, ParameterError
from spikereduce.markov import MarkovParams
from spikereduce.nlif import NLIFParams

EXAMPLES = int(os.environ.get("SPIKEREDUCE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# Values a config or a caller can hand over: numbers at and beyond every edge, wrong kinds,
# containers, nesting.
ADVERSARIAL = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 1e-300, 1e300, -0.0, math.inf, -math.inf, math.nan, 2**63,
                     10**400, 0.5, 1e-8]),
    st.booleans(),
    st.text(max_size=20),
    st.none(),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(allow_nan=True)), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(-3, 3), max_size=3),
)

PARAMS = {"markov": MarkovParams, "nlif": NLIFParams, "balanced": BalancedParams,
          **{f"avalanche/{name}": model.params for name, model in MODELS.items()}}


def _fields(cls):
    return sorted(cls.model_fields)


@pytest.mark.parametrize("name", sorted(PARAMS))
@FUZZ
@given(data=st.data())
def test_parameter_objects_accept_or_name_the_field(name, data):
    cls = PARAMS[name]
    field = data.draw(st.sampled_from(_fields(cls)))
    value = data.draw(ADVERSARIAL)
    base = {"N": 8, "alpha": 0.5} if name in ("avalanche/homogeneous", "avalanche/ring") else {}
    try:
        cls(**{**base, field: value})
    except ParameterError as exc:
        assert exc.field.split(".")[0] in (field, *cls.model_fields, "params"), exc
        assert str(exc) and "\n" not in str(exc)


def _entries():
    registry.discover()
    return [e for e in registry.run_entries()
            if e.family in ("markov", "avalanche", "nlif", "balanced")]


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: f"{e.family}/{e.model}")
@FUZZ
@given(data=st.data())
def test_run_options_accept_or_name_the_field(entry, data):
    names = [o.name for o in entry.options] + ["no_such_option"]
    given_ = {n: data.draw(ADVERSARIAL) for n in data.draw(
        st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))}
    try:
        registry.resolve_options(entry.options, given_, entry.run.where)
    except ParameterError as exc:
        assert exc.field.startswith("run."), exc
        assert exc.field[4:] in given_, exc
        assert "\n" not in str(exc)


TOML_VALUES = st.recursive(
    st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.booleans(),
              st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["family", "model", "seed", "params", "run",
                                              "description", "other"]), TOML_VALUES,
                            max_size=6))
def test_config_structure_is_checked_or_refused_in_one_line(data):
    try:
        cfg = parse_config(data, source="fuzz.toml")
    except (ConfigError, ParameterError) as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(cfg.family, str) and isinstance(cfg.model, str)
