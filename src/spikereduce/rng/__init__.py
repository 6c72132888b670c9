"""The random-number policy: how one user seed becomes every random number of a run::

    seed ──► SeedSequence(seed, spawn_key=(purpose, *key)) ──► a named stream
         ├─► Streams.state(purpose, n)      uint64 positions, owned by the caller, handed to a
         │                                   compiled kernel (spikereduce.rng.generators)
         └─► Streams.generator(purpose)     a numpy Generator for draws made in Python

A result depends only on its seed: never on the number of numba threads (parallel kernels
give every block of work its own stream), nor on the number of sweep workers or the order in
which they compute (a sweep point, or a replicate of a study, runs with :func:`derive_seed` of
the sweep's seed and its index). Each purpose has its own stream, so adding draws for one
purpose leaves the numbers of every other purpose unchanged. :data:`PURPOSES` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..params import check_int, check_seed

# Every named stream in the library. The number is part of the stream's identity: never renumber.
PURPOSES: dict[str, int] = {
    "initial": 1,      # initial states drawn in Python (stationary avalanche state, ...)
    "network": 2,      # the compiled time loop of a network simulation
    "drive": 3,        # external drive (avalanche drive units and amplitudes)
    "particles": 4,    # nlif particle blocks (two positions per block of neurons)
    "micro": 5,        # nlif multi-scale: the particle phase number k has key (k,)
    "handover": 6,     # nlif multi-scale: density -> particles sampling
    "sampler": 7,      # exact i.i.d. avalanche samplers
    "reduction": 8,    # finite-size noise of a reduced model (markov dsODE)
}


_SUB_RUNS = 0  # spawn-key head of derived seeds; purposes are numbered from 1


def derive_seed(seed: int, index: int) -> int:
    """The seed of sub-run ``index`` (a sweep point, a replicate of a study) of a run seeded with
    ``seed``: a 32-bit integer that depends on (seed, index) only, so a sub-run gives the same
    numbers whichever worker computes it, in whatever order."""
    seed = check_seed(seed)
    index = check_int("index", index, lo=0)
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(_SUB_RUNS, index))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _purpose(name: str) -> int:
    try:
        return PURPOSES[name]
    except KeyError:
        raise ParameterError("purpose", name, f"one of {sorted(PURPOSES)}") from None


@dataclass(frozen=True)
class Streams:
    """The named random streams of one run seeded with ``seed``."""

    seed: int

    def sequence(self, purpose: str, *key: int) -> np.random.SeedSequence:
        """The SeedSequence of one purpose (and optional sub-keys, e.g. a phase number)."""
        spawn_key = (_purpose(purpose), *(int(k) for k in key))
        return np.random.SeedSequence(entropy=self.seed, spawn_key=spawn_key)

    def state(self, purpose: str, n_streams: int = 1, *key: int) -> np.ndarray:
        """``n_streams`` independent generator positions (uint64) for a compiled kernel.

        The positions are random points on the 2^64-periodic Weyl sequence of
        :mod:`spikereduce.rng.generators`; two streams of one run overlap only if their starting
        points lie within the number of draws of each other (for 30 streams of 1e10 draws,
        probability < 1e-6). The caller owns the array; kernels advance it in place.
        """
        n_streams = check_int("n_streams", n_streams, lo=1)
        return self.sequence(purpose, *key).generate_state(n_streams, dtype=np.uint64)

    def generator(self, purpose: str, *key: int) -> np.random.Generator:
        """A numpy Generator for the draws of one purpose made in Python."""
        return np.random.default_rng(self.sequence(purpose, *key))


def streams(seed: int) -> Streams:
    """The streams of a run seeded with ``seed`` (validated: a non-negative integer)."""
    return Streams(check_seed(seed))


__all__ = ["PURPOSES", "Streams", "derive_seed", "streams"]
