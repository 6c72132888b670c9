"""Explicit-state random numbers for compiled kernels: SplitMix64 seeding and xoshiro256+.

numba's own ``np.random`` keeps hidden per-thread state; these generators keep theirs in an array
the caller owns, so a kernel can stop and resume anywhere and a chunked run equals a one-chunk
run bit for bit. Seeds come from :func:`spikereduce.seeding.streams` (``kernel_seed``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MASK = (1 << 64) - 1


def splitmix64_words(seed: int, count: int) -> np.ndarray:
    """``count`` consecutive SplitMix64 outputs from ``seed`` (uint64): the recommended way to
    expand one integer into generator states."""
    x = int(seed) & _MASK
    out = np.empty(int(count), dtype=np.uint64)
    for k in range(int(count)):
        x = (x + 0x9E3779B97F4A7C15) & _MASK
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        out[k] = z ^ (z >> 31)
    return out


def seed_state(seed: int) -> np.ndarray:
    """xoshiro256+ state (uint64[4]) from an integer seed (never the all-zero fixed point)."""
    state = splitmix64_words(seed, 4)
    if not state.any():
        state[0] = 1
    return state


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, inline="always")
def uniform(state):
    """A double in [0, 1) with 53 random bits from xoshiro256+ (Blackman & Vigna); advances
    ``state`` in place."""
    s0 = state[0]
    s1 = state[1]
    s2 = state[2]
    s3 = state[3]
    result = s0 + s3
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return float(result >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def normal(state, spare):
    """A standard normal by Marsaglia's polar method; ``spare`` = [cached value, has-value]."""
    if spare[1] != 0.0:
        spare[1] = 0.0
        return spare[0]
    while True:
        u1 = 2.0 * uniform(state) - 1.0
        u2 = 2.0 * uniform(state) - 1.0
        r2 = u1 * u1 + u2 * u2
        if 0.0 < r2 < 1.0:
            break
    f = np.sqrt(-2.0 * np.log(r2) / r2)
    spare[0] = u2 * f
    spare[1] = 1.0
    return u1 * f
