"""Phase-space volume and the exact i.i.d. samplers (spec avalanche.md §2.2, §2.8): TC-14."""

import numpy as np
import pytest
from scipy import stats

from spikereduce.avalanche import assembly_table, sample_avalanches, size_distribution, theory
from spikereduce.avalanche.analysis import assembly_masks, chi_square
from spikereduce.errors import ParameterError


@pytest.mark.numba
def test_tc14_inhabited_fraction_equals_det(make_weights):
    """Uniform points of [0,1)^N fall in D with probability det(I - W)."""
    W = make_weights(6)
    n = 100_000
    U = np.random.default_rng(0).random((n, 6))
    frac = theory.in_phase_space(W, U).mean()
    vol = theory.phase_space_volume(W)
    assert 0.05 < vol < 0.95
    assert abs(frac - vol) < 4 * np.sqrt(vol * (1 - vol) / n)  # 4-sigma binomial band


@pytest.mark.validation
@pytest.mark.numba
@pytest.mark.parametrize("method", ["torus", "rejection"])
def test_tc14_samplers_reproduce_the_assembly_table(make_weights, method):
    """Samples are i.i.d., so the nominal chi-square applies: df ~ 110, 0.1 % critical value."""
    W = make_weights(3)
    p = np.array([0.4, 0.05, 0.1, 0.2, 0.15, 0.1])
    rec = sample_avalanches(W, 60_000, method=method, p=p, seed=5)
    table = assembly_table(W, p).probabilities
    counts = np.zeros_like(table)
    np.add.at(counts, (assembly_masks(rec), rec["start_units"].values), 1)
    res = chi_square(counts, table)
    assert res.df > 60 and res.statistic < stats.chi2.ppf(0.999, res.df), res
    P = size_distribution(W, p)
    obs = np.bincount(rec["sizes"].values, minlength=7)[1:]
    n = rec.sizes["avalanche"]
    z = (obs - n * P) / np.sqrt(n * P * (1 - P))
    assert np.abs(z).max() < 4
    if method == "torus":  # acceptance rate = trigger rate
        r = theory.trigger_rate(W, p)
        n_steps = rec.attrs["n_steps"]
        assert abs(rec.sizes["avalanche"] / n_steps - r) < 4 * np.sqrt(r * (1 - r) / n_steps)


def test_sampler_validation():
    with pytest.raises(ParameterError) as exc:
        sample_avalanches(np.eye(3) * 0.5, 10, method="gibbs")
    assert exc.value.field == "method"
