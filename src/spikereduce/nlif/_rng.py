"""Explicit-state random numbers for the compiled particle kernel: SplitMix64 and a ziggurat.

Each stream is a SplitMix64 Weyl sequence: its whole state is one uint64 position, and draw j
after position p is mix64(p + j * GAMMA). Unlike xoshiro, consecutive draws do not wait for
each other (no state-update dependency chain), so the CPU overlaps the draws of consecutive
neurons. Kernels keep the states in caller-owned arrays, so they can stop and resume anywhere
and a chunked run is bitwise identical to a one-chunk run.

A block's state is two positions. The *main* stream gives exactly one ziggurat proposal per
neuron and step; the *aux* stream, used in neuron order, finishes the ~1.2 % of proposals
that fall outside the ziggurat's rectangles (tail and wedge tests, redraws) and gives the
Brownian-bridge uniforms. Taking the redraw from another stream leaves the law exactly
standard normal: a rejected proposal is replaced by an independent draw, as in the ziggurat.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..rng import splitmix64_words

_U64 = np.uint64
GAMMA = _U64(0x9E3779B97F4A7C15)  # the golden-ratio increment of SplitMix64
_C1 = _U64(0xBF58476D1CE4E5B9)
_C2 = _U64(0x94D049BB133111EB)
_MASK52 = _U64(0x000FFFFFFFFFFFFF)
# Marsaglia–Tsang ziggurat with 256 layers and 52-bit mantissas (the constants numpy uses).
ZIG_R = 3.6541528853610088
ZIG_INV_R = 1.0 / ZIG_R
_ZIG_AREA = 0.00492867323399


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = float(2**52)
    dn = tn = ZIG_R
    q = _ZIG_AREA / math.exp(-0.5 * dn * dn)
    ki = np.zeros(256, dtype=np.int64)  # int64: compared with 52-bit int64 mantissas
    wi = np.zeros(256)
    fi = np.zeros(256)
    ki[0] = int(dn / q * m)
    ki[1] = 0
    wi[0] = q / m
    wi[255] = dn / m
    fi[0] = 1.0
    fi[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIG_AREA / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = int(dn / tn * m)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m
    return ki, wi, fi


ZIG_KI, ZIG_WI, ZIG_FI = _ziggurat_tables()
STATE_WORDS = 2  # main and aux stream positions of a block


def seed_states(seed: int, n_streams: int) -> np.ndarray:
    """``n_streams`` block states (uint64[n_streams, 2]) from one integer seed.

    The positions are consecutive outputs of SplitMix64 seeded with ``seed``: random starting
    points on the 2^64-periodic Weyl sequence. Two of a run's streams overlap only if their
    starting points lie within the number of draws of each other: for 30 streams of 1e10 draws
    each, probability < 1e-6.
    """
    words = splitmix64_words(seed, STATE_WORDS * int(n_streams))
    return words.reshape(int(n_streams), STATE_WORDS)


def seed_state(seed: int) -> np.ndarray:
    """One block state (uint64[2]) from an integer seed."""
    return seed_states(seed, 1)[0].copy()


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64's output function (a bijective 64-bit hash)."""
    z = (z ^ (z >> _U64(30))) * _C1
    z = (z ^ (z >> _U64(27))) * _C2
    return z ^ (z >> _U64(31))


@njit(cache=True, inline="always")
def propose(r, ki, wi):
    """The ziggurat's fast path from 64 random bits: (x, rejected, idx, rabs)."""
    idx = np.intp(r & _U64(0xFF))
    rabs = np.int64((r >> _U64(9)) & _MASK52)
    sign = 1.0 - 2.0 * np.float64(np.int64((r >> _U64(8)) & _U64(1)))
    x = sign * (rabs * wi[idx])
    return x, rabs >= ki[idx], idx, rabs


@njit(cache=True, inline="always")
def to_double(r):
    """A uniform double in [0, 1) from the top 53 bits of ``r``."""
    # via int64: numba's uint64 -> float conversion is ~20x slower (the value fits in 53 bits).
    return np.int64(r >> _U64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def aux_u64(st):
    st[1] += GAMMA
    return mix64(st[1])


@njit(cache=True, inline="always")
def aux_double(st):
    """A uniform double in [0, 1) with 53 random bits from the aux stream of ``st``."""
    return to_double(aux_u64(st))


@njit(cache=True)
def finish_normal(idx, rabs, x, st, ki, wi, fi):
    """A standard normal for a proposal rejected by the fast path, using the aux stream.

    First the ziggurat's own test of the proposal (base-strip tail or wedge), then, if that
    rejects it too, full ziggurat draws from the aux stream until one is accepted.
    """
    while True:
        if idx == 0:
            while True:
                xx = -ZIG_INV_R * math.log1p(-aux_double(st))
                yy = -math.log1p(-aux_double(st))
                if yy + yy > xx * xx:
                    return -(ZIG_R + xx) if (rabs >> 8) & 1 else ZIG_R + xx
        elif (fi[idx - 1] - fi[idx]) * aux_double(st) + fi[idx] < math.exp(-0.5 * x * x):
            return x
        x, rej, idx, rabs = propose(aux_u64(st), ki, wi)
        if not rej:
            return x


@njit(cache=True)
def fill_normal(out, state, ki, wi, fi):
    """Fill ``out`` with standard normals from one block state, advancing it (used by tests).

    The particle kernel's draw: proposal j from the main stream, finished from the aux stream
    when the fast path rejects it.
    """
    pos = state[0]
    for j in range(out.size):
        x, rej, idx, rabs = propose(mix64(pos + _U64(j + 1) * GAMMA), ki, wi)
        if rej:
            x = finish_normal(idx, rabs, x, state, ki, wi, fi)
        out[j] = x
    state[0] = pos + _U64(out.size) * GAMMA


@njit(cache=True)
def fill_uniform(out, state):
    """Fill ``out`` with uniforms on [0, 1) from the aux stream of ``state`` (used by tests)."""
    for i in range(out.size):
        out[i] = aux_double(state)
