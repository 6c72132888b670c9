"""The random-number policy and the shared compiled generators (spikereduce.rng)."""

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats

from spikereduce.errors import ParameterError
from spikereduce.rng import PURPOSES, derive_seed, streams
from spikereduce.rng import generators as g


@numba.njit  # no cache: test modules are imported by path
def _draw(state, n):
    spare = np.zeros(2)
    u = np.empty(n)
    z = np.empty(n)
    for i in range(n):
        u[i] = g.uniform(state, 0)
        z[i] = g.normal(state, 0, spare)
    return u, z


@numba.njit
def _counts(state, n, kind, a, b):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = g.poisson(state, 0, a) if kind == 0 else g.binomial(state, 0, b, a)
    return out


@numba.njit
def _small_counts(state, n, n_trials, p):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = g.binomial_small(state, 0, n_trials, p)
    return out


def _splitmix64_words(seed, count):
    """SplitMix64 outputs from ``seed`` through the library's compiled mix64 (the Weyl position
    of draw k is seed + k GAMMA)."""
    return [int(g.mix64(np.uint64((seed + k * int(g.GAMMA)) % 2**64))) for k in
            range(1, count + 1)]


def test_splitmix64_reference_values():
    # Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    assert _splitmix64_words(0, 2) == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


def test_uniform_and_normal_draws_are_reproducible_and_have_the_right_law():
    u1, z1 = _draw(streams(42).state("network"), 200_000)
    u2, z2 = _draw(streams(42).state("network"), 200_000)
    assert np.array_equal(u1, u2) and np.array_equal(z1, z2)
    n = u1.size
    assert u1.min() >= 0.0 and u1.max() < 1.0
    # Means and variances within 5 standard errors of the exact values.
    assert abs(u1.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(z1.mean()) < 5 / np.sqrt(n)
    assert abs(z1.var() - 1.0) < 5 * np.sqrt(2 / n)
    assert stats.kstest(z1, "norm").pvalue > 1e-3
    assert not np.array_equal(_draw(streams(43).state("network"), 10)[0], u1[:10])


@pytest.mark.parametrize("lam", [0.3, 4.0, 29.0, 31.0, 250.0, 5000.0])
def test_poisson_counts_follow_the_poisson_law(lam):
    """Both branches (upward inversion below a mean of 30, from the mode above): mean, variance
    within 5 standard errors and a chi-square test of the histogram (p > 1e-4)."""
    n = 100_000
    x = _counts(streams(1).state("network"), n, 0, lam, 0)
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / n)
    assert abs(x.var() / lam - 1) < 5 * np.sqrt(2 / n)
    lo, hi = stats.poisson.ppf([1e-4, 1 - 1e-4], lam).astype(int)
    obs = np.array([(x <= lo).sum()] + [(x == k).sum() for k in range(lo + 1, hi)]
                   + [(x >= hi).sum()])
    cdf = stats.poisson.cdf(np.arange(lo, hi), lam)
    exp = n * np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    assert stats.chisquare(obs, exp).pvalue > 1e-4


@pytest.mark.parametrize("n_trials,p", [(10, 0.3), (1000, 0.01), (400, 0.5), (10_000, 0.2),
                                        (50, 0.97), (3000, 0.999)])
def test_binomial_counts_follow_the_binomial_law(n_trials, p):
    n = 100_000
    x = _counts(streams(2).state("network"), n, 1, p, n_trials)
    _assert_binomial(x, n_trials, p)


# binomial_small's branches: the zero shortcut, the walk from zero (with p and 1 - p) and the
# exact sampler from the mode for means of 30 and more
@pytest.mark.parametrize("n_trials,p", [(10, 0.3), (50, 0.003), (50, 0.97), (50, 0.5),
                                        (400, 0.2), (2000, 0.999), (5000, 0.3)])
def test_small_mean_binomial_counts_follow_the_binomial_law(n_trials, p):
    x = _small_counts(streams(3).state("reduction"), 100_000, n_trials, p)
    _assert_binomial(x, n_trials, p)


def _assert_binomial(x, n_trials, p):
    """Mean within 5 standard errors and a chi-square test of the histogram (p > 1e-4)."""
    n = x.size
    assert x.min() >= 0 and x.max() <= n_trials
    mean, var = n_trials * p, n_trials * p * (1 - p)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / n)
    lo, hi = stats.binom.ppf([1e-4, 1 - 1e-4], n_trials, p).astype(int)
    obs = np.array([(x <= lo).sum()] + [(x == k).sum() for k in range(lo + 1, hi)]
                   + [(x >= hi).sum()])
    cdf = stats.binom.cdf(np.arange(lo, hi), n_trials, p)
    exp = n * np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    assert stats.chisquare(obs, exp).pvalue > 1e-4


def test_same_seed_same_streams_and_purposes_are_independent():
    a, b = streams(7), streams(7)
    assert np.array_equal(a.state("network", 3), b.state("network", 3))
    assert np.array_equal(a.generator("initial").random(10), b.generator("initial").random(10))
    states = {int(streams(7).state(p)[0]) for p in PURPOSES}
    assert len(states) == len(PURPOSES)
    assert streams(7).state("micro", 1, 0)[0] != streams(7).state("micro", 1, 1)[0]
    assert streams(7).state("network")[0] != streams(8).state("network")[0]
    x = streams(7).generator("initial").standard_normal(20000)
    y = streams(7).generator("handover").standard_normal(20000)
    # Independent standard normals: correlation ~ N(0, 1/n); 5 sigma band.
    assert abs(np.corrcoef(x, y)[0, 1]) < 5 / np.sqrt(x.size)


def test_derived_seeds_depend_on_seed_and_index_only():
    late = [derive_seed(3, i) for i in (4, 2, 0)]
    early = [derive_seed(3, i) for i in (0, 2, 4)]
    assert late == early[::-1]
    assert len({derive_seed(3, i) for i in range(1000)}) == 1000
    assert derive_seed(3, 0) != derive_seed(4, 0)


def test_bad_seed_index_and_purpose():
    with pytest.raises(ParameterError, match="seed"):
        streams(-3)
    with pytest.raises(ParameterError, match="index"):
        derive_seed(1, -1)
    with pytest.raises(ParameterError, match="purpose.*one of"):
        streams(1).state("nonsense")
    with pytest.raises(ParameterError, match="n_streams"):
        streams(1).state("network", 0)


def test_vectorized_normals_are_standard():
    x = np.empty(2_000_001)  # odd: the unpaired last normal of a block too
    g.fill_normal(x, streams(4).state("particles"), 0)
    sd_mean = 1 / np.sqrt(x.size)
    assert abs(x.mean()) < 4 * sd_mean and abs(x.var() - 1) < 4 * np.sqrt(2) * sd_mean
    # Tail mass 2 Phi(-4) = 6.33e-5, 4-sigma band; and the whole law by Kolmogorov-Smirnov.
    tail = (np.abs(x) > 4.0).mean()
    assert abs(tail - 6.334e-5) < 4 * np.sqrt(6.334e-5 / x.size)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # The two halves of a pair are independent (Box-Muller): no correlation between them.
    h = (x.size + 1) // 2
    assert abs(np.corrcoef(x[:x.size - h], x[h:])[0, 1]) < 4 / np.sqrt(x.size - h)


def test_box_muller_functions_are_accurate_to_a_few_ulp():
    rng = np.random.default_rng(0)
    k = rng.integers(0, 2**53, 200_000, dtype=np.int64)
    k[:3] = [0, 2**52, 2**53 - 1]
    r = (k.astype(np.uint64) << np.uint64(11)) | rng.integers(0, 2048, k.size).astype(np.uint64)
    got = _apply(g.neg2log_unit, r)
    expected = -2.0 * np.log(1.0 - k / 2.0**53)
    ok = expected != 0
    assert np.all(np.abs(got - expected)[ok] <= 1e-15 * np.abs(expected[ok]))
    bits = rng.integers(0, 2**63, 200_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    x, y = _apply(g.unit_circle, bits, pair=True)
    phi = ((bits << np.uint64(3)) >> np.uint64(11)).astype(float) * (np.pi / 4 / 2.0**53)
    swap = (bits >> np.uint64(63)) != 0
    xe = np.where(swap, np.sin(phi), np.cos(phi))
    ye = np.where(swap, np.cos(phi), np.sin(phi))
    xe = np.where((bits >> np.uint64(62)) & np.uint64(1), -xe, xe)
    ye = np.where((bits >> np.uint64(61)) & np.uint64(1), -ye, ye)
    assert np.abs(x - xe).max() < 3e-16 and np.abs(y - ye).max() < 3e-16


@njit
def _apply_scalar(f, r, out):
    for i in range(r.size):
        out[i] = f(r[i])


@njit
def _apply_pair(f, r, out_x, out_y):
    for i in range(r.size):
        out_x[i], out_y[i] = f(r[i])


def _apply(f, r, pair=False):
    if pair:
        x, y = np.empty(r.size), np.empty(r.size)
        _apply_pair(f, r, x, y)
        return x, y
    out = np.empty(r.size)
    _apply_scalar(f, r, out)
    return out




@numba.njit
def _one_by_one(st, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = g.uniform(st, 0)
    return out


@numba.njit
def _filled(st, n):
    out = np.empty(n)
    g.fill_uniform(out, n, st, 0)
    return out


def test_block_filled_uniforms_are_the_sequential_draws():
    a, b = streams(3).state("network"), streams(3).state("network")
    assert np.array_equal(_one_by_one(a, 1001), _filled(b, 1001)) and a[0] == b[0]
