"""Shared fixtures of the avalanche tests: the spec's TC-1 network and a random sparse W."""

import numpy as np
import pytest


def random_weights(seed: int, N: int = 6, lo: float = 0.5, hi: float = 0.95,
                   fill: float = 0.5) -> np.ndarray:
    """Random sparse directed W without self-weights, row sums uniform in [lo, hi] (TC-11)."""
    rng = np.random.default_rng(seed)
    A = (rng.random((N, N)) < fill) * rng.random((N, N))
    np.fill_diagonal(A, 0.0)
    for i in range(N):
        if A[i].sum() == 0:
            A[i, (i + 1) % N] = 1.0
    d = rng.uniform(lo, hi, N)
    return A / A.sum(axis=1)[:, None] * d[:, None]


@pytest.fixture
def w_tc1() -> np.ndarray:
    return np.array([[0, 3, 0, 2], [5, 0, 1, 0], [0, 4, 0, 3], [2, 0, 6, 0]]) / 10.0


@pytest.fixture
def make_weights():
    """The random_weights factory (test modules cannot import conftest in importlib mode)."""
    return random_weights
