"""Weight constructors (spec avalanche.md §1.4) and the admissibility checks A1-A2 (§1.3)."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from spikereduce.avalanche import simulate, size_distribution, weights
from spikereduce.avalanche.theory import assembly_probability
from spikereduce.errors import ParameterError


def test_row_sums_equal_alpha():
    for W in (weights.homogeneous(7, 0.8), weights.homogeneous(7, 0.8, self_coupling=False),
              weights.ring(9, 0.8), weights.torus(7, 2, 0.8).toarray()):
        np.testing.assert_allclose(W.sum(axis=1), 0.8, rtol=1e-14)
    assert weights.homogeneous(5, 0.5)[2, 2] == pytest.approx(0.1)
    assert weights.homogeneous(5, 0.5, self_coupling=False)[2, 2] == 0.0


def test_line_is_ring_minus_one_edge():
    R, L = weights.ring(10, 0.8), weights.line(10, 0.8)
    diff = R - L
    assert np.count_nonzero(diff) == 2 and diff[0, 9] == diff[9, 0] == pytest.approx(0.4)
    assert L.sum(axis=1)[0] == pytest.approx(0.4) and L.sum(axis=1)[5] == pytest.approx(0.8)


def test_two_population_blocks():
    W = weights.two_population(3, 0.1, 0.05)
    assert W.shape == (6, 6) and W[0, 0] == 0.1 and W[0, 4] == 0.05 and W[5, 3] == 0.1


def test_torus_moore_neighbourhood():
    W = weights.torus(6, 1, 0.8)
    assert sp.issparse(W) and W.nnz == 36 * 8
    nb = set(W[[0]].indices.tolist())  # unit (0, 0)
    assert nb == {1, 5, 6, 7, 11, 30, 31, 35}
    assert np.allclose((W - W.T).data, 0)


def test_from_graph_normalises_rows_and_keeps_direction():
    g = nx.DiGraph([(0, 1), (1, 2), (0, 2)])  # 0 -> 1 means unit 1 receives from 0
    W = weights.from_graph(g, 0.6)
    assert W[1, 0] == pytest.approx(0.6) and W[0, 1] == 0.0
    assert W[2, 0] == pytest.approx(0.3) and W[2, 1] == pytest.approx(0.3)
    assert W[0].sum() == 0.0
    ws = weights.from_graph(nx.watts_strogatz_graph(16, 4, 0.3, seed=1), 0.75)
    np.testing.assert_allclose(ws.sum(axis=1), 0.75)


@pytest.mark.parametrize("call, field", [
    (lambda: weights.homogeneous(5, 1.0), "alpha"),
    (lambda: weights.homogeneous(0, 0.5), "N"),
    (lambda: weights.ring(10, -0.1), "alpha"),
    (lambda: weights.torus(4, 2, 0.5), "k"),
    (lambda: weights.two_population(4, 0.2, 0.1), "a"),
    (lambda: weights.from_graph("not a graph", 0.5), "graph"),
])
def test_constructor_errors_name_the_field(call, field):
    with pytest.raises(ParameterError) as exc:
        call()
    assert exc.value.field == field


def test_bad_weights_and_drive_are_refused_with_the_offending_values():
    W = np.full((3, 3), 0.2)
    neg = W.copy()
    neg[1, 2] = -0.1
    with pytest.raises(ParameterError, match=r"W\[1,2\] = -0.1"):
        size_distribution(neg)
    big = W.copy()
    big[2] = 0.4  # row sum 1.2
    with pytest.raises(ParameterError, match="row 2 sums to 1.2"):
        simulate(big, 10)
    with pytest.raises(ParameterError, match="delta") as exc:
        simulate(W, 10, delta=0.5)  # 1 - max row sum = 0.4
    assert exc.value.field == "delta"
    for bad_p in ([0.5, 0.5], [0.5, 0.6, -0.1], [0.2, 0.2, 0.2], [np.nan, 0.5, 0.5]):
        with pytest.raises(ParameterError) as exc:
            size_distribution(W, p=bad_p)
        assert exc.value.field == "p"
    with pytest.raises(ParameterError, match="N <= 26") as exc:
        size_distribution(weights.homogeneous(27, 0.5))
    assert exc.value.field == "W"
    with pytest.raises(ParameterError) as exc:
        assembly_probability(W, 0, [1, 2])
    assert exc.value.field == "start"
    with pytest.raises(ParameterError) as exc:
        simulate(W, 0)
    assert exc.value.field == "n_avalanches"
    with pytest.raises(ParameterError) as exc:
        simulate(W, 5, u0=[0.5, 0.5, 1.5])
    assert exc.value.field == "u0"
