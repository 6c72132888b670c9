"""Histograms, chi-square pooling and power-law fits (powerlaw package) incl. small-xmin bias."""

import numpy as np
import pytest
from scipy import stats

from spikereduce.avalanche import analysis
from spikereduce.errors import ParameterError


def test_histograms_and_total_variation():
    s, P = analysis.size_histogram([1, 1, 2, 4], N=5)
    np.testing.assert_array_equal(s, [1, 2, 3, 4, 5])
    np.testing.assert_allclose(P, [0.5, 0.25, 0, 0.25, 0])
    assert analysis.total_variation([0.5, 0.5], [1.0]) == pytest.approx(0.5)
    with pytest.raises(ParameterError):
        analysis.size_histogram([0, 1])
    x, d = analysis.log_binned(np.arange(1, 1001))
    assert np.all(np.diff(x) > 0) and d.sum() > 0


def test_chi_square_pools_small_cells():
    q = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    res = analysis.chi_square(np.array([500, 300, 190, 5, 5]), q)
    # expected 5 + 5 < 20: pooled and merged into the smallest cell (190), so 3 cells, df 2
    assert res.statistic == pytest.approx(0.0) and res.df == 2
    res = analysis.chi_square(np.array([1500, 900, 570, 15, 15]), q)
    assert res.df == 3  # 15 + 15 expected: the pool (30) is a cell of its own
    bad = analysis.chi_square(np.array([600, 200, 190, 5, 5]), q)
    assert bad.pvalue < 1e-6


@pytest.mark.slow
def test_power_law_fit_recovers_exponent_and_beats_exponential():
    x = stats.zipf.rvs(2.5, size=20_000, random_state=1)
    fit = analysis.fit_power_law(x, xmin=1)
    assert abs(fit.alpha - 2.5) < 3 * fit.sigma + 0.01
    R, p = fit.comparisons["exponential"]
    assert R > 0 and p < 1e-3


@pytest.mark.slow
def test_small_xmin_bias_of_the_fast_discrete_estimator():
    """Documented pitfall: the approximate discrete MLE is badly biased at xmin = 1."""
    x = stats.zipf.rvs(2.5, size=20_000, random_state=1)
    fast = analysis.fit_power_law(x, xmin=1, estimate_discrete=True, compare_to=())
    assert fast.alpha < 2.2  # about 2.03, against the true 2.5
    tail = analysis.fit_power_law(x, xmin=10, estimate_discrete=True, compare_to=())
    assert abs(tail.alpha - 2.5) < 4 * tail.sigma + 0.02


def test_power_law_fit_warns_where_the_data_cannot_support_it():
    from spikereduce.avalanche import simulate, weights
    from spikereduce.avalanche.analysis import LikelihoodRatio, PowerLawWarning

    sizes = simulate(weights.homogeneous(14, 0.9), 20_000, seed=1)["sizes"].values
    with pytest.warns(PowerLawWarning, match="spans 1.15 decades"):
        fit = analysis.fit_power_law(sizes)
    assert any("decades" in w for w in fit.warnings)
    lr = fit.comparisons["exponential"]
    assert isinstance(lr, LikelihoodRatio) and lr.favours in ("power law", "alternative",
                                                               "neither")
    with pytest.warns(PowerLawWarning, match="edge of the search"):
        analysis.fit_power_law(sizes, xmin=1, xmax=14)


def test_power_law_fit_on_a_long_tail_gives_no_warning():
    import warnings

    from spikereduce.avalanche.analysis import PowerLawWarning

    rng = np.random.default_rng(1)
    x = np.floor((1 - rng.random(50_000)) ** (-1 / 1.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PowerLawWarning)
        fit = analysis.fit_power_law(x, xmin=2)
    assert fit.warnings == () and fit.comparisons["exponential"].favours == "power law"
