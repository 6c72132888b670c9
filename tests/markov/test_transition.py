"""The dsODE transition kernel (spec T1) and the uniform-in-bin closure (spec §2.4)."""

import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.markov import MarkovParams, transition
from spikereduce.markov.transition import closure

pytestmark = pytest.mark.numba

EDGES = MarkovParams().bin_edges


def _bin(lo):
    return int(np.searchsorted(EDGES, lo))


def test_t1_kernel_values():
    q, vbar, spike = transition(20.0, 23.0, 0.9, 1.3, EDGES)
    # spec T1: q for (16,20], (20,24], (24,28] and the conditional means, to 1e-3 / 1e-2
    assert q[_bin(16):_bin(16) + 3] == pytest.approx([0.0626, 0.7820, 0.1554], abs=1e-3)
    assert vbar[_bin(16):_bin(16) + 3] == pytest.approx([19.35, 22.17, 24.79], abs=1e-2)
    assert spike == 0.0
    assert q.sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("a,b,mu,sigma", [(20.0, 23.0, 0.9, 1.3), (92.0, 96.0, 3.0, 2.0),
                                          (0.0, 1e-4, 0.7, 0.84), (-30.0, -28.5, -4.0, 3.0)])
def test_kernel_matches_monte_carlo(a, b, mu, sigma):
    rng = np.random.default_rng(7)
    n = 2_000_000
    x = rng.uniform(a, b, n) + rng.normal(mu, sigma, n)
    q, vbar, spike = transition(a, b, mu, sigma, EDGES)
    # MC standard error of a probability <= 0.5/sqrt(n) = 3.5e-4: 1e-3 is a ~3σ band
    assert spike == pytest.approx(np.mean(x > EDGES[-1]), abs=1e-3)
    for d in range(1, EDGES.size - 1):
        sel = (x > EDGES[d]) & (x <= EDGES[d + 1])
        assert q[d] == pytest.approx(sel.mean(), abs=1e-3)
        if sel.sum() > 20_000:
            assert vbar[d] == pytest.approx(x[sel].mean(), abs=2e-2)
            assert EDGES[d] <= vbar[d] <= EDGES[d + 1]


def test_closure_table():
    lo, hi, eps = 0.0, 4.0, 1e-4
    assert closure(0.0, lo, hi, eps) == (0.0, eps)
    assert closure(1.0, lo, hi, eps) == (0.0, 2.0)
    assert closure(3.0, lo, hi, eps) == (2.0, 4.0)
    assert closure(4.0, lo, hi, eps) == (4.0 - eps, 4.0)
    for vbar in (0.3, 1.7, 2.0, 2.9, 3.99):
        a, b = closure(vbar, lo, hi, eps)
        assert (a + b) / 2 == pytest.approx(vbar) and lo <= a < b <= hi


def test_transition_validates_inputs():
    with pytest.raises(ParameterError, match="sigma"):
        transition(0.0, 1.0, 0.0, 0.0, EDGES)
    with pytest.raises(ParameterError, match="^b = "):
        transition(1.0, 0.5, 0.0, 1.0, EDGES)
    with pytest.raises(ParameterError, match="edges"):
        transition(0.0, 1.0, 0.0, 1.0, EDGES[::-1])
