"""Compiled event simulation of the EHE avalanche network.

Plain-array numba kernels: synchronous-generation cascades on dense W^T rows or on sparse
out-neighbour lists (CSR of W^T), the drive loop, relaxation onto the phase space D, the
burning test, and the two exact i.i.d. samplers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..rng.generators import randint, uniform

# status codes returned by the kernels
OK = 0
REFIRED = 1  # a unit fired twice in one avalanche: the drive or weights violate A1/A2
TOO_MANY_STEPS = 2  # the drive-step budget ran out before the requested avalanches


@njit(cache=True)
def _generations(dense, WT, indptr, indices, data, u, cur, ncur, nxt, stamp, buf, limit,
                 fired):
    """Run a cascade whose first generation ``cur[:ncur]`` is at or above threshold.

    Each generation is reset (u -= 1) before its spikes are delivered all at once; the units at
    or above threshold afterwards form the next generation. Spikes go to ``buf`` in firing order.
    Returns (size, duration); size = -1 if more than ``limit`` spikes occurred or, when
    ``fired`` has N + 1 entries (its last one counts avalanches), if a unit fires twice.
    """
    N = u.shape[0]
    size = 0
    dur = 0
    check = fired.shape[0] == N + 1
    if check:
        fired[N] += 1
        aid = fired[N]
    while ncur > 0:
        dur += 1
        if size + ncur > limit:
            return -1, dur
        for a in range(ncur):
            k = cur[a]
            if check:
                if fired[k] == aid:
                    return -1, dur
                fired[k] = aid
            u[k] -= 1.0
            if size < buf.shape[0]:
                buf[size] = k
            size += 1
        nn = 0
        if dense:
            for a in range(ncur):
                row = WT[cur[a]]
                for j in range(N):
                    u[j] += row[j]
            for j in range(N):
                if u[j] >= 1.0:
                    nxt[nn] = j
                    nn += 1
        else:
            # stamp[j] == g marks j as already examined in this generation; stamp[N] counts
            # generations over the whole run so stamps never need clearing
            stamp[N] += 1
            g = stamp[N]
            for a in range(ncur):
                k = cur[a]
                for q in range(indptr[k], indptr[k + 1]):
                    u[indices[q]] += data[q]
            for a in range(ncur):
                k = cur[a]
                for q in range(indptr[k], indptr[k + 1]):
                    j = indices[q]
                    if stamp[j] != g and u[j] >= 1.0:
                        stamp[j] = g
                        nxt[nn] = j
                        nn += 1
            # index order, as on the dense path: same firing order, same summation order, so both
            # paths give bitwise identical results
            nxt[:nn].sort()
        for a in range(nn):
            cur[a] = nxt[a]
        ncur = nn
    return size, dur


@njit(cache=True)
def relax(dense, WT, indptr, indices, data, u, limit=np.int64(1) << 62):
    """Fire every unit at or above threshold until none is left (the relaxation step), in place.

    Unlike an avalanche, relaxing (I - W)x + W1 can fire a unit many times (tens of times on a
    torus near alpha = 1); it terminates because every firing dissipates 1 - d_j > 0, but the
    number of firings grows like 1 / (1 - d_j). Returns the number of spikes, or -1 once more
    than ``limit`` spikes occurred (``u`` is then left part-relaxed).
    """
    N = u.shape[0]
    cur = np.empty(N, dtype=np.int64)
    nxt = np.empty(N, dtype=np.int64)
    stamp = np.full(N + 1, -1, dtype=np.int64)
    buf = np.empty(1, dtype=np.int64)
    ncur = 0
    for j in range(N):
        if u[j] >= 1.0:
            cur[ncur] = j
            ncur += 1
    no_check = np.zeros(1, dtype=np.int64)
    size, dur = _generations(dense, WT, indptr, indices, data, u, cur, ncur, nxt, stamp, buf,
                             limit, no_check)
    return size


@njit(cache=True)
def _append(units, used, buf, size):
    """Append ``buf[:size]`` to the growing spike record ``units[:used]``."""
    if used + size > units.shape[0]:
        grown = np.empty(max(2 * units.shape[0], used + size), dtype=np.int32)
        grown[:used] = units[:used]
        units = grown
    for q in range(size):
        units[used + q] = buf[q]
    return units, used + size


@njit(cache=True)
def _draw(cum, rng):
    """A unit drawn from the cumulative distribution ``cum`` (inversion)."""
    i = np.searchsorted(cum, uniform(rng, 0), side="right")
    return min(i, cum.shape[0] - 1)


@njit(cache=True)
def simulate_kernel(dense, WT, indptr, indices, data, u, cum_p, uniform_p, delta, random_amp,
                    n_av, rng, record, max_steps=np.int64(1) << 62):
    """Drive one unit per step until ``n_av`` avalanches have occurred.

    ``rng`` is the generator position (uint64[1], advanced in place: chunks continue it).
    Returns sizes, durations, start units, the spikes of all avalanches in firing order (if
    ``record``), the number of drive steps and a status code (``TOO_MANY_STEPS`` after
    ``max_steps`` drive steps).
    """
    N = u.shape[0]
    sizes = np.empty(n_av, dtype=np.int32)
    durs = np.empty(n_av, dtype=np.int32)
    starts = np.empty(n_av, dtype=np.int32)
    cap = max(16, 4 * n_av) if record else 1
    units = np.empty(cap, dtype=np.int32)
    used = 0
    cur = np.empty(N, dtype=np.int64)
    nxt = np.empty(N, dtype=np.int64)
    stamp = np.full(N + 1, -1, dtype=np.int64)
    fired = np.full(N + 1, -1, dtype=np.int64)
    buf = np.empty(N, dtype=np.int64)
    steps = np.int64(0)
    a = 0
    while a < n_av:
        steps += 1
        if steps > max_steps:
            return sizes[:a], durs[:a], starts[:a], units[:used], steps - 1, TOO_MANY_STEPS
        if uniform_p:
            i = randint(rng, 0, N)
        else:
            i = _draw(cum_p, rng)
        if random_amp:
            u[i] += delta * uniform(rng, 0)
        else:
            u[i] += delta
        if u[i] < 1.0:
            continue
        cur[0] = i
        size, dur = _generations(dense, WT, indptr, indices, data, u, cur, 1, nxt, stamp, buf,
                                 N, fired)
        if size < 0:
            return sizes[:a], durs[:a], starts[:a], units[:used], steps, REFIRED
        sizes[a] = size
        durs[a] = dur
        starts[a] = i
        if record:
            units, used = _append(units, used, buf, size)
        a += 1
    return sizes, durs, starts, units[:used], steps, OK


@njit(cache=True)
def drive_sequence(WT, u, drive_units, amplitudes):
    """Dense simulation along a given drive sequence; returns the state after every step and
    the avalanche size of every step (0 when nothing fired). Used to check the torus map."""
    T = drive_units.shape[0]
    N = u.shape[0]
    states = np.empty((T, N))
    sizes = np.zeros(T, dtype=np.int64)
    cur = np.empty(N, dtype=np.int64)
    nxt = np.empty(N, dtype=np.int64)
    stamp = np.full(N + 1, -1, dtype=np.int64)
    fired = np.full(N + 1, -1, dtype=np.int64)
    buf = np.empty(N, dtype=np.int64)
    dummy_i = np.zeros(1, dtype=np.int64)
    dummy_f = np.zeros(1)
    for t in range(T):
        i = drive_units[t]
        u[i] += amplitudes[t]
        if u[i] >= 1.0:
            cur[0] = i
            size, dur = _generations(True, WT, dummy_i, dummy_i, dummy_f, u, cur, 1, nxt, stamp,
                                     buf, N, fired)
            sizes[t] = size
        states[t] = u
    return states, sizes


@njit(cache=True)
def burning_test(W, u, skip=-1):
    """True iff u lies in the inhabited region D of the network without unit ``skip``.

    Start from S = all units and delete any j with u_j >= sum_{k in S} W_jk; u is in D iff S
    empties. inS is kept up to date so the whole test is O(N^2).
    """
    N = W.shape[0]
    inS = np.zeros(N)
    alive = np.ones(N, dtype=np.bool_)
    if skip >= 0:
        alive[skip] = False
    for j in range(N):
        s = 0.0
        for k in range(N):
            if alive[k]:
                s += W[j, k]
        inS[j] = s
    n_alive = N - (1 if skip >= 0 else 0)
    changed = True
    while changed and n_alive > 0:
        changed = False
        for j in range(N):
            if alive[j] and u[j] >= inS[j]:
                alive[j] = False
                n_alive -= 1
                changed = True
                for r in range(N):
                    inS[r] -= W[r, j]
    return n_alive == 0


TORUS = 0
REJECTION = 1


@njit(cache=True)
def sampler_kernel(W, WT, cum, delta, random_amp, n_av, rng, method):
    """Exact i.i.d. avalanches.

    ``TORUS``: x ~ U[0,1)^N, u = Relax((I - W)x + W1), then one drive step with unit ~ ``cum``;
    trials that trigger nothing are discarded. ``REJECTION``: start i ~ ``cum`` (built from
    p_i det((I-W)_{-i,-i})), u_{-i} uniform until it passes the burning test of the network
    without i, u_i = 1. Returns sizes, durations, starts, spikes in firing order, the number of
    trials (state draws) and a status code. ``rng``: the generator position (uint64[1]).
    """
    N = W.shape[0]
    sizes = np.empty(n_av, dtype=np.int32)
    durs = np.empty(n_av, dtype=np.int32)
    starts = np.empty(n_av, dtype=np.int32)
    units = np.empty(n_av * 4 + 16, dtype=np.int32)
    used = 0
    cur = np.empty(N, dtype=np.int64)
    nxt = np.empty(N, dtype=np.int64)
    stamp = np.full(N + 1, -1, dtype=np.int64)
    fired = np.full(N + 1, -1, dtype=np.int64)
    buf = np.empty(N, dtype=np.int64)
    dummy_i = np.zeros(1, dtype=np.int64)
    dummy_f = np.zeros(1)
    x = np.empty(N)
    u = np.empty(N)
    trials = np.int64(0)
    a = 0
    while a < n_av:
        trials += 1
        if method == TORUS:
            for j in range(N):
                x[j] = uniform(rng, 0)
            ncur = 0
            for j in range(N):
                s = x[j]
                for k in range(N):
                    s += W[j, k] * (1.0 - x[k])
                u[j] = s
                if s >= 1.0:
                    cur[ncur] = j
                    ncur += 1
            _generations(True, WT, dummy_i, dummy_i, dummy_f, u, cur, ncur, nxt, stamp, buf,
                         np.int64(1) << 62, dummy_i)
            i = _draw(cum, rng)
            u[i] += delta * uniform(rng, 0) if random_amp else delta
            if u[i] < 1.0:
                continue
        else:
            i = _draw(cum, rng)
            while True:
                for j in range(N):
                    u[j] = uniform(rng, 0)
                u[i] = 0.0
                if burning_test(W, u, i):
                    break
                trials += 1
            u[i] = 1.0
        cur[0] = i
        size, dur = _generations(True, WT, dummy_i, dummy_i, dummy_f, u, cur, 1, nxt, stamp, buf,
                                 N, fired)
        if size < 0:
            return sizes[:a], durs[:a], starts[:a], units[:used], trials, REFIRED
        sizes[a] = size
        durs[a] = dur
        starts[a] = i
        units, used = _append(units, used, buf, size)
        a += 1
    return sizes, durs, starts, units[:used], trials, OK
