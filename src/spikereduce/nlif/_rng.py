"""Explicit-state random numbers for the compiled particle kernel: xoshiro256** and a ziggurat.

The generator state is a uint64[4] array owned by the caller, so a kernel can be stopped and
resumed anywhere (state in, state out) and a chunked run is bitwise identical to a one-chunk run.
numba's own np.random keeps hidden per-thread state and draws normals by the polar method, which
costs 2-3x more per draw than this ziggurat; normals are most of the particle step's work.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_U64 = np.uint64
_M64 = (1 << 64) - 1
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


def seed_states(seed: int, n_streams: int) -> np.ndarray:
    """``n_streams`` xoshiro256** states (uint64[n_streams, 4]) from one integer seed.

    The words are consecutive outputs of splitmix64 seeded with ``seed`` (the seeding that the
    xoshiro authors recommend); the streams are statistically independent.
    """
    x = int(seed) & _M64
    out = []
    for _ in range(4 * int(n_streams)):
        x = (x + 0x9E3779B97F4A7C15) & _M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        out.append(z ^ (z >> 31))
    states = np.array(out, dtype=np.uint64).reshape(int(n_streams), 4)
    states[~states.any(axis=1), 0] = 1  # the all-zero state is the one fixed point of xoshiro
    return states


def seed_state(seed: int) -> np.ndarray:
    """One xoshiro256** state (uint64[4]) from an integer seed."""
    return seed_states(seed, 1)[0].copy()


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U64(k)) | (x >> _U64(64 - k))


@njit(cache=True, inline="always")
def next_u64(s0, s1, s2, s3):
    """One xoshiro256** output; returns (value, new state words)."""
    result = _rotl(s1 * _U64(5), 7) * _U64(9)
    t = s1 << _U64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit(cache=True, inline="always")
def next_double(s0, s1, s2, s3):
    """A uniform double in [0, 1) with 53 random bits."""
    r, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    # via int64: numba's uint64 -> float conversion is ~20x slower (the value fits in 53 bits).
    return np.int64(r >> _U64(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


@njit(cache=True)
def normal_slow(idx, rabs, x, state, fi):
    # The 0.7 % of draws outside the rectangles: base-strip tail or wedge rejection test. The
    # state goes through memory here so the fast path keeps its four words in registers.
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    ok = False
    if idx == 0:
        while True:
            u1, s0, s1, s2, s3 = next_double(s0, s1, s2, s3)
            u2, s0, s1, s2, s3 = next_double(s0, s1, s2, s3)
            xx = -ZIG_INV_R * math.log1p(-u1)
            yy = -math.log1p(-u2)
            if yy + yy > xx * xx:
                x = -(ZIG_R + xx) if (rabs >> 8) & 1 else ZIG_R + xx
                ok = True
                break
    else:
        u, s0, s1, s2, s3 = next_double(s0, s1, s2, s3)
        ok = (fi[idx - 1] - fi[idx]) * u + fi[idx] < math.exp(-0.5 * x * x)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return x, ok


@njit(cache=True, inline="always")
def zig_fast(s0, s1, s2, s3, ki, wi):
    """The ziggurat's fast path: (x, accepted, idx, rabs, state words).

    Kernels inline the draw loop themselves (see :func:`fill_normal`): a compiled call per draw
    that loops inside costs ~10x the draw, as LLVM then keeps the state in memory.
    """
    r, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    idx = np.intp(r & _U64(0xFF))
    rabs = np.int64((r >> _U64(9)) & _U64(0x000FFFFFFFFFFFFF))
    x = rabs * wi[idx]
    if (r >> _U64(8)) & _U64(1):
        x = -x
    return x, rabs < ki[idx], idx, rabs, s0, s1, s2, s3


@njit(cache=True)
def fill_normal(out, state, ki, wi, fi):
    """Fill ``out`` with standard normals, advancing ``state`` in place (used by tests)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(out.size):
        while True:  # the draw loop every kernel repeats inline
            x, ok, idx, rabs, s0, s1, s2, s3 = zig_fast(s0, s1, s2, s3, ki, wi)
            if ok:
                break
            state[0], state[1], state[2], state[3] = s0, s1, s2, s3
            x, ok = normal_slow(idx, rabs, x, state, fi)
            s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
            if ok:
                break
        out[i] = x
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


@njit(cache=True)
def fill_uniform(out, state):
    """Fill ``out`` with uniforms on [0, 1), advancing ``state`` in place (used by tests)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(out.size):
        out[i], s0, s1, s2, s3 = next_double(s0, s1, s2, s3)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
