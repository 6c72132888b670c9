"""Multi-scale nlif solver (spec §3): switching logic, hand-over, and spec tests T6, T7, T8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spikereduce.cli import main
from spikereduce.errors import ParameterError
from spikereduce.io import load, save
from spikereduce.nlif.fokker_planck import solve_fokker_planck
from spikereduce.nlif.initial import gaussian_density
from spikereduce.nlif.multiscale import default_macro_step, max_micro_step, simulate_multiscale
from spikereduce.nlif.params import NLIFParams, Periodic, Pulse
from spikereduce.nlif.particles import simulate_particles
from spikereduce.nlif.switching import SwitchSettings, run_switching

CONFIG = Path(__file__).parents[2] / "examples" / "configs" / "nlif_multiscale.toml"

V_F = 2.0
H = 0.01
GRID = -4.0 + H * np.arange(600)


def _gauss(v0=0.0, var=0.25):
    p = np.exp(-((GRID - v0) ** 2) / (2 * var))
    return p / (H * p.sum())


def _settings(**kw):
    base = dict(n=1000, dt_macro=1e-4, dt_micro=1e-3, n_up=10.0, n_down=2.0, window=0.1,
                f_sync=0.01, t_back=0.02, bw=None, density_every=0.01)
    base.update(kw)
    return SwitchSettings(**base)


def _fake_macro(rate_of_t):
    """Macro stepper whose rate is a prescribed function of time (the density is left as is)."""
    def advance(p, rate, t, k, every):
        times = t + 1e-4 * np.arange(1, k + 1)
        rates = np.array([rate_of_t(x) for x in times])
        snaps = np.broadcast_to(p, (-(-k // every), p.size))
        return p, rates[-1], rates, np.r_[rate, rates[:-1]] * 1e-4, snaps
    return advance


def _fake_micro(count_of_t):
    """Micro stepper firing a prescribed number of neurons per step (voltages untouched)."""
    def advance(V, t, k, phase):
        return V, np.array([count_of_t(t + 1e-3 * j) for j in range(k)], dtype=np.int64)
    return advance


def _burst(t):
    # The macro rate crosses n_up = 10 at t = 0.035 for a while (a burst it cannot resolve).
    return 50.0 if 0.035 <= t < 0.05 else 1.0


def _run(macro, micro, t_max, **kw):
    return run_switching(_gauss(), 0.1, GRID, V_F, t_max, macro, micro,
                         np.random.default_rng(0), _settings(**kw))


def test_crossing_rolls_back_t_back_and_discards_the_macro_history():
    res = _run(_fake_macro(_burst), _fake_micro(lambda t: 0), 0.3)
    up, down = res.events
    assert up.direction == "macro->micro" and up.reason == "rate above n_up"
    assert up.detected_at == pytest.approx(0.035, abs=1e-9)
    # Rollback to the last buffered state at least t_back before the crossing (chunks of 0.002).
    assert 0.035 - 0.02 - 0.002 - 1e-9 <= up.time <= 0.035 - 0.02 + 1e-9
    after = res.time > up.time + 1e-12
    assert np.all(res.micro[after & (res.time <= down.time + 1e-12)])
    assert np.all(res.rate[res.time <= up.time + 1e-12] <= 10.0)
    # Back after one window (dwell) with the windowed rate 0 < n_down.
    assert down.direction == "micro->macro"
    assert down.time == pytest.approx(up.time + 0.1, abs=1.5e-3)
    assert np.all(np.diff(res.time) > 0)


def test_large_cascade_in_the_window_keeps_micro_mode():
    # One step firing 5 % of 1000 neurons (> f_sync) at t = 0.06 delays the return (otherwise
    # at ~0.114) until that step has left the window, t >= 0.16.
    res = _run(_fake_macro(_burst), _fake_micro(lambda t: 50 if abs(t - 0.06) < 5e-4 else 0), 0.5)
    down = res.events[1]
    assert down.time >= 0.16 - 1e-9
    assert res.max_fired_fraction == pytest.approx(0.05)


def test_high_windowed_rate_keeps_micro_mode():
    # 3 spikes per step among 1000 at dt = 1e-3 is a rate of 3 > n_down = 2.
    res = _run(_fake_macro(_burst), _fake_micro(lambda t: 3 if t < 0.4 else 1), 0.8)
    assert res.events[1].time >= 0.4


def test_premature_switch_back_is_undone_not_repeated():
    # The macro rate is above n_up whenever it is asked after t = 0.035: every return to macro
    # is premature. The solver must undo it instead of chattering between the two modes.
    res = _run(_fake_macro(lambda t: 1.0 if t < 0.035 else 50.0), _fake_micro(lambda t: 0), 1.0)
    assert len(res.events) == 1
    assert res.events[0].direction == "macro->micro"
    assert np.all(res.micro[res.time > 0.04])


def test_a_crossing_within_a_window_of_the_switch_back_undoes_it():
    # Back in macro at ~0.115, the rate crosses n_up again at 0.17: a new switch would roll back
    # to ~0.15, less than a window after the hand-back. The hand-back is undone instead (the
    # particles go on from ~0.115 for a full dwell), so no two switches are within the window.
    def rate(t):
        return 50.0 if 0.035 <= t < 0.05 or 0.17 <= t < 0.18 else 1.0

    res = _run(_fake_macro(rate), _fake_micro(lambda t: 0), 0.6)
    assert [e.direction for e in res.events] == ["macro->micro", "micro->macro"]
    up, down = res.events
    assert down.time == pytest.approx(up.time + 0.2, abs=2e-3)
    assert np.all(res.micro[(res.time > up.time + 1e-9) & (res.time < down.time - 1e-9)])
    assert np.all(np.diff(res.time) > 0)
    assert np.all(res.rate[res.time > down.time + 1e-9] <= 10.0)


def test_forced_round_trip():
    res = _run(_fake_macro(lambda t: 1.0), _fake_micro(lambda t: 1), 0.5,
               force_micro=(0.1, 0.2))
    assert [(e.direction, e.reason) for e in res.events] == [
        ("macro->micro", "forced"), ("micro->macro", "forced")]
    assert res.events[0].time == pytest.approx(0.1)
    assert res.events[1].time == pytest.approx(0.2)
    assert res.micro[(res.time > 0.1 + 1e-9) & (res.time < 0.2 - 1e-9)].all()
    assert not res.micro[res.time > 0.2 + 1e-9].any()
    # Densities are recorded through the micro phase (reconstructed), on the macro grid.
    assert res.density.shape == (res.density_time.size, GRID.size)
    assert res.density_micro.sum() >= 9
    np.testing.assert_allclose(H * res.density.sum(axis=1), 1.0, rtol=1e-10)


def test_default_macro_step_is_the_positivity_bound_scaled_from_the_spec():
    assert default_macro_step(NLIFParams(), 0.01) == pytest.approx(1e-4)  # spec §3.2
    assert default_macro_step(NLIFParams(), 0.025) == pytest.approx(6.25e-4)
    assert default_macro_step(NLIFParams(a=2.0), 0.01) == pytest.approx(5e-5)  # dt a <= h^2
    assert default_macro_step(NLIFParams(a=0.5), 0.01) == pytest.approx(1e-4)
    ds = simulate_multiscale(NLIFParams(), 200, 0.01, p0=gaussian_density(0.0, 0.25), seed=0,
                             h=0.05)
    assert ds.attrs["dt_macro"] == pytest.approx(2.5e-3)


def test_micro_step_resolves_the_input():
    # T8: a pulse of 100 for 0.01 needs dt <= 2e-4 (|I| dt <= sqrt(2 a dt)); at 1e-3 the number
    # of MFEs during the pulse is wrong by ~50 %.
    assert max_micro_step(NLIFParams(b=1.5, current=Pulse(amplitude=100, start=1, stop=1.01))) \
        == pytest.approx(2e-4)
    assert max_micro_step(NLIFParams(b=1.5, current=Pulse(amplitude=40, start=1, stop=1.02))) \
        == pytest.approx(1e-3)
    # A pulse must span 20 steps even when it is weak.
    assert max_micro_step(NLIFParams(b=1.5, current=Pulse(amplitude=1, start=1, stop=1.002))) \
        == pytest.approx(1e-4)
    assert max_micro_step(NLIFParams(b=1.5, current=Periodic(amplitude=6, period=1))) == 1e-3
    assert max_micro_step(NLIFParams(b=1.5)) == 1e-3


# --- the public solver on the nlif Fokker–Planck and particle steppers -------------------------

T7_PARAMS = NLIFParams(b=1.5)


def _t7_p0():
    return gaussian_density(1.5, 0.005)


@pytest.mark.parametrize(("kw", "field"), [
    (dict(n_up=5.0, n_down=2.0), "n_up"),              # hysteresis: n_up < 5 n_down chatters
    (dict(n_up=2.0, n_down=2.0), "n_up"),
    (dict(n_up=2000.0), "n_up"),                        # above a tenth of the cap a/h^2 = 1e4
    (dict(h=0.04, n_up=100.0, n_down=2.0), "n_up"),     # cap 625 at h = 0.04
    (dict(dt_macro=1e-3), "dt_macro"),                  # dt a > h^2: positivity lost
    (dict(dt_micro=0.0), "dt_micro"),
    (dict(window=1e-4), "window"),
    (dict(f_sync=1.5), "f_sync"),
    (dict(t_back=-0.1), "t_back"),
    (dict(bw=0.0), "bw"),
    (dict(force_micro=(0.5, 0.2)), "force_micro"),
    (dict(h=0.03), "h"),                                # v_r, v_f not on the grid
])
def test_invalid_settings_name_the_field(kw, field):
    with pytest.raises(ParameterError) as err:
        simulate_multiscale(T7_PARAMS, 100, 0.01, p0=_t7_p0(), seed=0, **kw)
    assert err.value.field == field


def test_invalid_arguments_name_the_field():
    for kw, field in [(dict(n=0), "n"), (dict(t_max=-1.0), "t_max"), (dict(seed=-1), "seed")]:
        args = dict(n=100, t_max=0.01, seed=0) | kw
        with pytest.raises(ParameterError) as err:
            simulate_multiscale(T7_PARAMS, args["n"], args["t_max"], p0=_t7_p0(),
                                seed=args["seed"])
        assert err.value.field == field


def test_pulse_input_forces_a_micro_step_that_resolves_it():
    params = NLIFParams(b=1.5, current=Pulse(amplitude=100, start=0.01, stop=0.02))
    with pytest.raises(ParameterError) as err:
        simulate_multiscale(params, 100, 0.01, p0=gaussian_density(0, 0.25), seed=0,
                            dt_micro=1e-3)
    assert err.value.field == "dt_micro"
    ds = simulate_multiscale(params, 100, 0.01, p0=gaussian_density(0, 0.25), seed=0)
    assert ds.attrs["dt_micro"] == pytest.approx(2e-4)


@pytest.mark.numba
def test_same_seed_same_result_and_dataset_layout():
    kw = dict(p0=_t7_p0(), seed=5)
    a = simulate_multiscale(T7_PARAMS, 2000, 0.3, **kw)
    b = simulate_multiscale(T7_PARAMS, 2000, 0.3, **kw)
    for name in ("rate", "cumulative_spikes", "density", "switch_time"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    np.testing.assert_array_equal(a["mode"].values, b["mode"].values)
    c = simulate_multiscale(T7_PARAMS, 2000, 0.3, p0=_t7_p0(), seed=6)
    assert not np.array_equal(a.cumulative_spikes.values, c.cumulative_spikes.values)
    # Layout: one continuous history on `time`, densities on the macro grid throughout.
    assert set(np.unique(a["mode"].values)) == {"macro", "micro"}
    assert np.all(np.diff(a.time.values) > 0) and a.time.values[-1] >= 0.3 - 1e-9
    assert np.all(np.isfinite(a.rate.values)) and np.all(np.diff(a.cumulative_spikes) >= 0)
    assert a.density.dims == ("density_time", "v") and a.v.size == 240  # default h = 0.025
    assert a.density_time.values[-1] >= 0.29
    assert "micro" in a.density_mode.values
    np.testing.assert_allclose(0.025 * a.density.sum("v"), 1.0, rtol=1e-9)  # mass h sum p
    for phase in ("macro", "micro", "switch", "compile"):
        assert a.attrs[f"wall_time_{phase}"] >= 0.0
    assert a.attrs["n_switches"] == a.switch.size == 2
    assert list(a.switch_direction.values) == ["macro->micro", "micro->macro"]


@pytest.mark.numba
def test_saved_result_round_trips(tmp_path):
    ds = simulate_multiscale(T7_PARAMS, 500, 0.2, p0=_t7_p0(), seed=1)
    save(ds, tmp_path / "ms.nc")
    back = load(tmp_path / "ms.nc")
    np.testing.assert_array_equal(back["mode"].values, ds["mode"].values)
    np.testing.assert_array_equal(back.switch_reason.values, ds.switch_reason.values)
    np.testing.assert_allclose(back.cumulative_spikes, ds.cumulative_spikes)


@pytest.mark.numba
def test_cli_run_of_the_example_config(tmp_path):
    out = tmp_path / "ms.nc"
    code = main(["run", str(CONFIG), "-o", str(out), "--set", "run.n=2000",
                 "--set", "run.t_max=0.3"])
    assert code == 0
    ds = load(out)
    assert ds.attrs["model"] == "multiscale" and ds.attrs["n"] == 2000
    assert "micro" in ds["mode"].values
    assert out.with_suffix(".png").exists()


def _spikes_at(ds, times):
    return np.array([float(np.interp(t, ds.time, ds.cumulative_spikes)) for t in times])


def _no_chattering(ds):
    # Consecutive switches are at least one window apart, and directions alternate.
    t = ds.switch_time.values
    assert np.all(np.diff(t) >= ds.attrs["window"] - 1e-9)
    d = ds.switch_direction.values
    assert all(a != b for a, b in zip(d[:-1], d[1:], strict=True))


@pytest.mark.slow
@pytest.mark.validation
@pytest.mark.numba
def test_t6_round_trip():
    """Spec T6: b = 0.5 from N(0, 0.25); forced micro on [1, 1.2] (dt 1e-4, bridge), n = 1e5.

    Pure macro N(1.5) = 0.13765 (spec). The round trip costs 0.14 % on average over 4 seeds in
    the spec (max 0.28 %); tolerance 1 % per seed. Measured here: 0.02-0.5 %.
    """
    params = NLIFParams(b=0.5)
    p0 = gaussian_density(0.0, 0.25)
    fp = solve_fokker_planck(params, p0, 1.5)
    n_ref = float(fp.rate.sel(time=1.5, method="nearest"))
    assert n_ref == pytest.approx(0.13765, rel=1e-3)
    errors = []
    for seed in range(4):
        ds = simulate_multiscale(params, 100_000, 1.5, p0=p0, seed=seed, dt_micro=1e-4,
                                 force_micro=(1.0, 1.2), h=0.01)  # the reference's grid
        assert list(ds.switch_reason.values) == ["forced", "forced"]
        np.testing.assert_allclose(ds.switch_time.values, [1.0, 1.2], atol=1e-9)
        errors.append(abs(float(ds.rate.sel(time=1.5, method="nearest")) - n_ref) / n_ref)
    assert max(errors) <= 0.01
    assert np.mean(errors) <= 0.005


@pytest.mark.slow
@pytest.mark.validation
@pytest.mark.numba
def test_t7_blowup_and_recovery():
    """Spec T7: b = 1.5 from N(1.5, 0.005), n = 1e5, T = 3, §3.2 defaults.

    Switches: macro -> micro at 0.015 (rollback from ~0.035), back at 0.143. Cumulative spikes
    per neuron within 1 % of pure particles (dt 1e-3, bridge) at t = 0.2, 1, 3. Single runs
    scatter by sd ~0.011 spikes/neuron (~0.9 % at t = 0.2; measured over 12 multi-scale and 8
    particle seeds, whose means differ by 0.08 %) because the size of the first MFE's aftermath
    varies. The means of 6 multi-scale and 4 particle seeds are compared; the band is the 1 %
    target plus two standard errors of the difference of the means, estimated from the runs
    (~0.55 %), and the multi-scale mean is also held to the spec's particle values within 1 %
    plus two standard errors of its own mean.
    """
    times = (0.2, 1.0, 3.0)
    ms = []
    for seed in range(6):
        ds = simulate_multiscale(T7_PARAMS, 100_000, 3.0, p0=_t7_p0(), seed=seed, h=0.01)
        up, down = ds.switch_time.values
        assert list(ds.switch_direction.values) == ["macro->micro", "micro->macro"]
        assert 0.010 <= up <= 0.020 and 0.030 <= float(ds.switch_detected_at[0]) <= 0.040
        assert 0.120 <= down <= 0.170
        _no_chattering(ds)
        assert ds.attrs["max_fired_fraction"] > 0.9  # the MFE happened in the particles
        ms.append(_spikes_at(ds, times))
    ref = [_spikes_at(simulate_particles(T7_PARAMS, 100_000, 3.0, p0=_t7_p0(), dt=1e-3,
                                         seed=seed), times) for seed in range(4)]
    _within_one_percent(ms, ref)
    _within_one_percent(ms, None)
    # The default (fast) macro grid h = 0.025 (dt_macro = h^2 = 6.25e-4 by default; its own
    # error is ~0.15 % in these counts) keeps the switch times and the 1 % agreement.
    coarse = []
    for seed in range(4):
        ds = simulate_multiscale(T7_PARAMS, 100_000, 3.0, p0=_t7_p0(), seed=seed)
        assert ds.attrs["dt_macro"] == pytest.approx(6.25e-4)
        up, down = ds.switch_time.values
        assert 0.010 <= up <= 0.020 and 0.120 <= down <= 0.170
        coarse.append(_spikes_at(ds, times))
    _within_one_percent(coarse, ref)
    _within_one_percent(coarse, None)


T7_SPEC_SPIKES = np.array([1.228, 1.6975, 2.2906])  # pure particles at t = 0.2, 1, 3 (spec T7)


def _within_one_percent(runs, ref):
    """Mean of ``runs`` within 1 % of the mean of ``ref`` (or of the spec values if None),
    plus two standard errors of the difference estimated from the runs themselves."""
    runs = np.asarray(runs)
    var = runs.var(axis=0, ddof=1) / len(runs)
    if ref is None:
        target = T7_SPEC_SPIKES
    else:
        ref = np.asarray(ref)
        target = ref.mean(axis=0)
        var = var + ref.var(axis=0, ddof=1) / len(ref)
    band = 0.01 * target + 2.0 * np.sqrt(var)
    assert np.all(np.abs(runs.mean(axis=0) - target) <= band), (runs.mean(axis=0), target, band)



@pytest.mark.validation
@pytest.mark.numba
def test_periodic_input_switches_once_per_period():
    """Periodic drive A = 6, P = 1 (spec §7 guess 9), b = 1.5: an MFE in every period.

    The solver goes micro once per period and returns between bursts; spikes per neuron agree
    with pure particles (n = 1e4, 1 seed each: MFE-driven scatter ~1 %) within 3 %.
    """
    params = NLIFParams(b=1.5, current=Periodic(amplitude=6.0, period=1.0))
    p0 = gaussian_density(0.0, 0.25)
    ds = simulate_multiscale(params, 10_000, 2.0, p0=p0, seed=0)
    _no_chattering(ds)
    up = ds.switch_time.values[ds.switch_direction.values == "macro->micro"]
    assert up.size == 2 and 0.8 <= up[1] - up[0] <= 1.2
    assert ds.attrs["max_fired_fraction"] > 0.5
    assert ds.attrs["time_in_micro"] < 0.5 * 2.0
    ref = simulate_particles(params, 10_000, 2.0, p0=p0, dt=1e-3, seed=0)
    np.testing.assert_allclose(_spikes_at(ds, (1.0, 2.0)), _spikes_at(ref, (1.0, 2.0)),
                               rtol=0.03)


# Pure particles for T8 (n = 1e5, dt = 2e-4, bridge, i.i.d. Gaussian start), seeds 0-7 with this
# library (vectorized Box–Muller kernel, 50c7f8c): cumulative spikes per neuron at t = 1.1 and
# 2.0, as (mean, standard error). One run scatters by sd ~0.04 (the number of neurons caught in
# the pulse's MFEs varies), so an in-test reference would need ~10 runs of ~2 s each; the
# ensemble is recorded here instead. (The earlier ziggurat kernel gave 1.8468 +- 0.0176 and
# 2.4068 +- 0.0141: the same law.)
T8_PARTICLES = {1.1: (1.8376, 0.0134), 2.0: (2.3990, 0.0107)}


@pytest.mark.slow
@pytest.mark.validation
@pytest.mark.numba
def test_t8_pulse():
    """Spec T8: b = 1.5 from N(0, 0.25), I = 100 on [1, 1.01), n = 1e5, macro step 2e-5.

    The micro step is chosen automatically (2e-4, what the pulse needs). The solver must leave
    the Fokker–Planck equation before the pulse (rollback) and capture its MFE in the particles.
    Spikes per neuron at t = 1.1 and 2: mean of 4 seeds (sd of one run ~0.013) within 2 % of
    the pure-particle ensemble and of the spec's multi-scale values (1.873, 2.432).
    """
    params = NLIFParams(b=1.5, current=Pulse(amplitude=100, start=1.0, stop=1.01))
    p0 = gaussian_density(0.0, 0.25)
    runs = []
    for seed in range(4):
        ds = simulate_multiscale(params, 100_000, 2.0, p0=p0, seed=seed, dt_macro=2e-5)
        assert ds.attrs["dt_micro"] == pytest.approx(2e-4)
        up, down = ds.switch_time.values[:2]
        assert ds.switch_direction.values[0] == "macro->micro"
        assert 0.97 <= up < 1.0 <= float(ds.switch_detected_at[0]) < 1.02
        assert 1.01 + ds.attrs["window"] - 1e-9 <= down <= 1.3
        assert ds.attrs["max_fired_fraction"] > 0.9
        _no_chattering(ds)
        runs.append(_spikes_at(ds, (1.1, 2.0)))
    ms_mean = np.mean(runs, axis=0)
    for value, (t, (mean, _)) in zip(ms_mean, T8_PARTICLES.items(), strict=True):
        assert value == pytest.approx(mean, rel=0.02), t
    np.testing.assert_allclose(ms_mean, [1.873, 2.432], rtol=0.02)


def test_call_granularity_does_not_change_the_run(monkeypatch):
    # Long macro calls (ring-buffer snapshots taken by the kernel) and multi-step micro calls
    # while a burst leaves the window give bitwise the run of chunk-by-chunk, step-by-step calls.
    import spikereduce.nlif.switching as sw

    params = NLIFParams(b=1.5)
    kw = dict(p0=gaussian_density(1.5, 0.005), seed=4)
    fast = simulate_multiscale(params, 3000, 0.6, **kw)
    monkeypatch.setattr(sw, "MACRO_CALL_CHUNKS", 1)
    monkeypatch.setattr(sw.BurstWindow, "steps_before_pass", lambda self: 1)
    slow = simulate_multiscale(params, 3000, 0.6, **kw)
    assert fast.sizes["switch"] >= 2
    for name in ("rate", "cumulative_spikes", "density", "switch_time"):
        np.testing.assert_array_equal(fast[name].values, slow[name].values)
    np.testing.assert_array_equal(fast.time.values, slow.time.values)
