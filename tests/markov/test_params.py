"""MarkovParams: spec §1.5 defaults, size scaling, validation naming the field, the dt rule."""

import pytest

from spikereduce.errors import ParameterError
from spikereduce.markov import MarkovParams
from spikereduce.markov.params import check_dt


def test_defaults_are_the_reference_code_values():
    p = MarkovParams()
    assert (p.n_e, p.n_i, p.M, p.Mr, p.lam) == (300, 100, 100.0, 66.0, 7.0)
    assert (p.tau_ee, p.tau_ie, p.tau_i, p.tau_r, p.tau_m) == (1.4, 1.2, 4.5, 4.0, 0.0)
    assert (p.p_ee, p.p_ei, p.p_ie, p.p_ii) == (0.8, 0.8, 0.8, 0.8)
    assert (p.s_ee, p.s_ei, p.s_ie, p.s_ii) == (0.95, 2.71, 1.25, 2.45)
    # dsODE grid: J = 35 bins of width 4 from -40 to 100, reset bin (0, 4]
    assert p.n_bins == 35
    assert p.bin_edges[0] == -40 and p.bin_edges[-1] == 100
    assert p.bin_edges[p.reset_bin] == 0 and p.bin_edges[p.reset_bin + 1] == 4
    assert p.tau("EI") == p.tau("II") == 4.5 and p.tau("IE") == 1.2


def test_scaled_multiplies_strengths_by_100_over_size():
    p = MarkovParams().scaled(800)
    assert (p.n_e, p.n_i) == (2400, 800)
    assert p.s_ee == pytest.approx(0.95 / 8) and p.s_ii == pytest.approx(2.45 / 8)
    # scaling is relative to the current size, so composing is consistent
    assert MarkovParams().scaled(200).scaled(800).s_ei == pytest.approx(p.s_ei)
    with pytest.raises(ParameterError, match="size"):
        MarkovParams().scaled(0)


@pytest.mark.parametrize("field,value", [("p_ei", 1.2), ("p_ee", -0.1), ("tau_ee", 0.0),
                                         ("n_e", 0), ("lam", -1.0), ("tau_r", -1.0),
                                         ("s_ii", -2.0), ("v_bin", 3.0), ("M", float("nan")),
                                         ("p_ii", True)])
def test_invalid_values_name_the_field(field, value):
    with pytest.raises(ParameterError) as err:
        MarkovParams(**{field: value})
    assert err.value.field == field


def test_unknown_field_is_refused():
    with pytest.raises(ParameterError, match="unknown parameter 'pei'"):
        MarkovParams(pei=0.5)


def test_dt_rule():
    p = MarkovParams()
    assert check_dt(p, 0.1) == 0.1
    # min(tau)/4 = 1.2/4 = 0.3 ms
    assert check_dt(p, 0.3) == 0.3
    with pytest.raises(ParameterError, match="dt"):
        check_dt(p, 0.31)
    with pytest.raises(ParameterError, match="dt"):
        check_dt(p, 0.0)
