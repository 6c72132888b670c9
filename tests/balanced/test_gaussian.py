"""Gaussian expectations of the sigmoids (spec balanced.md T1) and the kernel's intensity."""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import expit, ndtr

from spikereduce.balanced import _kernels as nk
from spikereduce.balanced.gaussian import gauss_rate, pointwise_rate, pointwise_slope

M, V, LAM, BETA, H = 0.3, 0.7, 1.0, 2.0, 0.1


def test_t1_probit_closed_form_matches_spec():
    F, Fm, Fv = gauss_rate("probit", LAM, BETA, H, M, V)
    assert F == pytest.approx(0.581290374008206, abs=1e-10)
    assert Fm == pytest.approx(0.400779243755423, abs=1e-10)
    assert Fv == pytest.approx(-0.0421872888163604, abs=1e-10)


def test_t1_logistic_quadrature_matches_spec():
    F, Fm, Fv = gauss_rate("logistic", LAM, BETA, H, M, V)
    assert F == pytest.approx(0.566616916086922, abs=1e-10)
    assert Fm == pytest.approx(0.329788273086692, abs=1e-10)
    assert Fv == pytest.approx(-0.0245656060955946, abs=1e-10)


def _adaptive(g):
    # |z| > 15 carries weight below 1e-49: finite limits keep quad away from round-off warnings.
    val, _ = quad(lambda z: g(M + math.sqrt(V) * z) * math.exp(-0.5 * z * z), -15.0, 15.0,
                  limit=200, epsabs=1e-12, epsrel=1e-12)
    return val / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("sigmoid", ["probit", "logistic"])
def test_t1_against_independent_adaptive_quadrature(sigmoid):
    # Tolerance 1e-9 (spec T1, logistic); the probit closed form also passes it.
    def s(x):
        return expit(BETA * (x - H)) if sigmoid == "logistic" else ndtr(BETA * (x - H))

    def d1(x, e=1e-4):
        return (s(x + e) - s(x - e)) / (2 * e)

    F, Fm, Fv = gauss_rate(sigmoid, LAM, BETA, H, M, V)
    assert F == pytest.approx(_adaptive(s), abs=1e-9)
    # Derivatives by Stein's identities: E f'(X) = E[(X-m) f(X)]/v, E f''(X)/2 = E[((X-m)^2/v
    # - 1) f(X)]/(2v), so only f itself is integrated (no finite differences).
    assert Fm == pytest.approx(_adaptive(lambda x: (x - M) * s(x)) / V, abs=1e-9)
    assert Fv == pytest.approx(
        _adaptive(lambda x: ((x - M) ** 2 / V - 1.0) * s(x)) / (2 * V), abs=1e-9)
    assert d1(0.2) > 0  # the sigmoid increases (H1)


def test_probit_quadrature_agrees_with_closed_form():
    from spikereduce.balanced.gaussian import _W, _Z  # the nodes the logistic path uses

    x = M + math.sqrt(V) * _Z
    assert float(ndtr(BETA * (x - H)) @ _W) == pytest.approx(
        gauss_rate("probit", LAM, BETA, H, M, V)[0], abs=1e-13)


def test_vectorised_and_zero_variance():
    m = np.array([-1.0, 0.0, 2.0])
    F, Fm, _ = gauss_rate("logistic", 2.0, 1.5, 0.2, m, np.zeros(3))
    np.testing.assert_allclose(F, pointwise_rate("logistic", 2.0, 1.5, 0.2, m), atol=1e-14)
    np.testing.assert_allclose(Fm, pointwise_slope("logistic", 2.0, 1.5, 0.2, m), atol=1e-14)
    F, Fm, _ = gauss_rate("probit", 2.0, 1.5, 0.2, m, np.zeros(3))
    np.testing.assert_allclose(F, pointwise_rate("probit", 2.0, 1.5, 0.2, m), atol=1e-14)
    np.testing.assert_allclose(Fm, pointwise_slope("probit", 2.0, 1.5, 0.2, m), atol=1e-14)


@pytest.mark.numba
def test_tabulated_probit_intensity_is_accurate_everywhere():
    # The kernel evaluates Phi by cubic Hermite interpolation inside |z| < 10 and erfc outside.
    x = np.linspace(-8.0, 8.0, 200_001)
    got = nk.intensity(0, 1.0, 1.7, 0.3, x)
    assert np.max(np.abs(got - ndtr(1.7 * (x - 0.3)))) < 1e-10
    got = nk.intensity(1, 2.0, 1.7, 0.3, x)
    assert np.max(np.abs(got - 2.0 * expit(1.7 * (x - 0.3)))) < 1e-14
