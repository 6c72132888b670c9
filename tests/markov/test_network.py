"""The pending-spike SNN (spec §1.3–1.4, T5), its fixed-graph option and the SDE network (§2.3)."""

import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.markov import (
    MarkovParams,
    firing_rates,
    fixed_connectivity,
    mfe_peaks,
    simulate_network,
    ssi,
    voltage_histogram,
)
from spikereduce.markov.observables import spikes_per_cycle

pytestmark = pytest.mark.numba


@pytest.mark.validation
def test_t5_snn_default_regime_five_seeds(snn_runs):
    rates = np.array([firing_rates(ds) for ds in snn_runs])
    ssis = np.array([ssi(ds) for ds in snn_runs])
    # spec T5: ν_E = 47.2 ± 1.0 Hz, ν_I = 65.8 ± 1.5 Hz (5-seed mean); SSI_E in [0.25, 0.29]
    assert rates[:, 0].mean() == pytest.approx(47.2, abs=1.0)
    assert rates[:, 1].mean() == pytest.approx(65.8, abs=1.5)
    # single seeds scatter by ~0.8 Hz (800 ms windows): 3 Hz per seed is a ~3.5σ band
    assert np.all(np.abs(rates[:, 0] - 47.2) < 3.0)
    assert 0.25 <= ssis[:, 0].mean() <= 0.29
    assert ssis[:, 1].mean() == pytest.approx(0.322, abs=0.03)
    for ds in snn_runs:
        peaks = mfe_peaks(ds)
        assert peaks.pattern == "period-2"
        assert 58.0 <= peaks.rate <= 68.0
        per = spikes_per_cycle(ds, peaks)
        # big E events ≈ 330 spikes per cycle, small ≈ 120
        assert per["E"][0] == pytest.approx(330, abs=30)
        assert per["E"][1] == pytest.approx(120, abs=30)


@pytest.mark.validation
def test_snn_pending_spike_levels(snn_runs):
    # §3.2A: neuron-averaged H means 15.6 / 23.4 / 13.3 / 23.3, max of H_EE about 122
    for syn, ref in (("EE", 15.6), ("EI", 23.4), ("IE", 13.3), ("II", 23.3)):
        mean = np.mean([float(ds[f"H_{syn}"].sel(time=slice(200.0, None)).mean())
                        for ds in snn_runs])
        assert mean == pytest.approx(ref, rel=0.05)
    late = [ds.sel(time=slice(200.0, None)) for ds in snn_runs]
    # [p5, p95] of H_EE: [0.2, 82.6], of H_EI: [6.5, 61.0]; maxima about 122
    p_ee = np.mean([np.percentile(ds.H_EE.values, [5, 95]) for ds in late], axis=0)
    p_ei = np.mean([np.percentile(ds.H_EI.values, [5, 95]) for ds in late], axis=0)
    assert p_ee[0] < 1.0 and p_ee[1] == pytest.approx(82.6, rel=0.08)
    assert p_ei[0] == pytest.approx(6.5, abs=1.0) and p_ei[1] == pytest.approx(61.0, rel=0.08)
    assert np.median([float(ds.H_EE.max()) for ds in late]) == pytest.approx(122, rel=0.1)


@pytest.mark.validation
def test_dsode_agrees_with_snn_at_default_point(snn_runs, dsode_code):
    snn = np.array([firing_rates(ds) for ds in snn_runs]).mean(axis=0)
    red = np.array(firing_rates(dsode_code))
    # spec: rates agree to about 10-15 % where the reduction holds (here 6 %)
    assert np.all(np.abs(red - snn) / snn < 0.10)
    assert mfe_peaks(dsode_code).pattern == mfe_peaks(snn_runs[0]).pattern == "period-2"
    for syn in ("EE", "EI", "IE", "II"):
        a = np.mean([float(ds[f"H_{syn}"].sel(time=slice(200.0, None)).mean())
                     for ds in snn_runs])
        b = float(dsode_code[f"H_{syn}"].sel(time=slice(200.0, None)).mean())
        assert abs(a - b) / a < 0.10
    # time-averaged voltage histograms on the dsODE bins: same shape to within 0.1 in L1
    hs = np.mean([voltage_histogram(ds)[0] for ds in snn_runs], axis=0)
    hd = voltage_histogram(dsode_code)[0]
    assert np.abs(hs - hd).sum() < 0.1
    # the non-refractory fraction (1 - R/N) agrees too
    assert hs.sum() == pytest.approx(hd.sum(), abs=0.03)


def test_same_seed_same_arrays_different_seed_differs():
    p = MarkovParams()
    a = simulate_network(p, 60.0, seed=4)
    b = simulate_network(p, 60.0, seed=4)
    c = simulate_network(p, 60.0, seed=5)
    for name in ("rate_E", "H_EI", "spike_neuron", "vhist_I"):
        assert np.array_equal(a[name].values, b[name].values)
    assert not np.array_equal(a.spike_neuron.values, c.spike_neuron.values)


def test_raster_matches_population_counts():
    ds = simulate_network(MarkovParams(), 100.0, seed=2)
    n_e = ds.attrs["n_E"]
    is_e = ds.spike_neuron.values < n_e
    assert is_e.sum() == int(round(float(ds.rate_E.sum()) * 0.1))
    assert (~is_e).sum() == int(round(float(ds.rate_I.sum()) * 0.1))
    # every step: non-refractory histogram + refractory count <= population (rest below -40)
    tot = ds.vhist_E.sum("v_bin") + ds.R_E
    assert int(tot.max()) <= n_e


def test_refractory_neurons_do_not_fire():
    # tau_r huge: a neuron fires at most once in a 50 ms run (exit probability 1e-10 per
    # neuron-step: ~2e-5 expected exits; at tau_r = 1e6 it would be ~0.02)
    ds = simulate_network(MarkovParams(tau_r=1e9), 50.0, seed=1)
    ids = ds.spike_neuron.values
    assert ids.size > 0 and np.unique(ids).size == ids.size


def test_fixed_connectivity_graph_and_run():
    p = MarkovParams(p_ee=0.3, p_ei=0.6)
    conn = fixed_connectivity(p, np.random.default_rng(0))
    assert conn.shape == (400, 400)
    # densities within 5 s.e. of p
    assert conn[:300, :300].mean() == pytest.approx(0.3, abs=5 * np.sqrt(0.21 / 9e4))
    assert conn[:300, 300:].mean() == pytest.approx(0.6, abs=5 * np.sqrt(0.24 / 3e4))
    a = simulate_network(MarkovParams(), 400.0, seed=3, connectivity="fixed")
    b = simulate_network(MarkovParams(), 400.0, seed=3, connectivity="fixed")
    assert np.array_equal(a.spike_neuron.values, b.spike_neuron.values)
    # a dense (p = 0.8) fixed graph stays close to the annealed network: within 10 %
    nu_e, _ = firing_rates(a)
    assert nu_e == pytest.approx(47.2, rel=0.10)
    assert a.attrs["connectivity"] == "fixed"


def test_poisson_external_kicks():
    ds = simulate_network(MarkovParams(), 400.0, seed=3, external="poisson")
    nu_e, nu_i = firing_rates(ds)
    # exact unit kicks instead of Gaussian increments: same regime (within 10 %)
    assert nu_e == pytest.approx(47.2, rel=0.10) and nu_i == pytest.approx(65.8, rel=0.10)


@pytest.mark.validation
def test_sde_network_default_point():
    runs = [simulate_network(MarkovParams(), 1000.0, seed=s, model="sde") for s in (1, 2)]
    rates = np.array([firing_rates(ds) for ds in runs]).mean(axis=0)
    # §3.2A level (b): 46.84 ± 0.69 / 64.28 ± 0.83 Hz; our per-neuron variance reading runs
    # ~1-2 Hz higher than the reference's E-indexing quirk, so the band is 5 %
    assert rates[0] == pytest.approx(46.84, rel=0.05)
    assert rates[1] == pytest.approx(64.28, rel=0.05)
    assert np.mean([ssi(ds)[0] for ds in runs]) == pytest.approx(0.332, abs=0.04)
    assert np.mean([mfe_peaks(ds).rate for ds in runs]) == pytest.approx(57, abs=4)
    assert runs[0].attrs["model"] == "sde" and "spike_time" in runs[0]


@pytest.mark.parametrize("kwargs,field", [
    ({"model": "lif"}, "model"), ({"connectivity": "ring"}, "connectivity"),
    ({"dt": 0.4}, "dt"), ({"seed": -1}, "seed"), ({"external": "shot"}, "external"),
    ({"model": "sde", "connectivity": "fixed"}, "connectivity"),
    ({"model": "sde", "external": "poisson"}, "external")])
def test_network_validation_names_the_argument(kwargs, field):
    kwargs = {"seed": 0, **kwargs}
    with pytest.raises(ParameterError) as err:
        simulate_network(MarkovParams(), 10.0, **kwargs)
    assert err.value.field == field


def test_network_refuses_bad_t_max_and_params():
    with pytest.raises(ParameterError, match="t_max"):
        simulate_network(MarkovParams(), 0.0, seed=0)
    with pytest.raises(ParameterError, match="params"):
        simulate_network(None, 10.0, seed=0)


def test_chunked_run_equals_one_chunk_run():
    # the progress loop runs the kernel in 50 chunks; RNG state must carry over exactly
    from spikereduce.markov._kernels import snn_chunk
    from spikereduce.rng import streams

    p = MarkovParams()
    ds = simulate_network(p, 50.0, seed=9)
    n, n_steps = p.n_e + p.n_i, 500
    st = streams(9)
    tau, prob, s = p.synapse_arrays()
    v, ref = np.zeros(n), np.zeros(n, dtype=np.bool_)
    h_e, h_i = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    spikes = np.zeros((n_steps, 2), dtype=np.int64)
    hbar, refr = np.zeros((n_steps, 4)), np.zeros((n_steps, 2), dtype=np.int64)
    vhist = np.zeros((n_steps, 2, p.n_bins), dtype=np.int32)
    sp_step, sp_id = np.empty(n * n_steps, np.int64), np.empty(n * n_steps, np.int32)
    k = snn_chunk(0, n_steps, st.state("network"), np.zeros(2), p.n_e, v, ref, h_e, h_i,
                  np.zeros((1, 1), dtype=np.bool_), False, np.full(n_steps, p.lam), p.M, p.Mr,
                  p.tau_m, tau, prob,
                  s, p.tau_r, 0.1, False, -40.0, p.v_bin, spikes, hbar, refr, vhist, sp_step,
                  sp_id)
    assert np.array_equal(ds.rate_E.values, spikes[:, 0] / 0.1)
    assert np.array_equal(ds.H_EI.values, hbar[:, 1])
    assert np.array_equal(ds.spike_neuron.values, sp_id[:k])


@pytest.mark.numba
def test_inversion_samplers_match_their_distributions():
    from scipy import stats

    from spikereduce.markov._kernels import binomial_cdf, draw_binomial, draw_poisson
    from spikereduce.rng import streams

    rng = streams(11).state("network")
    cdf = np.zeros((1, 41))
    assert binomial_cdf(40, 0.8, cdf, 0)
    draws = np.array([draw_binomial(rng, 40, 0.8, cdf, 0, True) for _ in range(20000)])
    # mean 32, sd 2.53: s.e. of the mean 0.018 -> 0.08 is a >4σ band
    assert draws.mean() == pytest.approx(32.0, abs=0.08)
    assert draws.var() == pytest.approx(6.4, rel=0.05)
    binomial_cdf(5, 1.0, cdf, 0)
    assert draw_binomial(rng, 5, 1.0, cdf, 0, True) == 5
    binomial_cdf(5, 0.0, cdf, 0)
    assert draw_binomial(rng, 5, 0.0, cdf, 0, True) == 0
    lam_unit = 0.1 / 1.4
    table = np.exp(-np.arange(4096) * lam_unit)[None, :]
    pois = np.array([draw_poisson(rng, 20, table, 0, lam_unit) for _ in range(20000)])
    lam = 20 * lam_unit
    counts = np.bincount(pois, minlength=8)[:8]
    expected = 20000 * stats.poisson.pmf(np.arange(8), lam)
    assert stats.chisquare(counts, expected * counts.sum() / expected.sum()).pvalue > 1e-4
