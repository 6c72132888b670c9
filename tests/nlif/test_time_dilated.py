"""The time-dilated mean-field solver: the dilated clock, the jump functional, the moving
Gaussian, a single total MFE and periodic MFEs against the reference values measured with
fine-step particles, the reset guard and the mesh independence of the switch."""

import math

import numpy as np
import pytest

from spikereduce import nlif
from spikereduce.errors import ParameterError
from spikereduce.nlif import _kernels as K
from spikereduce.nlif.time_dilated import _jump, jump_size

V_F, V_R = 2.0, 1.0


def _spikes_before_first_mfe(ds):
    after = ds["cumulative_spikes"].values[ds["mode"].values == "mfe"][0]
    return after - float(ds["mfe_fired"].values[0])


def test_td1_dilated_clock_without_blow_up():
    """b = 0.5 from N(0, 0.25) to t = 12: tau = t + M, a finite non-negative rate, conserved
    mass, the steady rate of the Fokker–Planck equation and no MFE."""
    ds = nlif.solve_time_dilated(nlif.NLIFParams(b=0.5), nlif.gaussian_density(0, 0.25), 12.0,
                                 h=0.01)
    t, tau, M = (ds[k].values for k in ("time", "tau", "cumulative_spikes"))
    assert np.abs(tau - t - M).max() < 1e-12
    N = ds["rate"].values
    assert np.all(np.isfinite(N)) and N.min() >= 0.0
    assert np.all(N / (1 + N) < 1)
    assert ds.attrs["mass_error"] < 1e-12
    assert N[-1] == pytest.approx(0.134808, abs=5e-5)
    assert ds.sizes["mfe"] == 0 and set(ds["mode"].values) == {"classical"}
    assert np.all(np.diff(t) > 0)


def _grid(h):
    n = round((V_F + 4.0) / h)
    return -4.0 + h * np.arange(n)


def test_td2a_uniform_density_total_jump_or_no_switch():
    h, L = 1e-3, 0.5
    v = _grid(h)
    p = np.where(v >= V_F - L, 1.0 / L, 0.0)
    p /= p.sum() * h
    none = np.zeros((0, 3))
    # b >= L: every lambda is covered, the MFE is total (the scan's end, here 1)
    assert jump_size(p, none, v_min=-4, h=h, a=1, b=1.5 * L, window=0.01) == pytest.approx(
        1.0, abs=1e-4)
    # b < L: the flux criterion fails
    w, b = 0.01, 0.5 * L
    assert K.grid_mass_above(p, V_F - w, -4.0, h) < w / b


def test_td2b_jump_is_the_mass_near_threshold_and_does_not_retrigger():
    """Mass m1 = 0.3 uniform on [V_F - 0.2, V_F], the rest far below: with b = 1 the jump is
    Lambda = m1, and after it the flux criterion fails for every window in [4h, 0.1]."""
    h, m1, ell, b = 1e-4, 0.3, 0.2, 1.0
    v = _grid(h)
    p = np.where(v >= V_F - ell, m1 / ell, 0.0) + np.where(v < 1.5, (1 - m1) / 5.5, 0.0)
    p /= p.sum() * h
    packets = np.zeros((4, 3))
    size = jump_size(p, packets[:0], v_min=-4, h=h, a=1, b=b, window=0.01)
    assert size == pytest.approx(m1, abs=1e-4)
    fired, lam, q, n_pk = _jump(p, packets, 0, v_min=-4, h=h, a=1, b=b, window=0.01,
                                v_r=V_R, moving_gaussian=True, k_r=round(5 / h))
    assert lam == pytest.approx(m1, abs=1e-4) and fired == pytest.approx(m1, abs=2e-4)
    assert n_pk == 1 and packets[0, 0] == fired and packets[0, 1] == V_R
    assert q.sum() * h + fired == pytest.approx(1.0, abs=1e-12)
    for w in np.linspace(4 * h, 0.1, 50):
        nu = K.grid_mass_above(q, V_F - w, -4.0, h) + K.packet_mass_above(
            packets, n_pk, V_F - w, V_F, 1.0)
        assert nu < w / b, w


def test_td3_moving_gaussian_and_its_projection():
    """A packet projected onto the grid keeps its mass, mean and variance (to O(h^2)); in the
    solver with no input, b = 0 and a distant threshold the mean follows V_R e^{-t}."""
    h = 0.01
    v = _grid(h)
    p = np.zeros(v.size)
    K.project_packet(p, 0.7, 1.234, 0.05, -4.0, h)
    mass = p.sum() * h
    mean = (v * p).sum() * h / mass
    var = ((v - mean) ** 2 * p).sum() * h / mass
    assert mass == pytest.approx(0.7, abs=1e-12)
    assert mean == pytest.approx(1.234, abs=h * h)
    assert var == pytest.approx(0.05**2 + h * h / 12, abs=h * h)
    params = nlif.NLIFParams(b=0.0, v_f=5.0)  # threshold far away: N = 0, no mass leaves
    t_end = 0.05
    ds = nlif.solve_time_dilated(params, nlif.point_mass(V_R), t_end, h=0.005, kappa=8.0)
    q, vv = ds["density"].values, ds["v"].values
    q_mean = (vv * q).sum() / q.sum()
    q_var = ((vv - q_mean) ** 2 * q).sum() / q.sum()
    assert q_mean == pytest.approx(V_R * math.exp(-t_end), abs=1e-4)
    assert q_var == pytest.approx(-math.expm1(-2 * t_end) + 0.005**2 / 12, rel=0.02)


def test_td4_single_total_mfe_then_relaxation():
    ds = nlif.solve_time_dilated(nlif.NLIFParams(b=1.5), nlif.gaussian_density(1.5, 0.005),
                                 1.0, h=0.0025, window=0.01)
    assert ds.sizes["mfe"] == 1
    assert 0.0400 <= float(ds["mfe_time"][0]) <= 0.0405
    assert float(ds["mfe_size"][0]) > 0.9999
    t, M = ds["time"].values, ds["cumulative_spikes"].values
    assert np.interp(0.5, t, M) == pytest.approx(1.4613, abs=0.005)
    assert M[-1] == pytest.approx(1.7238, abs=0.006)
    assert np.all(np.isfinite(ds["rate"].values))


def test_td5_periodic_mfes_from_a_point_mass():
    ds = nlif.solve_time_dilated(nlif.NLIFParams(b=3.0), nlif.point_mass(V_R), 0.5, h=0.005,
                                 window=0.02)
    times = ds["mfe_time"].values
    assert times.size == 2
    period = times[0]
    assert period == pytest.approx(0.2303, abs=0.0010)
    assert times[1] == pytest.approx(2 * period, abs=0.0010)
    assert np.all(ds["mfe_size"].values > 0.9999)
    assert _spikes_before_first_mfe(ds) == pytest.approx(0.2614, abs=0.005)
    assert np.all(np.isfinite(ds["rate"].values))


def test_td9_integral_reset_is_refused():
    with pytest.raises(ParameterError) as err:
        nlif.solve_time_dilated(nlif.NLIFParams(b=3.0), nlif.point_mass(V_R), 0.1,
                                reset="integral")
    assert err.value.field == "reset"


@pytest.mark.slow
def test_td10_the_switch_does_not_depend_on_the_grid():
    """At a fixed window w = 0.05 the period and the spikes between events change by less
    than 0.001 and 0.002 from h = 0.0125 to h = 0.005 (a rate threshold on the grid would
    not)."""
    P, S = [], []
    for h in (0.0125, 0.01, 0.005):  # the coarsest grid with 4h <= w
        ds = nlif.solve_time_dilated(nlif.NLIFParams(b=3.0), nlif.point_mass(V_R), 0.3, h=h,
                                     window=0.05)
        P.append(float(ds["mfe_time"][0]))
        S.append(_spikes_before_first_mfe(ds))
    assert max(P) - min(P) < 0.001, P
    assert max(S) - min(S) < 0.002, S


@pytest.mark.parametrize("kwargs,field", [
    ({"window": 0.01, "h": 0.005}, "window"),  # < 4h
    ({"window": -1.0}, "window"),
    ({"dt_max": 1e-3, "h": 0.01}, "dt_max"),  # > h^2 / a
    ({"dtau": 0.0}, "dtau"),
    ({"kappa": 0.0}, "kappa"),
    ({"moving_gaussian": "yes"}, "moving_gaussian"),
])
def test_invalid_settings_name_the_field(kwargs, field):
    with pytest.raises(ParameterError) as err:
        nlif.solve_time_dilated(nlif.NLIFParams(b=3.0), nlif.point_mass(V_R), 0.1, **kwargs)
    assert err.value.field == field


def test_pulse_and_periodic_inputs_drive_the_solver():
    base = nlif.NLIFParams(b=0.5)
    p0 = nlif.gaussian_density(0, 0.25)
    quiet = nlif.solve_time_dilated(base, p0, 1.0, h=0.01)
    pulse = nlif.solve_time_dilated(base.replace(current=nlif.Pulse(5.0, 0.2, 0.4)), p0, 1.0,
                                    h=0.01)
    wave = nlif.solve_time_dilated(base.replace(current=nlif.Periodic(2.0, 0.5)), p0, 1.0,
                                   h=0.01)
    fp = nlif.solve_fokker_planck(base.replace(current=nlif.Pulse(5.0, 0.2, 0.4)), p0, 1.0,
                                  h=0.01, dt=1e-4)
    M_end = [float(d["cumulative_spikes"][-1]) for d in (quiet, pulse, wave)]
    assert M_end[1] > M_end[0] and M_end[2] != M_end[0]
    # without blow-up the solver is the Fokker–Planck scheme on another clock
    assert M_end[1] == pytest.approx(float(fp["cumulative_spikes"][-1]), rel=2e-3)


def test_point_mass_is_initial_data_for_every_solver():
    params = nlif.NLIFParams(b=0.5)
    pm = nlif.point_mass(V_R)
    parts = nlif.simulate_particles(params, 1000, 0.01, p0=pm, seed=0)
    assert float(parts["cumulative_spikes"][-1]) == 0.0  # all start one unit below threshold
    from spikereduce.nlif.initial import initial_voltages

    assert np.all(initial_voltages(pm, 10, np.random.default_rng(0), V_F) == V_R)
    fp = nlif.solve_fokker_planck(params, pm, 0.01, h=0.01)
    assert fp["density"].values[0].max() == pytest.approx(100.0)
    ms = nlif.simulate_multiscale(params, 1000, 0.01, p0=pm, seed=0)
    assert np.isfinite(ms["rate"].values).all()
    with pytest.raises(ParameterError) as err:
        nlif.solve_fokker_planck(params, nlif.point_mass(V_F), 0.01)
    assert err.value.field == "p0"


def test_cli_runs_and_compares_the_four_solvers(tmp_path):
    from pathlib import Path

    from spikereduce.cli import main
    from spikereduce.io import load

    cfg = Path(__file__).resolve().parents[2] / "examples" / "configs" / "nlif_time_dilated.toml"
    out = tmp_path / "td.nc"
    assert main(["run", str(cfg), "-o", str(out), "--set", "run.t_max=0.3"]) == 0
    ds = load(out)
    assert ds.sizes["mfe"] == 1 and ds.attrs["model"] == "time_dilated"
    assert (tmp_path / "td.png").exists()
    folder = tmp_path / "cmp"
    assert main(["compare", str(cfg), "-o", str(folder), "--set", "run.t_max=0.3",
                 "--set", "run.n=2000"]) == 0
    names = sorted(p.name for p in folder.iterdir())
    for solver in ("particles", "fokker_planck", "multiscale", "time_dilated"):
        assert f"nlif_{solver}.nc" in names
    table = (folder / "nlif_compare.md").read_text()
    assert "time-dilated: first MFE time" in table and "Fokker–Planck: first MFE time" in table


def test_implicit_flux_keeps_the_density_non_negative_beyond_the_explicit_bound():
    """With the firing flux inside the implicit solve the step may exceed h^2/a (40 times here)
    with a non-negative density and conserved mass; at dt_max = 1e-4, dtau = 3e-4 the periodic
    MFEs keep P and S within 1 % of the reference (0.2303, 0.264) at a quarter of the steps."""
    params = nlif.NLIFParams(b=3.0)
    big = nlif.solve_time_dilated(params, nlif.point_mass(V_R), 0.3, h=0.005, window=0.02,
                                  flux="implicit", dt_max=1e-3, dtau=1e-3)
    assert big["density"].values.min() >= 0.0 and big.attrs["mass_error"] < 1e-12
    assert np.all(np.isfinite(big["rate"].values)) and big.sizes["mfe"] == 1
    fast = nlif.solve_time_dilated(params, nlif.point_mass(V_R), 0.5, h=0.005, window=0.02,
                                   flux="implicit", dt_max=1e-4, dtau=3e-4)
    assert float(fast["mfe_time"][0]) == pytest.approx(0.2303, rel=0.01)
    assert _spikes_before_first_mfe(fast) == pytest.approx(0.264, rel=0.01)
    with pytest.raises(ParameterError) as err:
        nlif.solve_time_dilated(params, nlif.point_mass(V_R), 0.1, dt_max=1e-4, h=0.005)
    assert err.value.field == "dt_max"
