"""Observables (spec §2.5) on hand-made series where the answer is known."""

import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.io import make_dataset
from spikereduce.markov import BEAT_EDGES, firing_rates, mfe_peaks, ssi


def _ds(rate_e, rate_i=None, dt=0.1, n_e=300, n_i=100):
    rate_e = np.asarray(rate_e, float)
    rate_i = np.zeros_like(rate_e) if rate_i is None else np.asarray(rate_i, float)
    t = dt * np.arange(1, rate_e.size + 1)
    data = {"rate_E": ("time", rate_e), "rate_I": ("time", rate_i)}
    for syn in ("EE", "EI", "IE", "II"):
        data[f"H_{syn}"] = ("time", np.zeros_like(rate_e))
    return make_dataset(data, {"time": t}, family="markov", model="test", dt=dt, n_E=n_e,
                        n_I=n_i)


def test_firing_rates_in_hz_per_neuron():
    # 30 E spikes per ms for the whole run = 100 Hz per E neuron (N_E = 300)
    ds = _ds(np.full(5000, 30.0), np.full(5000, 5.0))
    assert firing_rates(ds) == pytest.approx((100.0, 50.0))
    # only t > t_start counts
    r = np.zeros(5000)
    r[:2000] = 30.0
    assert firing_rates(_ds(r))[0] == 0.0


def test_ssi_of_perfect_and_spread_synchrony():
    counts = np.zeros(5000)
    counts[2500::100] = 300  # every E neuron fires in the same step, every 10 ms
    ds = _ds(counts / 0.1)
    assert ssi(ds)[0] == pytest.approx(1.0)
    # the same spikes spread over 30 steps (3 ms): 11 of 30 steps are within ±0.5 ms at best
    spread = np.zeros(5000)
    for k in range(2500, 5000, 100):
        spread[k:k + 30] = 10
    s = ssi(_ds(spread / 0.1))[0]
    assert 0.2 < s < 11 / 30 + 1e-12
    assert ssi(_ds(np.zeros(5000)))[0] == 0.0


def _train(heights, period=16.0, dt=0.1, t_max=1000.0):
    t = dt * np.arange(1, int(t_max / dt) + 1)
    r = np.zeros_like(t)
    for k, tk in enumerate(np.arange(20.0, t_max - 10, period)):
        r += heights[k % len(heights)] * np.exp(-0.5 * ((t - tk) / 0.8) ** 2)
    return _ds(r)


def test_mfe_peaks_beats_and_histogram():
    pk = mfe_peaks(_train([200.0, 60.0]))
    assert pk.pattern == "period-2"
    assert pk.rate == pytest.approx(1000 / 16, rel=0.03)
    assert np.all(np.abs(np.abs(pk.dm) - abs(pk.heights[0] - pk.heights[1])) < 1e-6)
    assert pk.hist.sum() == pk.dm.size and pk.hist.size == BEAT_EDGES.size - 1
    one = mfe_peaks(_train([150.0]))
    near_zero = (BEAT_EDGES[:-1] == -5) | (BEAT_EDGES[:-1] == 0)
    assert one.pattern == "period-1" and one.hist[near_zero].sum() == one.dm.size
    irregular = mfe_peaks(_train([200.0, 150.0, 40.0, 40.0, 120.0]))
    assert irregular.pattern == "irregular"
    # peaks under 10 spikes/ms are not MFEs
    assert mfe_peaks(_train([5.0])).pattern == "none"


def test_observables_validate_their_inputs():
    ds = _ds(np.ones(100))
    with pytest.raises(ParameterError, match="t_start"):
        firing_rates(ds, t_start=50.0)
    with pytest.raises(ParameterError, match="t_start"):
        ssi(ds, t_start=-1.0)
    with pytest.raises(ParameterError, match="ds"):
        mfe_peaks({"rate_E": [1.0]})
