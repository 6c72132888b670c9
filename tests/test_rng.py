"""Kernel random numbers: SplitMix64 seeding and the xoshiro256+ uniform/normal draws."""

import numba
import numpy as np

from spikereduce.rng import normal, seed_state, splitmix64_words, uniform


@numba.njit  # no cache: test modules are imported by path
def _draw(state, n):
    spare = np.zeros(2)
    u = np.empty(n)
    z = np.empty(n)
    for i in range(n):
        u[i] = uniform(state)
        z[i] = normal(state, spare)
    return u, z


def test_splitmix64_reference_values():
    # Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    assert splitmix64_words(0, 2).tolist() == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


def test_draws_are_reproducible_and_have_the_right_law():
    u1, z1 = _draw(seed_state(42), 200_000)
    u2, z2 = _draw(seed_state(42), 200_000)
    assert np.array_equal(u1, u2) and np.array_equal(z1, z2)
    n = u1.size
    assert u1.min() >= 0.0 and u1.max() < 1.0
    # Means and variances within 5 standard errors of the exact values.
    assert abs(u1.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(z1.mean()) < 5 / np.sqrt(n)
    assert abs(z1.var() - 1.0) < 5 * np.sqrt(2 / n)
    assert not np.array_equal(_draw(seed_state(43), 10)[0], u1[:10])
