"""Closed forms (spec avalanche.md §2.7) against the determinant formula: TC-2 to TC-6."""

import numpy as np
import pytest

from spikereduce.avalanche import (
    closed_form,
    mean_size,
    simulate,
    size_distribution,
    theory,
    weights,
)
from spikereduce.errors import ParameterError


def test_tc3_homogeneous_n100_reference_values():
    P = closed_form.homogeneous(100, 0.9)
    idx = np.array([1, 2, 10, 50, 100]) - 1
    np.testing.assert_allclose(P[idx], [0.37826107, 0.14036716, 0.01392339, 1.784894e-3,
                                        2.707584e-6], rtol=1e-6)  # 7 printed digits
    assert (np.arange(1, 101) * P).sum() == pytest.approx(9.1743119, abs=1e-7)


@pytest.mark.parametrize("self_coupling", [True, False])
def test_homogeneous_matches_determinant(self_coupling):
    for N, alpha in ((8, 0.9), (12, 0.5), (5, 0.99)):
        W = weights.homogeneous(N, alpha, self_coupling)
        np.testing.assert_allclose(closed_form.homogeneous(N, alpha, self_coupling),
                                   size_distribution(W), atol=1e-13)


def test_tc4_ring_n10():
    P = closed_form.ring(10, 0.8)
    np.testing.assert_allclose(P, [0.24999928, 0.24999642, 0.18748873, 0.12496960, 0.07804878,
                                   0.04669194, 0.02691653, 0.01464845, 0.00659180, 0.01464845],
                               atol=5e-9)
    np.testing.assert_allclose(P, size_distribution(weights.ring(10, 0.8)), atol=1e-13)
    assert (np.arange(1, 11) * P).sum() == pytest.approx(2.9941463, abs=1e-7)


def test_tc5_line_n10():
    P = closed_form.line(10, 0.8)
    np.testing.assert_allclose(P, [0.30357155, 0.27678641, 0.18750198, 0.11161174, 0.06139345,
                                   0.03182601, 0.01565551, 0.00729806, 0.00317819, 0.00117711],
                               atol=5e-9)
    np.testing.assert_allclose(P, size_distribution(weights.line(10, 0.8)), atol=1e-13)
    # the notebook's variant with end weight alpha is a different network (spec pitfall)
    W_end = weights.line(10, 0.8)
    W_end[0, 1] = W_end[9, 8] = 0.8
    np.testing.assert_allclose(size_distribution(W_end)[:2], [0.25000197, 0.27344441], atol=5e-9)


def test_tc6_two_populations():
    P = closed_form.two_population(4, 0.1, 0.05)
    np.testing.assert_allclose(P, [0.53421058, 0.20056705, 0.10884750, 0.06674974, 0.04224904,
                                   0.02646346, 0.01493109, 0.00598154], atol=5e-9)
    np.testing.assert_allclose(P, size_distribution(weights.two_population(4, 0.1, 0.05)),
                               atol=1e-15)
    assert (np.arange(1, 9) * P).sum() == pytest.approx(2.0512821, abs=1e-7)
    joint = closed_form.two_population(4, 0.1, 0.05, joint=True)
    assert joint.shape == (5, 5) and joint[0, 0] == 0 and np.allclose(joint, joint.T)


def test_torus_fft_mean_matches_dense_inverse():
    for l, k, alpha in ((5, 1, 0.9), (7, 2, 0.97), (6, 1, 0.5)):
        assert closed_form.torus_mean_size(l, k, alpha) == pytest.approx(
            mean_size(weights.torus(l, k, alpha)), rel=1e-12)


def test_large_n_and_alpha_near_one_stay_finite():
    """Log-space evaluation: spec F6 (N = 1000, alpha = 0.9999) and the legacy N = 10^4 EHE."""
    for P in (closed_form.ring(1000, 0.9999), closed_form.line(1000, 0.9999),
              closed_form.homogeneous(10_000, 0.99)):
        assert np.all(np.isfinite(P)) and np.all(P >= 0) and P.sum() == pytest.approx(1, abs=1e-9)
    # deleting one edge changes the distribution (F6)
    assert closed_form.line(1000, 0.9999)[0] > closed_form.ring(1000, 0.9999)[0]


def test_closed_form_validation():
    with pytest.raises(ParameterError) as exc:
        closed_form.ring(10, 1.0)
    assert exc.value.field == "alpha"
    with pytest.raises(ParameterError) as exc:
        closed_form.two_population(4, 0.2, 0.1)
    assert exc.value.field == "a"
    with pytest.raises(ParameterError) as exc:
        closed_form.homogeneous(0, 0.5)
    assert exc.value.field == "N"


def test_homogeneous_generation_profiles_give_durations():
    """Spec §2.6 profile formula: equals the general pattern enumeration at N = 8 (TC-2) and its
    size marginal is the EHE closed form at N = 100."""
    J8 = closed_form.homogeneous_size_duration(8, 0.9)
    np.testing.assert_allclose(J8, theory.size_duration_distribution(weights.homogeneous(8, 0.9)),
                               atol=1e-14)
    np.testing.assert_allclose(J8.sum(axis=0), [0.22996, 0.13218, 0.12862, 0.18701, 0.17975,
                                                0.10251, 0.03456, 0.00541], atol=5e-6)
    J100 = closed_form.homogeneous_size_duration(100, 0.9)
    np.testing.assert_allclose(J100.sum(axis=1), closed_form.homogeneous(100, 0.9), atol=1e-13)


@pytest.mark.validation
@pytest.mark.numba
def test_simulated_durations_match_profile_formula():
    """N = 100, alpha = 0.9: every 5th of 5e5 avalanches (weakly correlated), |z| < 4 for
    P(D = d), d = 1..10 (binomial standard errors)."""
    PD = closed_form.homogeneous_size_duration(100, 0.9).sum(axis=0)
    rec = simulate(weights.homogeneous(100, 0.9), 500_000, seed=9, record_assemblies=False)
    d = rec["durations"].values[::5]
    obs = np.bincount(d, minlength=101)[1:11]
    n = d.size
    z = (obs - n * PD[:10]) / np.sqrt(n * PD[:10] * (1 - PD[:10]))
    assert np.abs(z).max() < 4, z
