"""Exact theory of modular networks: against the closed forms (K = 1, 2), the general subset
theory on the expanded matrix (K = 3), the simulator, and on populations in the thousands."""

import numba
import numpy as np
import pytest

from spikereduce.avalanche import closed_form, modular, simulate, theory, weights
from spikereduce.errors import ParameterError

SMALL = ((4, 3, 5), [[0.05, 0.02, 0.01], [0.03, 0.07, 0.0], [0.02, 0.04, 0.06]])
ROUTING = ((100, 100, 10), [[0.0081, 0, 0], [0, 0.0081, 0.0095], [0, 0, 0.0684]])


@pytest.mark.parametrize("N,alpha", [(1, 0.5), (50, 0.9), (300, 0.99)])
def test_one_population_is_the_homogeneous_closed_form(N, alpha):
    P = modular.size_distribution([N], [[alpha / N]])
    np.testing.assert_allclose(P, closed_form.homogeneous(N, alpha), atol=1e-13, rtol=0)


@pytest.mark.parametrize("n_s,a,b", [(4, 0.1, 0.05), (100, 0.0044, 0.0002)])
def test_two_populations_are_the_two_population_closed_form(n_s, a, b):
    W = [[a, b], [b, a]]
    np.testing.assert_allclose(modular.size_distribution((n_s, n_s), W),
                               closed_form.two_population(n_s, a, b), atol=1e-13, rtol=0)
    np.testing.assert_allclose(modular.size_distribution((n_s, n_s), W, joint=True),
                               closed_form.two_population(n_s, a, b, joint=True),
                               atol=1e-13, rtol=0)


def test_three_asymmetric_populations_match_the_general_theory():
    """N = (4, 3, 5), an asymmetric W_pop, uniform per-unit drive: every P(s) of the 2^12 subset
    sum on the 12 x 12 matrix, to 1e-13 (this also fixes the orientation of W_pop)."""
    sizes, W = SMALL
    P = modular.size_distribution(sizes, W)
    full = weights.modular(sizes, W)
    np.testing.assert_allclose(P, theory.size_distribution(full), atol=1e-13, rtol=0)
    np.testing.assert_allclose(P[:4], [0.691095, 0.188591, 0.071030, 0.029158], atol=5e-7)
    assert modular.mean_size(sizes, W) == pytest.approx(theory.mean_size(full), rel=1e-12)
    # a non-uniform population drive is spread evenly over each population's units
    p_pop = np.array([0.5, 0.1, 0.4])
    p_unit = np.repeat(p_pop / np.array(sizes), sizes)
    np.testing.assert_allclose(modular.size_distribution(sizes, W, p_pop),
                               theory.size_distribution(full, p_unit), atol=1e-13, rtol=0)
    by_start = modular.size_distribution_by_start(sizes, W)
    pi = theory.start_distribution(full)
    np.testing.assert_allclose(by_start.sum(axis=1), np.add.reduceat(pi, [0, 4, 7]),
                               atol=1e-13)


def test_joint_table_and_composition_agree():
    sizes, W = SMALL
    T = modular.joint_distribution(sizes, W, by_start=True)
    assert T.shape == (3, 5, 4, 6) and T[:, 0, 0, 0].sum() == 0
    assert T.sum() == pytest.approx(1.0, abs=1e-13)
    np.testing.assert_allclose(T.sum(axis=0), modular.size_distribution(sizes, W, joint=True))
    grids = np.meshgrid(*(np.arange(n + 1) for n in sizes), indexing="ij")
    C = modular.composition(sizes, W)
    for s in range(3):
        for k in range(3):
            assert C[s, k] == pytest.approx((T[s] * grids[k]).sum() / T[s].sum(), rel=1e-12)
    # sizes by composition: the joint table marginalised on |n| is P(s)
    total = sum(grids)
    P = np.bincount(total.ravel(), T.sum(axis=0).ravel())[1:]
    np.testing.assert_allclose(P, modular.size_distribution(sizes, W), atol=1e-14)


def test_routing_network_mean_three_ways_and_the_simulator():
    """N = (100, 100, 10): the mean from the K x K Green function, from P(s), and from the
    general mean-size formula on the 210 x 210 matrix agree; 100,000 simulated avalanches on
    that matrix agree with P(s) within sampling error."""
    sizes, W = ROUTING
    P = modular.size_distribution(sizes, W)
    full = weights.modular(sizes, W)
    mean = modular.mean_size(sizes, W)
    assert (np.arange(1, 211) * P).sum() == pytest.approx(mean, rel=1e-12)
    assert theory.mean_size(full) == pytest.approx(mean, rel=1e-12)
    assert mean == pytest.approx(5.630070, abs=1e-6)
    sim = simulate(full, 100_000, seed=5, record_assemblies=False)["sizes"].values
    n = sim.size
    # avalanches are weakly correlated: bands of 5 standard errors
    assert abs(sim.mean() - mean) < 5 * sim.std() / np.sqrt(n)
    for s in (1, 2, 3, 10):
        p = P[s - 1]
        assert abs(np.mean(sim == s) - p) < 5 * np.sqrt(p * (1 - p) / n), s


def test_thousands_of_units_stay_finite_in_log_space():
    P = modular.size_distribution((2000, 2000), [[0.0002, 0.00004], [0.00004, 0.0002]])
    assert np.all(np.isfinite(P)) and abs(P.sum() - 1) < 1e-12
    # log-binomials near 2700 in magnitude carry ~1e-13 relative rounding into each term
    hom = modular.size_distribution([4000], [[0.99 / 4000]])
    np.testing.assert_allclose(hom, closed_form.homogeneous(4000, 0.99), rtol=1e-10, atol=0)


def test_same_numbers_on_one_and_two_threads():
    sizes, W = ((30, 20, 25), [[0.01, 0.005, 0.0], [0.004, 0.02, 0.01], [0.003, 0.0, 0.015]])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = modular.size_distribution_by_start(sizes, W)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = modular.size_distribution_by_start(sizes, W)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, two)


@pytest.mark.parametrize("args,field", [
    (((0, 3), [[0.1, 0], [0, 0.1]]), "sizes"),
    (((3, 3), [[0.1, 0]]), "W_pop"),
    (((3, 3), [[0.3, 0.1], [0.1, 0.2]]), "W_pop"),  # row 0: 0.3*3 + 0.1*3 >= 1
    (((3, 3), [[0.1, -0.01], [0.0, 0.1]]), "W_pop"),
    (((3, 3), [[0.1, 0], [0, 0.1]], [0.7, 0.7]), "p_pop"),
    (((3, 3), [[0.1, 0], [0, 0.1]], [1.0]), "p_pop"),
    (((10**5, 10**5), [[1e-6, 0], [0, 1e-6]]), "sizes"),
])
def test_bad_networks_name_the_field(args, field):
    with pytest.raises(ParameterError) as err:
        modular.size_distribution(*args)
    assert err.value.field == field


def test_joint_table_is_for_three_populations_or_fewer():
    with pytest.raises(ParameterError, match="K <= 3"):
        modular.size_distribution((2, 2, 2, 2), np.full((4, 4), 0.05), joint=True)


def test_undriven_population_starts_nothing():
    sizes, W = SMALL
    C = modular.composition(sizes, W, [0.5, 0.5, 0.0])
    assert np.isnan(C[2]).all() and np.isfinite(C[:2]).all()
    assert modular.size_distribution_by_start(sizes, W, [0.5, 0.5, 0.0])[2].sum() == 0


def test_modular_weights_are_the_blocks():
    W = weights.modular((2, 3), [[0.1, 0.02], [0.03, 0.2]])
    assert W.shape == (5, 5)
    assert W[0, 1] == 0.1 and W[0, 4] == 0.02 and W[4, 0] == 0.03 and W[4, 4] == 0.2
    W0 = weights.modular((2, 3), [[0.1, 0.02], [0.03, 0.2]], self_coupling=False)
    assert np.all(np.diag(W0) == 0) and W0[3, 4] == 0.2


def test_config_model_runs_with_the_theory_per_start_population(tmp_path):
    from pathlib import Path

    from spikereduce.cli import main
    from spikereduce.io import load

    cfg = Path(__file__).resolve().parents[2] / "examples" / "configs" / "avalanche_modular.toml"
    out = tmp_path / "m.nc"
    assert main(["run", str(cfg), "-o", str(out), "--set", "run.n_avalanches=20000"]) == 0
    ds = load(out)
    assert ds["P_theory_by_start"].shape == (3, 210)
    assert ds["P_theory_by_start"].sum() == pytest.approx(1.0, abs=1e-12)
    assert ds["P_sim_by_start"].sum() == pytest.approx(1.0, abs=1e-12)
    assert ds.attrs["mean_size_theory"] == pytest.approx(5.630070, abs=1e-6)
    assert (tmp_path / "m.png").exists()
    # a tuple from Python is a list, like in a config; a bad network names its field
    from spikereduce.avalanche.models import ModularParams

    assert ModularParams(sizes=(2, 2), W_pop=((0.1, 0.0), (0.0, 0.1))).sizes == [2, 2]
    with pytest.raises(ParameterError) as err:
        ModularParams(sizes=[2, 2], W_pop=[[0.6, 0.0], [0.0, 0.1]])
    assert err.value.field == "W_pop"
