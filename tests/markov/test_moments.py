"""Moment ODEs of the pending spikes (spec §2.2; T3 against a birth–death process, T4)."""

import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.markov import MarkovParams, integrate_moments, steady_moments


def test_t3_moments_match_birth_death_monte_carlo():
    # One EI synapse (tau_i = 4.5 ms, p_ei = 0.8); prescribed presynaptic counts per step:
    # 2 spikes per step for 3 ms, silence for 2 ms, then 1 spike per step for 1 ms.
    params = MarkovParams()
    dt = 0.01
    nf = np.concatenate([np.full(300, 2), np.zeros(200, int), np.full(100, 1)])
    hs, ss = integrate_moments(params, np.zeros(nf.size), nf / dt, dt=dt)
    tau, p = params.tau_i, params.p_ei
    rng = np.random.default_rng(3)
    n_samples = 100_000
    h = np.zeros(n_samples, dtype=np.int64)
    die = 1.0 - np.exp(-dt / tau)  # exponential lifetimes observed on the step grid
    checks = {}
    for n in range(nf.size):
        h = h - rng.binomial(h, die) + rng.binomial(nf[n], p, n_samples)
        if n + 1 in (100, 300, 500, 600):
            checks[n + 1] = (h.mean(), h.var())
    for step, (mean, var) in checks.items():
        # 1e5 samples: mean s.e. < 0.2 %, variance s.e. ~ 0.45 %; 2 % is the spec's band
        assert hs[step, 1] == pytest.approx(mean, rel=0.02), step
        assert ss[step, 1] == pytest.approx(var, rel=0.02), step
    # the E->E columns saw no presynaptic E spikes
    assert np.all(hs[:, 0] == 0) and np.all(ss[:, 0] == 0)


def test_t4_steady_state_of_the_moments():
    params = MarkovParams()
    r_e, r_i = 14.2, 6.6  # spikes/ms, about the default population rates
    st = steady_moments(params, r_e, r_i)
    assert st["EE"][0] == pytest.approx(0.8 * r_e * 1.4)
    assert st["EE"][1] == pytest.approx(0.8 * r_e * 1.4 * 1.2 / 2)
    assert st["II"][0] == pytest.approx(0.8 * r_i * 4.5)
    n = 4000  # 400 ms at dt = 0.1 ms, > 80 tau_i
    hs, ss = integrate_moments(params, np.full(n, r_e), np.full(n, r_i), dt=0.1)
    for k, syn in enumerate(("EE", "EI", "IE", "II")):
        assert hs[-1, k] == pytest.approx(st[syn][0], rel=1e-9)
        assert ss[-1, k] == pytest.approx(st[syn][1], rel=1e-9)


def test_moment_inputs_are_validated():
    with pytest.raises(ParameterError, match="r_e"):
        steady_moments(MarkovParams(), -1.0, 0.0)
    with pytest.raises(ParameterError, match="r_i"):
        integrate_moments(MarkovParams(), [1.0, 2.0], [1.0])
    with pytest.raises(ParameterError, match="dt"):
        integrate_moments(MarkovParams(), [1.0], [1.0], dt=1.0)
