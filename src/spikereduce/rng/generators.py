"""The one family of compiled random-number generators; every kernel draws from these.

A stream is a SplitMix64 Weyl sequence: its whole state is one uint64 *position* p, and draw j
after p is mix64(p + j·GAMMA). Kernels receive the positions in a uint64 array the caller owns
(made by :meth:`spikereduce.rng.Streams.state`) and advance them in place, so a kernel can stop
and resume anywhere and a chunked run equals a one-chunk run bit for bit. No kernel touches a
global generator.

Draws do not depend on each other (no state-update chain), so a loop over neurons that takes
draw j of one position has no loop-carried dependency and vectorizes (:func:`normal_pair`).

- uniforms: :func:`uniform` (53 random bits in [0, 1)), :func:`randint`;
- normals: the branch-free Box–Muller pair :func:`normal_pair` (the logarithm from the exponent
  bits and an atanh series, the angle from the symmetries of the octagon and Taylor polynomials on
  [0, π/4): a few ulp, no table, no branch), and :func:`normal` for sequential use (one pair per
  two calls, the second kept in a caller-owned ``spare``);
- Poisson and binomial counts: exact inversion (:func:`poisson`, :func:`binomial`), from zero for
  small means and outward from the mode for large ones; :func:`poisson_from_uniform` when the
  caller has tabulated e^{-λ}; :func:`binomial_small` for many draws of small means.

u has 53 random bits and lies in (0, 1] inside the logarithm, so |normal| <= sqrt(106 ln 2) = 8.57
(the tail beyond has probability 1e-17).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

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
# Above this mean a count is drawn outward from its mode (cost ~ the standard deviation) rather
# than upward from zero (cost ~ the mean, and e^{-mean} underflows near 745).
_FROM_MODE = 30.0


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
def uniform(st, k):
    """A double in [0, 1) with 53 random bits from stream ``k`` of ``st``; advances it."""
    st[k] += GAMMA
    return to_double(mix64(st[k]))


@njit(cache=True, inline="always")
def randint(st, k, n):
    """An integer uniform on {0, ..., n-1} from stream ``k`` (bias < n / 2^53)."""
    i = np.int64(uniform(st, k) * n)
    return i if i < n else n - 1


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
    """Pair j of standard normals after position ``pos`` (draws 2j+1 and 2j+2); the caller
    advances the position by 2 GAMMA per pair it used."""
    r1 = mix64(pos + _U64(2 * j + 1) * GAMMA)
    r2 = mix64(pos + _U64(2 * j + 2) * GAMMA)
    rad = math.sqrt(neg2log_unit(r1))
    x, y = unit_circle(r2)
    return rad * x, rad * y


@njit(cache=True, inline="always", **FAST)
def normal(st, k, spare):
    """A standard normal from stream ``k``: Box–Muller pairs, the second kept in ``spare``
    (float64[2]: value, has-value) for the next call."""
    if spare[1] != 0.0:
        spare[1] = 0.0
        return spare[0]
    x, y = normal_pair(st[k], 0)
    st[k] += _U64(2) * GAMMA
    spare[0] = y
    spare[1] = 1.0
    return x


@njit(cache=True, **FAST)
def fill_normal(out, st, k):
    """Fill ``out`` with standard normals from stream ``k`` of ``st``, advancing it.

    The layout of a vectorized loop: with h = ceil(size / 2) pairs, out[j] is the first and
    out[h + j] the second normal of pair j.
    """
    size = out.size
    h = (size + 1) // 2
    pos = st[k]
    for j in range(size - h):
        x, y = normal_pair(pos, j)
        out[j] = x
        out[h + j] = y
    if size % 2:
        out[h - 1] = normal_pair(pos, h - 1)[0]
    st[k] = pos + _U64(2 * h) * GAMMA


@njit(cache=True, inline="always")
def fill_uniform(out, count, st, k):
    """out[:count] = the next ``count`` uniforms of stream ``k`` (the same numbers as ``count``
    calls of :func:`uniform`), advancing it. The draws are independent of each other, so the
    loop vectorizes; a sequential loop that reads them from ``out`` keeps the generator's
    latency off its critical path."""
    x = st[k]
    for j in range(count):
        x += GAMMA  # an induction variable: no multiply to find draw j
        out[j] = to_double(mix64(x))
    st[k] = x


@njit(cache=True, error_model="numpy")
def poisson_from_uniform(u, lam, p0):
    """The Poisson(lam) count at u by inversion upward from 0, given p0 = e^{-lam}.

    For callers that tabulate e^{-lam}; cost ~ lam, so meant for lam below ~30."""
    pk = p0
    acc = pk
    j = 0
    while u >= acc and j < 10000:
        j += 1
        pk *= lam / j
        acc += pk
    return j


@njit(cache=True, error_model="numpy")
def _from_mode(u, mode, log_pmf_mode, n_max, lam, n, p, binom):
    """Inversion of a unimodal count law by walking outward from its mode: the mass is summed
    alternately above and below the mode until it exceeds u (an exact draw: inversion in the
    order mode, mode+1, mode-1, ...). ``binom``: Binomial(n, p), else Poisson(lam)."""
    pm = math.exp(log_pmf_mode)
    acc = pm
    if u < acc:
        return mode
    hi = mode
    lo = mode
    p_hi = pm
    p_lo = pm
    ratio = p / (1.0 - p) if binom else 0.0
    while True:
        grew = False
        if hi < n_max:
            if binom:
                p_hi *= (n - hi) / (hi + 1.0) * ratio
            else:
                p_hi *= lam / (hi + 1.0)
            hi += 1
            acc += p_hi
            grew = True
            if u < acc:
                return hi
        if lo > 0:
            if binom:
                p_lo *= lo / ((n - lo + 1.0) * ratio)
            else:
                p_lo *= lo / lam
            lo -= 1
            acc += p_lo
            grew = True
            if u < acc:
                return lo
        if not grew or (p_hi < 1e-300 and p_lo < 1e-300):
            # u lies in the rounding deficit of the summed mass (< 1e-12): the nearer tail end.
            return hi if p_hi >= p_lo else lo


@njit(cache=True, error_model="numpy")
def poisson_at(u, lam):
    """The exact Poisson(lam) count at the uniform u (inversion; ``poisson`` draws u)."""
    if lam <= 0.0:
        return 0
    if lam < _FROM_MODE:
        return poisson_from_uniform(u, lam, math.exp(-lam))
    mode = np.int64(math.floor(lam))
    log_pm = mode * math.log(lam) - lam - math.lgamma(mode + 1.0)
    return _from_mode(u, mode, log_pm, np.int64(1) << 62, lam, 0, 0.0, False)


@njit(cache=True, error_model="numpy")
def binomial_at(u, n, p):
    """The exact Binomial(n, p) count at the uniform u (inversion; ``binomial`` draws u)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5  # invert the law of the rarer outcome
    q = 1.0 - p if flip else p
    j = _binomial_low(u, n, q)
    return n - j if flip else j


@njit(cache=True, error_model="numpy")
def _binomial_low(u, n, p):
    """The Binomial(n, p) count at u, for p <= 1/2."""
    if n * p < _FROM_MODE:
        log_q = n * math.log1p(-p)
        if log_q > -700.0:
            pk = math.exp(log_q)
            acc = pk
            j = 0
            ratio = p / (1.0 - p)
            while u >= acc and j < n:
                pk *= (n - j) / (j + 1.0) * ratio
                j += 1
                acc += pk
            return j
    mode = np.int64(math.floor((n + 1) * p))
    if mode > n:
        mode = n
    log_pm = (math.lgamma(n + 1.0) - math.lgamma(mode + 1.0) - math.lgamma(n - mode + 1.0)
              + mode * math.log(p) + (n - mode) * math.log1p(-p))
    return _from_mode(u, mode, log_pm, n, 0.0, n, p, True)


# The samplers that take the generator state are inlined: a compiled call that receives an
# array costs a reference-count increment and decrement, several times the draw itself in a
# loop over neurons. The out-of-line work above takes scalars only.
@njit(cache=True, inline="always")
def poisson(st, k, lam):
    """An exact Poisson(lam) count from stream ``k`` (one uniform per draw)."""
    return poisson_at(uniform(st, k), lam)


@njit(cache=True, inline="always")
def binomial(st, k, n, p):
    """An exact Binomial(n, p) count from stream ``k`` (one uniform per draw)."""
    return binomial_at(uniform(st, k), n, p)


# --- binomial counts for many draws of small means --------------------------------------------
@njit(cache=True, inline="always")
def _power(x, n):
    """x**n for an integer n >= 0 by repeated squaring (about 2 log2 n products)."""
    r = 1.0
    while n:
        if n & 1:
            r *= x
        x *= x
        n >>= 1
    return r


@njit(cache=True, inline="always")
def binomial_small(st, k, n, p):
    """An exact Binomial(n, p) count from stream ``k`` (one uniform), for many draws whose
    smaller mean n·min(p, 1 − p) is mostly below 30 (the finite-size dsODE's transport).

    Inversion upward from zero in the rarer outcome, q = min(p, 1 − p), like :func:`binomial`,
    but with (1 − q)^n by repeated squaring instead of exp and log1p, and with u < 1 − n·q
    answered at once as no rarer outcome (P(0) >= 1 − n·q): a uniform maps to the same count as
    in :func:`binomial` except within rounding of the cumulative sums. Means n·q of 30 and more
    go to :func:`binomial_at`.
    """
    u = uniform(st, k)
    flip = p > 0.5  # invert the law of the rarer outcome
    q = 1.0 - p if flip else p
    if n <= 0 or q <= 0.0 or n * q >= _FROM_MODE:  # (p <= 0 or p >= 1 among them)
        return binomial_at(u, n, p)
    if u < 1.0 - n * q:
        return n if flip else 0
    ratio = q / (1.0 - q)
    pk = _power(1.0 - q, n)
    acc = pk
    j = 0
    while u >= acc and j < n:
        pk *= (n - j) / (j + 1.0) * ratio
        j += 1
        acc += pk
    return n - j if flip else j
