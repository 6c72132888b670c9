"""Seeding: same seed -> same streams; a different sweep index -> independent streams."""

import numba
import numpy as np
import pytest

from spikereduce.errors import ParameterError
from spikereduce.seeding import rng, seed_sequence, streams


@numba.njit  # no cache: test modules are not importable by name (importlib mode)
def _draw(seed, n):
    np.random.seed(seed)
    out = np.empty(n)
    for i in range(n):
        out[i] = np.random.normal()
    return out


def test_same_seed_same_numbers():
    a, b = streams(7, 3), streams(7, 3)
    assert np.array_equal(a.numpy.standard_normal(100), b.numpy.standard_normal(100))
    assert a.kernel_seeds == b.kernel_seeds
    assert np.array_equal(_draw(a.kernel_seed, 50), _draw(b.kernel_seed, 50))


def test_sweep_index_gives_independent_streams():
    x = rng(7, 0).standard_normal(20000)
    y = rng(7, 1).standard_normal(20000)
    assert not np.array_equal(x, y)
    # Independent standard normals: correlation ~ N(0, 1/n); 5 sigma band.
    assert abs(np.corrcoef(x, y)[0, 1]) < 5 / np.sqrt(x.size)
    assert streams(7, 0).kernel_seed != streams(7, 1).kernel_seed
    assert streams(7, 0).kernel_seed != streams(8, 0).kernel_seed


def test_numpy_and_kernel_streams_differ():
    s = streams(1, n_kernel=3)
    assert len(set(s.kernel_seeds)) == 3
    k = _draw(s.kernel_seed, 20000)
    x = s.numpy.standard_normal(20000)
    assert abs(np.corrcoef(x, k)[0, 1]) < 5 / np.sqrt(x.size)


def test_stream_does_not_depend_on_order_of_creation():
    late = [rng(3, i).random() for i in (4, 2, 0)]
    early = [rng(3, i).random() for i in (0, 2, 4)]
    assert late == early[::-1]


def test_bad_seed():
    with pytest.raises(ParameterError, match="seed"):
        seed_sequence(-3)
    with pytest.raises(ParameterError, match="index"):
        seed_sequence(1, -1)
