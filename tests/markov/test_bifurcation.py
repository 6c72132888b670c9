"""The p_EI bifurcation (spec §3.1 qualitative claim): same beat pattern in SNN and dsODE."""

import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.markov import MarkovParams, bifurcation, mfe_peaks, simulate_dsode
from spikereduce.markov.bifurcation import point_summary


@pytest.mark.validation
@pytest.mark.slow
def test_beat_pattern_switch_between_p_ei_06_and_085():
    patterns = {}
    for p_ei in (0.6, 0.85):
        params = MarkovParams(p_ei=p_ei)
        dso = point_summary(params, "dsode", 1000.0)
        snn = [point_summary(params, "snn", 1000.0, seed=s) for s in (1, 2)]
        patterns[p_ei] = (dso[2], [s[2] for s in snn])
        # rates agree to about 10-15 % where the reduction holds
        for s in snn:
            assert abs(dso[0]["nu_E"] - s[0]["nu_E"]) / s[0]["nu_E"] < 0.15
    assert patterns[0.6] == ("period-1", ["period-1", "period-1"])
    assert patterns[0.85] == ("period-2", ["period-2", "period-2"])


def test_bifurcation_dataset_layout():
    bif = bifurcation(MarkovParams(), 0.6, 0.85, 2, t_max=300.0, seed=1,
                      models=("dsode",))
    assert bif.beat_hist.dims == ("model", "p_ei", "dm_bin")
    assert bif.beat_hist.shape == (1, 2, 120)
    assert np.allclose(bif.p_ei, [0.6, 0.85])
    assert list(bif.pattern.values[0]) == ["period-1", "period-2"]
    assert bif.nu_E.attrs["units"] == "Hz"
    # the 0.85 point is the dsODE's own run at that p_EI
    ds = simulate_dsode(MarkovParams(p_ei=0.85), 300.0)
    # (a 300 ms run discards its first fifth, 60 ms)
    assert np.array_equal(bif.beat_hist.values[0, 1], mfe_peaks(ds, 60.0).hist)


def test_bifurcation_validation():
    with pytest.raises(ParameterError, match="p_ei_stop"):
        bifurcation(MarkovParams(), 0.5, 1.5, 3)
    with pytest.raises(ParameterError, match="models"):
        bifurcation(MarkovParams(), 0.5, 1.0, 3, models=("ode",))
    with pytest.raises(ParameterError, match="count"):
        bifurcation(MarkovParams(), 0.5, 1.0, 0)
