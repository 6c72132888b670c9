"""Explicit-state random numbers for the compiled particle kernel: SplitMix64 and Box–Muller.

Each stream is a SplitMix64 Weyl sequence: its whole state is one uint64 position, and draw j
after position p is mix64(p + j * GAMMA). Draws do not depend on each other (no state-update
chain), so a loop over neurons has no loop-carried dependency and LLVM vectorizes it. Kernels
keep the states in caller-owned arrays, so they can stop and resume anywhere and a chunked run
is bitwise identical to a one-chunk run.

Normals come in pairs by the Box–Muller transform, R (cos θ, sin θ) with R = sqrt(-2 ln u),
computed without a branch or a table lookup (the logarithm from the exponent bits and an atanh
series, the angle by the symmetries of the octagon and Taylor polynomials on [0, π/4)), so the
vectorizer keeps every lane busy; both are accurate to a few units in the last place. u has 53
random bits and lies in (0, 1], so |normal| <= sqrt(106 ln 2) = 8.57 (the tail beyond has
probability 1e-17).

A block's state is two positions: the *main* stream gives one pair of draws per pair of
neurons and step; the *aux* stream, used in neuron order, gives the Brownian-bridge uniforms.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from ..rng import splitmix64_words

_U64 = np.uint64
GAMMA = _U64(0x9E3779B97F4A7C15)  # the golden-ratio increment of SplitMix64
_C1 = _U64(0xBF58476D1CE4E5B9)
_C2 = _U64(0x94D049BB133111EB)
_INV_2_53 = 1.0 / 9007199254740992.0
_LN2 = 0.6931471805599453
_SQRT2 = 1.4142135623730951
_PI_4 = math.pi / 4.0
# Compile options of every function that computes normals: no ZeroDivisionError branch (the
# divisors here are never zero), fused multiply-adds (shorter Horner chains).
FAST = {"error_model": "numpy", "fastmath": {"contract"}}
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
def to_double(r):
    """A uniform double in [0, 1) from the top 53 bits of ``r``."""
    # via int64: numba's uint64 -> float conversion is ~20x slower (the value fits in 53 bits).
    return np.int64(r >> _U64(11)) * _INV_2_53


@njit(cache=True, inline="always")
def aux_double(st):
    """A uniform double in [0, 1) with 53 random bits from the aux stream of ``st``."""
    st[1] += GAMMA
    return to_double(mix64(st[1]))


def _bitcast(src, dst, doc):
    """An intrinsic reinterpreting a value of numba type ``src`` as ``dst`` (same width): a
    register move that LLVM vectorizes."""

    @intrinsic
    def cast(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], context.get_value_type(dst))

        return dst(src), codegen

    cast.__doc__ = doc
    return cast


_float_bits = _bitcast(types.float64, types.int64, "The IEEE-754 bits of a float64 as int64.")
_bits_float = _bitcast(types.int64, types.float64, "The float64 with the IEEE-754 bits given.")


@njit(cache=True, inline="always", **FAST)
def neg2log_unit(r):
    """-2 ln u for u = 1 - (r >> 11) / 2^53 in (0, 1], to a few ulp, without a branch.

    u = 2^e m with m in [1/sqrt 2, sqrt 2) from the exponent bits; ln m = 2 atanh(s) with
    s = (m - 1)/(m + 1), |s| < 0.172, by its series to s^19 (remainder < 3e-17 relative).
    """
    u = 1.0 - np.float64(np.int64(r >> _U64(11))) * _INV_2_53
    bits = _float_bits(u)
    e = (bits >> 52) - 1023
    m = _bits_float((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    s = (m - 1.0) / (m + 1.0)
    w = s * s
    series = 1.0 + w * (1.0 / 3 + w * (1.0 / 5 + w * (1.0 / 7 + w * (1.0 / 9 + w * (
        1.0 / 11 + w * (1.0 / 13 + w * (1.0 / 15 + w * (1.0 / 17 + w * (1.0 / 19)))))))))
    return -2.0 * (np.float64(e) * _LN2 + 2.0 * s * series)


@njit(cache=True, inline="always", **FAST)
def unit_circle(r):
    """A uniform point (cos θ, sin θ) on the unit circle from 64 random bits, without a branch.

    Bits 11-63 (shifted) give φ in [0, π/4) with 53 bits; the top three pick one of the eight
    symmetries of the octagon (swap the coordinates, negate x, negate y), which map the arc
    [0, π/4) onto the eight arcs of the circle: θ is uniform. sin and cos of φ are their Taylor
    polynomials to φ^15 and φ^16 (remainders below 1e-16 relative on [0, π/4)).
    """
    phi = np.float64(np.int64((r << _U64(3)) >> _U64(11))) * (_PI_4 * _INV_2_53)
    t = phi * phi
    sn = phi * (1.0 + t * (-1.0 / 6 + t * (1.0 / 120 + t * (-1.0 / 5040 + t * (
        1.0 / 362880 + t * (-1.0 / 39916800 + t * (1.0 / 6227020800 + t * (
            -1.0 / 1307674368000))))))))
    cs = 1.0 + t * (-0.5 + t * (1.0 / 24 + t * (-1.0 / 720 + t * (1.0 / 40320 + t * (
        -1.0 / 3628800 + t * (1.0 / 479001600 + t * (-1.0 / 87178291200 + t * (
            1.0 / 20922789888000))))))))
    swap = (r >> _U64(63)) != _U64(0)
    x = sn if swap else cs
    y = cs if swap else sn
    x = -x if ((r >> _U64(62)) & _U64(1)) != _U64(0) else x
    y = -y if ((r >> _U64(61)) & _U64(1)) != _U64(0) else y
    return x, y


@njit(cache=True, inline="always", **FAST)
def normal_pair(pos, j):
    """Pair j of standard normals after main-stream position ``pos`` (draws 2j+1 and 2j+2)."""
    r1 = mix64(pos + _U64(2 * j + 1) * GAMMA)
    r2 = mix64(pos + _U64(2 * j + 2) * GAMMA)
    rad = math.sqrt(neg2log_unit(r1))
    x, y = unit_circle(r2)
    return rad * x, rad * y


@njit(cache=True, **FAST)
def fill_normal(out, state):
    """Fill ``out`` with standard normals from one block state, advancing it (used by tests).

    The particle kernel's layout: with h = ceil(size / 2) pairs, out[j] is the first and
    out[h + j] the second normal of pair j.
    """
    size = out.size
    h = (size + 1) // 2
    pos = state[0]
    for j in range(size - h):
        x, y = normal_pair(pos, j)
        out[j] = x
        out[h + j] = y
    if size % 2:
        out[h - 1] = normal_pair(pos, h - 1)[0]
    state[0] = pos + _U64(2 * h) * GAMMA


@njit(cache=True)
def fill_uniform(out, state):
    """Fill ``out`` with uniforms on [0, 1) from the aux stream of ``state`` (used by tests)."""
    for i in range(out.size):
        out[i] = aux_double(state)
