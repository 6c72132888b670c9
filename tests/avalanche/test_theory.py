"""Exact theory (spec avalanche.md §2.2-2.6): TC-1 to TC-3, TC-7 and structural identities."""

from fractions import Fraction as F
from itertools import combinations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikereduce.avalanche import (
    assembly_probability,
    assembly_table,
    closed_form,
    duration_distribution,
    mean_size,
    size_distribution,
    theory,
    weights,
)
from spikereduce.errors import ParameterError

EXACT = 1e-12  # rational spec values, compared in float64


def test_tc1_rational_network(w_tc1):
    """TC-1: every quoted rational of the N = 4 network, to 1e-12."""
    assert theory.phase_space_volume(w_tc1) == pytest.approx(float(F(741, 1250)), abs=EXACT)
    np.testing.assert_allclose(theory.cofactors(w_tc1),
                               [0.78, 0.78, 0.81, 0.81], atol=EXACT, rtol=0)
    np.testing.assert_allclose(size_distribution(w_tc1),
                               [float(F(247, 636)), float(F(997, 3180)), float(F(409, 3180)),
                                float(F(539, 3180))], atol=EXACT, rtol=0)
    assert mean_size(w_tc1) == pytest.approx(float(F(551, 265)), abs=EXACT)
    cases = {(0, (0,)): F(139, 1590), (1, (0, 1)): F(3, 106), (2, (2, 3)): F(57, 530),
             (0, (0, 1, 2, 3)): F(49, 795), (3, (0, 1, 2, 3)): F(17, 636)}
    table = assembly_table(w_tc1)
    for (i, J), value in cases.items():
        assert assembly_probability(w_tc1, i, J) == pytest.approx(float(value), abs=EXACT)
        assert table.probability(i, J) == pytest.approx(float(value), abs=EXACT)
    # no edge between 0 and 2: the assembly {0, 2} is impossible, exactly
    assert assembly_probability(w_tc1, None, [0, 2]) == 0.0
    assert table.probability(None, [0, 2]) == 0.0


def test_tc2_homogeneous_n8():
    W = weights.homogeneous(8, 0.9)
    np.testing.assert_allclose(size_distribution(W), [
        0.22995944, 0.10360963, 0.07228200, 0.06242733, 0.06312267, 0.07500865, 0.11223917,
        0.28135112], atol=5e-9)
    assert mean_size(W) == pytest.approx(8 / 1.7, rel=1e-12)
    np.testing.assert_allclose(duration_distribution(W), [
        0.22996, 0.13218, 0.12862, 0.18701, 0.17975, 0.10251, 0.03456, 0.00541], atol=5e-6)
    # trigger probability per selection = 2.125 delta (constant amplitude)
    assert theory.trigger_rate(W, delta=0.1, random_amplitude=False) == pytest.approx(0.2125)
    Wn = weights.homogeneous(8, 0.9, self_coupling=False)
    np.testing.assert_allclose(size_distribution(Wn), [
        0.21174041, 0.09576465, 0.06715130, 0.05841662, 0.05972023, 0.07230900, 0.11252754,
        0.32237025], atol=5e-9)
    assert mean_size(Wn) == pytest.approx(4.9375, rel=1e-12)


def test_tc3_mean_size_homogeneous_n100():
    assert mean_size(weights.homogeneous(100, 0.9)) == pytest.approx(9.1743119, abs=5e-8)
    assert mean_size(weights.homogeneous(100, 0.9)) == pytest.approx(100 / (100 - 99 * 0.9))


@pytest.mark.parametrize("W, expected, mean", [
    (weights.ring(16, 0.75), [0.300944, 0.271702, 0.183976, 0.110733, 0.062483, 0.033847,
                              0.017826, 0.009196, 0.004670, 0.002342, 0.001163, 0.000572,
                              0.000278, 0.000131, 0.000052, 0.000084], 2.6457356),
    (None, [0.362512, 0.182174, 0.132526, 0.101038, 0.073244, 0.050906, 0.034363, 0.022704,
            0.014741, 0.009423, 0.005952, 0.003783, 0.002537, 0.001876, 0.001396, 0.000823],
     3.0535583),
    (weights.homogeneous(16, 0.75), [0.42999602, 0.16467330, 0.09456972, 0.06432483,
                                     0.04801039, 0.03796941, 0.03120443, 0.02631503,
                                     0.02255658, 0.01948663, 0.01681108, 0.01430869,
                                     0.01179153, 0.00909016, 0.00607886, 0.00281336], 3.3684211),
])
def test_tc7_sixteen_unit_networks(W, expected, mean):
    if W is None:  # ring with first and second neighbours, weight 0.1875 each
        W = np.zeros((16, 16))
        for i in range(16):
            for d in (1, 2):
                W[i, (i + d) % 16] = W[i, (i - d) % 16] = 0.1875
    P = size_distribution(W)
    np.testing.assert_allclose(P, expected, atol=6e-7)
    assert mean_size(W) == pytest.approx(mean, abs=5e-7)
    assert (np.arange(1, 17) * P).sum() == pytest.approx(mean_size(W), rel=1e-10)


def test_tc7_watts_strogatz_properties():
    """Seeds of the paper's graphs are unknown (U8): check properties on a seeded graph."""
    W = weights.from_graph(nx.watts_strogatz_graph(16, 4, 0.3, seed=7), 0.75)
    P = size_distribution(W)
    assert np.all(P > 0) and P.sum() == pytest.approx(1.0, abs=1e-12)
    assert (np.arange(1, 17) * P).sum() == pytest.approx(mean_size(W), rel=1e-10)
    # W symmetric here, so the symmetric shortcut was used: compare with the general path
    Wa = W.copy()
    Wa[0, 1] *= 1 - 1e-15  # breaks exact symmetry, result must not move
    np.testing.assert_allclose(size_distribution(Wa), P, atol=1e-12)


def test_general_enumeration_matches_table_and_direct_determinants(make_weights):
    W = make_weights(5, N=7)
    p = np.random.default_rng(0).dirichlet(np.ones(7))
    P = size_distribution(W, p)
    table = assembly_table(W, p)
    np.testing.assert_allclose(table.size_distribution(), P, atol=1e-14)
    # conditional on the start unit the assembly law sums to one (spec §2.5)
    start = table.probabilities.sum(axis=0)
    np.testing.assert_allclose(start, theory.start_distribution(W, p), atol=1e-13)
    for J in [(0,), (0, 3), (1, 2, 5), tuple(range(7))]:
        for i in J:
            assert table.probability(i, J) == pytest.approx(
                assembly_probability(W, i, J, p), abs=1e-14)


def test_matrix_tree_reading_and_zero_for_unreachable():
    """det(L_J^(i)) counts spanning arborescences: on a directed path 0 -> 1 -> 2 only 0 roots."""
    W = np.zeros((3, 3))
    W[1, 0] = 0.5
    W[2, 1] = 0.5
    table = assembly_table(W)
    assert table.probability(0, [0, 1, 2]) > 0
    assert table.probability(1, [0, 1, 2]) == 0.0 and table.probability(2, [0, 1, 2]) == 0.0
    assert table.probability(0, [0, 2]) == 0.0


def test_generation_patterns_sum_to_assembly_probability(make_weights):
    """Summing pattern probabilities over layerings of (i, J) gives det(L_J^(i)) (spec §2.6)."""
    W = make_weights(11, N=5, fill=0.8)

    def layerings(rest, prev):
        if not rest:
            yield []
            return
        for r in range(1, len(rest) + 1):
            for nxt in combinations(sorted(rest), r):
                for tail in layerings(rest - set(nxt), nxt):
                    yield [list(nxt)] + tail

    J = {0, 2, 3, 4}
    total = sum(theory.pattern_probability(W, [[2]] + lay) for lay in layerings(J - {2}, (2,)))
    assert total == pytest.approx(assembly_probability(W, 2, J), rel=1e-12)
    joint = theory.size_duration_distribution(W)
    np.testing.assert_allclose(joint.sum(axis=1), size_distribution(W), atol=1e-14)


def test_rates_and_mean_size_identities(make_weights):
    W = make_weights(2, N=8)
    p = np.random.default_rng(1).dirichlet(np.ones(8))
    f = theory.spike_rates(W, p, delta=0.04, random_amplitude=False)
    np.testing.assert_allclose(0.04 * p + (W - np.eye(8)) @ f, 0, atol=1e-15)
    r = theory.trigger_rate(W, p, delta=0.04, random_amplitude=False)
    assert f.sum() / r == pytest.approx(mean_size(W, p), rel=1e-12)


def test_duration_enumeration_refuses_large_n():
    with pytest.raises(ParameterError) as exc:
        duration_distribution(weights.homogeneous(11, 0.5))
    assert exc.value.field == "W"
    with pytest.raises(ParameterError) as exc:
        assembly_table(weights.homogeneous(17, 0.5))
    assert exc.value.field == "W"


def test_phase_space_burning_test():
    W = np.array([[0, 0.3], [0.4, 0]])
    assert theory.in_phase_space(W, [0.35, 0.1])  # unit 0 above 0.3 burns, then unit 1
    assert not theory.in_phase_space(W, [0.2, 0.3])  # both below their input from the other
    assert theory.in_phase_space(W, [0.2, 0.45])


def _brute_force_sizes(W, p):
    """Spec §2.5 term by term with numpy determinants: sum over J and i in J."""
    N = W.shape[0]
    Z = sum(p[k] * np.linalg.det(np.delete(np.delete(np.eye(N) - W, k, 0), k, 1))
            for k in range(N))
    P = np.zeros(N)
    for n in range(1, N + 1):
        for J in combinations(range(N), n):
            J = list(J)
            WJ = W[np.ix_(J, J)]
            L = np.diag(WJ.sum(axis=1)) - WJ
            Jc = [j for j in range(N) if j not in J]
            M = np.diag(1 - W[np.ix_(Jc, J)].sum(axis=1)) - W[np.ix_(Jc, Jc)]
            detM = np.linalg.det(M) if Jc else 1.0
            for r, i in enumerate(J):
                Li = np.delete(np.delete(L, r, 0), r, 1)
                P[n - 1] += p[i] * (np.linalg.det(Li) if n > 1 else 1.0) * detM
    return P / Z


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 6), fill=st.floats(0.1, 1.0),
       self_weights=st.booleans())
def test_compiled_enumeration_equals_term_by_term_formula(seed, N, fill, self_weights):
    rng = np.random.default_rng(seed)
    A = (rng.random((N, N)) < fill) * rng.random((N, N))
    if not self_weights:
        np.fill_diagonal(A, 0.0)
    rows = A.sum(axis=1)
    W = np.divide(A, rows[:, None], out=np.zeros_like(A), where=rows[:, None] > 0)
    W *= rng.uniform(0.05, 0.97, N)[:, None]
    p = rng.dirichlet(np.ones(N))
    np.testing.assert_allclose(size_distribution(W, p), _brute_force_sizes(W, p), atol=1e-12)


def test_assembly_probability_of_a_large_network_matches_the_ring_closed_form():
    # Regression: units with index >= 63 overflowed a 64-bit reachability mask. On a ring every
    # arc of s units is an assembly of probability P(s)/N, wherever it sits.
    N, alpha = 70, 0.75
    W = weights.ring(N, alpha)
    P = closed_form.ring(N, alpha)
    assert assembly_probability(W, None, [64, 65]) == pytest.approx(P[1] / N, rel=1e-10)
    assert assembly_probability(W, None, [68, 69, 0]) == pytest.approx(P[2] / N, rel=1e-10)
    assert assembly_probability(W, 68, [68, 69, 0]) == pytest.approx(
        assembly_probability(W, 1, [1, 2, 3]), rel=1e-12)
    assert assembly_probability(W, None, [10, 12]) == 0.0  # not connected
