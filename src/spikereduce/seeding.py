"""Seeding: one user seed (plus a sweep-point index) -> independent numpy and numba streams.

Everything stochastic derives its randomness from :func:`streams`, so a result depends only on
(seed, index), never on how many workers ran or in which order points were computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import check_int, check_seed


@dataclass(frozen=True)
class Streams:
    """The random streams of one run: a numpy Generator and seeds for compiled kernels."""

    seed: int
    index: int
    numpy: np.random.Generator
    kernel_seeds: tuple[int, ...]

    @property
    def kernel_seed(self) -> int:
        """Seed for the (first) numba kernel: pass it to the kernel, which calls np.random.seed."""
        return self.kernel_seeds[0]


def seed_sequence(seed: int, index: int = 0) -> np.random.SeedSequence:
    """SeedSequence for point ``index`` of a run seeded with ``seed``.

    Index 0 is the plain run; a sweep gives point i the index i, so points are independent of
    each other and of the worker that computes them.
    """
    seed = check_seed(seed)
    index = check_int("index", index, lo=0)
    return np.random.SeedSequence(entropy=seed, spawn_key=(index,))


def streams(seed: int, index: int = 0, *, n_kernel: int = 1) -> Streams:
    """Independent streams for one run: a numpy Generator and ``n_kernel`` numba seeds.

    Numba kernels keep their own generator state (per thread); seeding it inside the kernel with
    ``np.random.seed(kernel_seed)`` makes a single-threaded kernel bitwise reproducible.
    """
    n_kernel = check_int("n_kernel", n_kernel, lo=1)
    ss = seed_sequence(seed, index)
    child_np, child_kernel = ss.spawn(2)
    words = child_kernel.generate_state(n_kernel, dtype=np.uint32)
    return Streams(seed=int(seed), index=int(index), numpy=np.random.default_rng(child_np),
                   kernel_seeds=tuple(int(w) for w in words))


def rng(seed: int, index: int = 0) -> np.random.Generator:
    """The numpy Generator of :func:`streams` (shorthand)."""
    return streams(seed, index).numpy
