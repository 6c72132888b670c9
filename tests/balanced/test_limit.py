"""The limit ODEs (spec balanced.md T2, T3, §2.7, T10 for the limit) and fixed points (§2.8)."""

import numpy as np
import pytest

from spikereduce.balanced import (
    BalancedParams,
    balanced_initial,
    fixed_points,
    reference_set,
    solve_limit,
)
from spikereduce.balanced.limit import LimitModel
from spikereduce.balanced.params import REFERENCE_START
from spikereduce.errors import NumericalError, ParameterError

# Spec T3 tables: t -> (m_E, m_I, v_E, v_I, r, c, D)
T3 = {
    "A": {0.0: (0, -0.338132, 0.5, 0.1, 0.283814, -0.624666, -0.29607),
          0.5: (-0.013388, -0.415210, 0.356759, 0.209607, 0.270118, -0.472722, -0.20390),
          1.0: (0.018889, -0.421563, 0.303465, 0.249331, 0.275394, -0.406411, -0.18007),
          2.0: (0.079581, -0.398513, 0.289254, 0.281928, 0.292393, -0.378380, -0.16851),
          4.0: (0.117715, -0.379321, 0.303146, 0.303012, 0.304997, -0.376141, -0.16418),
          40.0: (0.123852, -0.376148, 0.307155, 0.307155, 0.307155, -0.376148, -0.16341)},
    "B": {0.0: (0, -0.338132, 0.5, 0.1, 0.283814, -0.842694, -0.29607),
          0.5: (-0.038830, -0.455847, 0.177036, 0.198062, 0.247934, -0.499415, -0.18103),
          1.0: (-0.000868, -0.457152, 0.133108, 0.232081, 0.255135, -0.449250, -0.16087),
          2.0: (0.019341, -0.455475, 0.130231, 0.256100, 0.261007, -0.456339, -0.15114),
          4.0: (0.021830, -0.456164, 0.130906, 0.261672, 0.261830, -0.456211, -0.14898),
          40.0: (0.021904, -0.456191, 0.130927, 0.261855, 0.261855, -0.456191, -0.14891)},
    "C": {0.0: (0, -0.337672, 0.5, 0.1, 0.289766, -0.876736, -0.28649),
          1.0: (-0.006416, -0.466186, 0.135025, 0.235608, 0.258890, -0.457258, -0.15631),
          4.0: (0.017619, -0.464588, 0.132823, 0.265506, 0.265664, -0.464634, -0.14504),
          40.0: (0.017693, -0.464615, 0.132844, 0.265688, 0.265688, -0.464615, -0.14497)},
}


@pytest.mark.parametrize("name,m_I0", [("A", -0.338132), ("B", -0.338132), ("C", -0.337672)])
def test_t2_balanced_initial(name, m_I0):
    y0 = balanced_initial(reference_set(name), *REFERENCE_START)
    assert y0[0] == 0.0 and y0[2:] == (0.5, 0.1)
    assert y0[1] == pytest.approx(m_I0, abs=1e-6)
    assert abs(LimitModel(reference_set(name)).G(*y0)) < 1e-14


@pytest.mark.validation
@pytest.mark.parametrize("method", ["multiplier", "projection"])
@pytest.mark.parametrize("name", ["A", "B", "C"])
def test_t3_reference_trajectories(name, method):
    params = reference_set(name)
    y0 = balanced_initial(params, *REFERENCE_START)
    times = sorted(T3[name])
    ds = solve_limit(params, y0, 40.0, t_eval=times, method=method)
    ref = np.array([T3[name][t] for t in times])
    for j, key in enumerate(("m_E", "m_I", "v_E", "v_I")):
        np.testing.assert_allclose(ds[key].values, ref[:, j], atol=1e-5, err_msg=key)
    # r (= r_E = r_I under balance with w = 1), c and D to the table's 6 digits.
    np.testing.assert_allclose(ds["r_E"].values, ref[:, 4], atol=1e-5)
    np.testing.assert_allclose(ds["r_I"].values, ref[:, 4], atol=1e-5)
    np.testing.assert_allclose(ds["c"].values, ref[:, 5], atol=1e-5)
    np.testing.assert_allclose(ds["D"].values, ref[:, 6], atol=1e-5)
    assert np.all(np.abs(ds["G"].values) < 1e-8)
    assert np.all(ds["D"].values < 0)


@pytest.mark.parametrize("name", ["B", "C"])
def test_multiplier_and_projection_forms_agree(name):
    params = reference_set(name)
    y0 = balanced_initial(params, *REFERENCE_START)
    a = solve_limit(params, y0, 6.0, method="multiplier")
    b = solve_limit(params, y0, 6.0, method="projection")
    for key in ("m_E", "m_I", "v_E", "v_I", "c", "D"):
        np.testing.assert_allclose(a[key].values, b[key].values, atol=1e-8, err_msg=key)
    assert a.attrs["method"] == "multiplier" and b.attrs["method"] == "projection"


def test_dense_grid_keeps_balance_and_stationary_limit():
    params = reference_set("B")
    ds = solve_limit(params, balanced_initial(params, *REFERENCE_START), 10.0, n_points=1001)
    assert ds.sizes["time"] == 1001 and ds["time"].attrs["units"]
    assert float(np.max(np.abs(ds["G"]))) < 1e-8
    # Stationary variance v* = s*/(2 gamma) approached (spec §2.8).
    np.testing.assert_allclose(ds["v_E"][-1], ds["s"][-1] / (2 * params.gamma_E), atol=1e-6)


def test_unbalanced_start_is_projected_with_recorded_shift():
    params = reference_set("B")
    y0 = balanced_initial(params, *REFERENCE_START)
    shifted = (y0[0] + 0.3, y0[1] + 0.3, y0[2], y0[3])
    ds = solve_limit(params, shifted, 2.0, t_eval=[0.0, 1.0, 2.0])
    assert ds.attrs["projection_shift"] == pytest.approx(-0.3, abs=1e-9)
    ref = solve_limit(params, y0, 2.0, t_eval=[0.0, 1.0, 2.0])
    for key in ("m_E", "m_I", "v_E", "v_I"):
        np.testing.assert_allclose(ds[key].values, ref[key].values, atol=1e-8)
    with pytest.raises(ParameterError) as exc:
        solve_limit(params, shifted, 2.0, project=False)
    assert exc.value.field == "y0"
    # A balanced start passes with project=False, also when given to 6 digits.
    solve_limit(params, (0.0, -0.338132, 0.5, 0.1), 0.5, project=False)


def test_projection_without_balanced_state_is_a_numerical_error():
    # nu so large that w_E r_E + nu > w_I lam_I for every state: balance is impossible.
    params = reference_set("B").replace(nu=2.0)
    with pytest.raises(NumericalError, match="no balanced state"):
        solve_limit(params, (0.0, 0.0, 0.5, 0.1), 1.0)
    with pytest.raises(ParameterError) as exc:
        balanced_initial(params, 0.0, 0.5, 0.1)
    assert exc.value.field == "m_E0"


def test_t10_loss_of_balance_in_the_limit():
    # Set B with the gains swapped: balanced m_I0 = -0.84774 and D(0) = +0.0579 (spec T10).
    params = reference_set("B").replace(beta_E=2.0, beta_I=1.0)
    y0 = balanced_initial(params, *REFERENCE_START)
    assert y0[1] == pytest.approx(-0.84774, abs=1e-5)
    assert float(LimitModel(params).parts(np.array(y0))["D"]) == pytest.approx(0.0579, abs=1e-4)
    with pytest.raises(NumericalError, match="loss of balance") as exc:
        solve_limit(params, y0, 1.0)
    assert exc.value.time == 0.0
    with pytest.raises(NumericalError):
        solve_limit(params, y0, 1.0, method="projection")
    ds = solve_limit(params, y0, 1.0, on_loss_of_balance="stop")
    assert ds.attrs["balance_lost_time"] == 0.0 and float(ds["D"][0]) > 0


def test_d_crossing_zero_during_the_run_is_detected():
    # Swapped gains from a wide E start (v_E = 2): D(0) = -0.103 < 0, but the variance relaxes
    # and D reaches 0 at t = 0.2025. The run must stop with a NumericalError there, never
    # return a silent trajectory; both forms of the limit find the same time.
    params = reference_set("B").replace(beta_E=2.0, beta_I=1.0)
    y0 = balanced_initial(params, 0.0, 2.0, 0.1)
    assert float(LimitModel(params).parts(np.array(y0))["D"]) == pytest.approx(-0.1026, abs=1e-4)
    with pytest.raises(NumericalError, match="loss of balance") as exc:
        solve_limit(params, y0, 20.0)
    assert exc.value.time == pytest.approx(0.2025, abs=1e-3)
    lost = []
    for method in ("multiplier", "projection"):
        ds = solve_limit(params, y0, 20.0, on_loss_of_balance="stop", method=method)
        lost.append(ds.attrs["balance_lost_time"])
        assert float(ds["time"][-1]) == lost[-1]
        assert -1e-3 < float(ds["D"][-1]) < 0
    assert lost[0] == pytest.approx(lost[1], abs=1e-7)


@pytest.mark.parametrize("kwargs,field", [
    ({"t_max": 0.0}, "t_max"), ({"method": "euler"}, "method"),
    ({"t_eval": [0.5, 0.2]}, "t_eval"), ({"project": 1}, "project"),
    ({"y0": (0.0, 0.0, -0.1, 0.1)}, "y0.v_E"), ({"y0": (0.0, 0.0)}, "y0"),
    ({"on_loss_of_balance": "ignore"}, "on_loss_of_balance"), ({"n_points": 1}, "n_points"),
    ({"baumgarte": -1.0}, "baumgarte"), ({"t_eval": [0.0, 2.0]}, "t_eval"),
])
def test_solve_limit_validation(kwargs, field):
    args = {"params": reference_set("B"), "y0": (0.0, -0.338132, 0.5, 0.1), "t_max": 1.0}
    args.update(kwargs)
    with pytest.raises(ParameterError) as exc:
        solve_limit(args.pop("params"), args.pop("y0"), args.pop("t_max"), **args)
    assert exc.value.field == field


def test_y0_as_mapping():
    params = reference_set("B")
    y0 = balanced_initial(params, *REFERENCE_START)
    ds = solve_limit(params, dict(zip(("m_E", "m_I", "v_E", "v_I"), y0, strict=True)), 1.0)
    assert ds.sizes["time"] == 401


@pytest.mark.parametrize("name", ["A", "B", "C"])
def test_fixed_points_match_long_time_limit(name):
    params = reference_set(name)
    (fp,) = fixed_points(params)
    t40 = T3[name][40.0]
    np.testing.assert_allclose(fp.state, t40[:4], atol=1e-6)
    assert fp.r == pytest.approx(t40[4], abs=1e-6)
    assert fp.c == pytest.approx(t40[5], abs=1e-6)
    assert fp.D == pytest.approx(t40[6], abs=1e-5)
    assert fp.stable and fp.eigenvalues.shape == (3,)


def _jacobian_4d(params, y, K):
    rhs = LimitModel(params).multiplier_rhs(K)
    J = np.empty((4, 4))
    for j in range(4):
        h = 1e-6
        yp, ym = np.array(y, float), np.array(y, float)
        yp[j] += h
        ym[j] -= h
        J[:, j] = (np.asarray(rhs(0, yp)) - np.asarray(rhs(0, ym))) / (2 * h)
    return J


def test_on_manifold_eigenvalues_match_the_multiplier_system():
    # The Baumgarte system has the on-manifold spectrum plus -K (the damped balance residual).
    params = reference_set("B")
    (fp,) = fixed_points(params)
    K = 50.0
    ev = np.linalg.eigvals(_jacobian_4d(params, fp.state, K))
    ev = ev[np.argsort(ev.real)]
    assert ev[0].real == pytest.approx(-K, abs=1e-4)
    np.testing.assert_allclose(np.sort_complex(ev[1:]), np.sort_complex(fp.eigenvalues),
                               atol=1e-5)


def test_fixed_points_of_the_unstable_balance_case():
    params = reference_set("B").replace(beta_E=2.0, beta_I=1.0)
    for fp in fixed_points(params):
        assert not fp.stable


def test_fixed_point_with_external_drive_and_logistic():
    params = BalancedParams(sigmoid="logistic", nu=0.05, w_I=1.2)
    fps = fixed_points(params)
    assert fps
    for fp in fps:
        model = LimitModel(params)
        q = model.parts(np.array(fp.state))
        assert abs(q["G"]) < 1e-10
        np.testing.assert_allclose([q["dvE"], q["dvI"]], 0.0, atol=1e-10)
        np.testing.assert_allclose(q["aE"] + fp.c, 0.0, atol=1e-10)
        np.testing.assert_allclose(q["aI"] + fp.c, 0.0, atol=1e-10)
