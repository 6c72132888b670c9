"""Density <-> particle hand-over of the multi-scale solver (nlif spec §3.3, §3.4)."""

from __future__ import annotations

import numpy as np
import pytest

from spikereduce.errors import NumericalError, ParameterError
from spikereduce.nlif.handover import (
    quantile_points,
    reconstruct_density,
    sample_particles,
    silverman_bandwidth,
)

V_F, H, V_MIN = 2.0, 0.01, -4.0


def grid() -> np.ndarray:
    # Unknown nodes v_0..v_{n-1}; v_n = v_f carries the Dirichlet zero.
    n = round((V_F - V_MIN) / H)
    return V_MIN + H * np.arange(n)


def gauss(v: np.ndarray, v0: float, var: float) -> np.ndarray:
    p = np.exp(-((v - v0) ** 2) / (2 * var))
    return p / (H * p.sum())


def test_quantiles_reproduce_moments_of_a_gaussian():
    v = grid()
    p = gauss(v, 0.0, 0.25)
    pts = quantile_points(v, p, 100_000, v_f=V_F)
    assert np.all(np.diff(pts) >= 0)
    assert pts.min() >= V_MIN and pts.max() <= V_F
    # Stratified sampling is deterministic: moments are off by O(h^2) + O(1/n), not O(n^-1/2).
    assert abs(pts.mean()) < 1e-4
    assert abs(pts.var() - 0.25) < 1e-3


def test_quantiles_invert_a_linear_cell_exactly():
    # Triangle density 2(1 - x) on [0, 1] (v_f = 1): F(x) = 1 - (1 - x)^2.
    v = np.array([0.0, 1.0])
    p = np.array([2.0, 0.0])
    pts = quantile_points(v, p, 8, v_f=1.0)
    u = (np.arange(8) + 0.5) / 8
    np.testing.assert_allclose(pts, 1 - np.sqrt(1 - u), rtol=0, atol=1e-12)


def test_sample_particles_is_a_reproducible_permutation_of_the_quantiles():
    v = grid()
    p = gauss(v, -1.0, 0.5)
    a = sample_particles(v, p, 1000, np.random.default_rng(3), v_f=V_F)
    b = sample_particles(v, p, 1000, np.random.default_rng(3), v_f=V_F)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.sort(a), quantile_points(v, p, 1000, v_f=V_F))
    assert not np.all(np.diff(a) >= 0)


def test_reconstruction_has_unit_mass_and_absorbing_boundary():
    v = np.append(grid(), V_F)
    rng = np.random.default_rng(0)
    volts = np.minimum(rng.normal(1.0, 0.5, 50_000), V_F - 1e-9)
    p = reconstruct_density(volts, v, v_f=V_F)
    assert p[-1] == 0.0
    assert np.all(p >= 0)
    assert abs(H * p.sum() - 1.0) < 1e-12
    # Odd image: near v_f the estimate falls linearly to 0 instead of stopping at a finite value.
    assert p[-2] < 0.2 * p[-30]


def test_round_trip_density_particles_density():
    # Quantile sampling then reconstruction returns the density up to the kernel bias O(bw^2).
    v = grid()
    p = gauss(v, 0.0, 0.25)
    pts = quantile_points(v, p, 100_000, v_f=V_F)
    q = reconstruct_density(pts, v, v_f=V_F)
    l1 = H * np.abs(q - p).sum()
    assert l1 < 0.01
    # Rate-relevant slope near v_f (p ~ N (v_f - v)/a) survives: compare mass in the last 0.2.
    tail = slice(-20, None)
    assert abs(q[tail].sum() - p[tail].sum()) / p[tail].sum() < 0.05


def test_silverman_bandwidth_floor_and_scaling():
    rng = np.random.default_rng(1)
    assert silverman_bandwidth(rng.normal(0, 1e-3, 1000), H) == 2 * H
    big = silverman_bandwidth(rng.normal(0, 1.0, 1000), H)
    assert abs(big - 1.06 * 1000 ** -0.2) < 0.01


def test_invalid_inputs_are_reported():
    v = grid()
    p = gauss(v, 0.0, 0.25)
    with pytest.raises(NumericalError):
        quantile_points(v, np.full_like(p, np.nan), 10, v_f=V_F)
    with pytest.raises(NumericalError):
        quantile_points(v, np.zeros_like(p), 10, v_f=V_F)
    with pytest.raises(ParameterError) as err:
        quantile_points(v, p[:-1], 10, v_f=V_F)
    assert err.value.field == "p"
    with pytest.raises(ParameterError) as err:
        quantile_points(v, p, 0, v_f=V_F)
    assert err.value.field == "n"
    with pytest.raises(ParameterError) as err:
        reconstruct_density(np.zeros(10), v, v_f=V_F, bw=-1.0)
    assert err.value.field == "bw"
    with pytest.raises(NumericalError):
        reconstruct_density(np.array([0.0, np.inf]), v, v_f=V_F)
