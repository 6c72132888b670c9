"""The dsODE reduction (spec §2.4): conservation (T2) and the regressions T6/T7 (§3.2A)."""

import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.markov import MarkovParams, firing_rates, mfe_peaks, simulate_dsode, ssi
from spikereduce.markov.observables import spikes_per_cycle

pytestmark = pytest.mark.numba


@pytest.mark.parametrize("rule", ["code", "clean"])
def test_t2_conservation_every_step(rule, dsode_code, dsode_clean):
    ds = dsode_code if rule == "code" else dsode_clean
    for pop, n in (("E", 300), ("I", 100)):
        total = ds[f"vhist_{pop}"].sum("v_bin") + ds[f"R_{pop}"]
        # Σn + R = N_Q to 1e-6 relative at every step; the dropped mass is tiny
        assert float(np.max(np.abs(total - n))) / n < 1e-6
        # with the dropped mass booked, the balance is exact to rounding
        assert float(np.max(np.abs(total + ds[f"lost_{pop}"] - n))) < 1e-9
    assert ds.vhist_E.isel(v_bin=0).max() == 0  # the lowest bin never receives mass


@pytest.mark.validation
def test_t6_dsode_code_regression(dsode_code):
    nu_e, nu_i = firing_rates(dsode_code)
    # spec T6: 44.3 ± 0.5 and 61.8 ± 0.5 Hz
    assert nu_e == pytest.approx(44.3, abs=0.5)
    assert nu_i == pytest.approx(61.8, abs=0.5)
    peaks = mfe_peaks(dsode_code)
    assert peaks.pattern == "period-2"
    late = peaks.heights[peaks.times > 500]
    big, small = late[late > 100], late[late < 100]
    # exact period-2: smoothed peak heights 157 / 39 (± 2) alternate
    assert np.all(np.abs(big - 157) < 2) and np.all(np.abs(small - 39) < 2)
    assert abs(big.size - small.size) <= 1
    # §3.2A: MFE rate ≈ 59.5 Hz, SSI_E/SSI_I 0.316 / 0.449
    assert peaks.rate == pytest.approx(59.5, abs=2.0)
    s_e, s_i = ssi(dsode_code)
    assert s_e == pytest.approx(0.316, abs=0.01) and s_i == pytest.approx(0.449, abs=0.01)


@pytest.mark.validation
def test_dsode_code_pending_spikes_and_refractory_pools(dsode_code):
    late = dsode_code.sel(time=slice(200.0, None))
    # §3.2A: cycle means of H̄ and R (dsODE-code column)
    for syn, ref in (("EE", 14.9), ("EI", 22.3), ("IE", 12.8), ("II", 22.3)):
        assert float(late[f"H_{syn}"].mean()) == pytest.approx(ref, abs=0.3)
    assert float(late.H_EE.max()) == pytest.approx(117.5, abs=2.0)
    assert float(late.R_E.mean()) == pytest.approx(57, abs=1.5)
    assert float(late.R_I.mean()) == pytest.approx(27, abs=1.0)
    per = spikes_per_cycle(dsode_code, mfe_peaks(dsode_code))
    assert per["E"][0] == pytest.approx(314, abs=5)  # spec: 314 big-cycle E spikes


@pytest.mark.validation
def test_t7_dsode_clean_regression(dsode_clean):
    nu_e, nu_i = firing_rates(dsode_clean)
    assert nu_e == pytest.approx(55.0, abs=0.5)
    assert nu_i == pytest.approx(71.5, abs=0.5)
    peaks = mfe_peaks(dsode_clean)
    assert peaks.pattern == "period-1"
    assert peaks.rate == pytest.approx(49.6, abs=2.0)


def test_dsode_is_deterministic_and_reports_its_phases():
    a = simulate_dsode(MarkovParams(), 50.0)
    b = simulate_dsode(MarkovParams(), 50.0)
    assert np.array_equal(a.rate_E.values, b.rate_E.values)
    assert a.sizes["time"] == 500 and a.time.attrs["units"] == "ms"
    assert "wall_time_simulate" in a.attrs and a.attrs["refractory_rule"] == "code"
    assert a.sizes["v_bin"] == 35


def test_dsode_state_dimension_independent_of_n():
    small = simulate_dsode(MarkovParams().scaled(60), 20.0)
    big = simulate_dsode(MarkovParams().scaled(800), 20.0)
    assert small.sizes == big.sizes
    total = big.vhist_E.sum("v_bin") + big.R_E + big.lost_E
    assert float(np.max(np.abs(total - 2400))) < 1e-8


def test_tau_r_zero_releases_the_pool_at_once():
    ds = simulate_dsode(MarkovParams(tau_r=0.0), 100.0)
    assert float(np.max(np.abs(ds.R_E))) == 0.0
    assert float(ds.rate_E[-300:].mean()) > 0


def test_dsode_validation():
    with pytest.raises(ParameterError, match="refractory"):
        simulate_dsode(MarkovParams(), 10.0, refractory="exact")
    with pytest.raises(ParameterError, match="t_max"):
        simulate_dsode(MarkovParams(), -1.0)
    with pytest.raises(ParameterError, match="dt"):
        simulate_dsode(MarkovParams(), 10.0, dt=0.5)
    with pytest.raises(ParameterError, match="params"):
        simulate_dsode({"p_ei": 0.8}, 10.0)


@pytest.mark.validation
def test_dsode_code_period_two_is_stable_to_3000_ms():
    ds = simulate_dsode(MarkovParams(), 3000.0)
    per_second = ds.rate_E.values.reshape(3, 10000).mean(axis=1) * 1000 / 300
    # §3.2A: E 43.5–44.4 Hz per 1 s window (0.1 Hz slack for the windows' phase)
    assert np.all((per_second > 43.4) & (per_second < 44.5))
    peaks = mfe_peaks(ds)
    assert peaks.pattern == "period-2"
    late = peaks.heights[peaks.times > 2500]
    assert np.all(np.abs(late[late > 100] - 157) < 2) and np.all(np.abs(late[late < 100] - 39) < 2)
