"""Compiled time loops of the nlif family on plain arrays: the particle step and the FP step.

Particle step (Euler–Maruyama, Brownian-bridge crossings, same-step cascade fixed
point). Fokker–Planck step (flux shift, Scharfetter–Gummel implicit step, Thomas solve).
Both kernels take their whole state as arguments and leave it in those arrays, so a caller (the
public solvers, the multi-scale solver) can stop after any step and continue bitwise identically.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from ..rng.generators import FAST, GAMMA, normal_pair, uniform

# Bridge crossing probabilities exp(-arg) with arg above this are below 2^-53, the resolution of
# the uniform draw, so they are skipped without changing the distribution measurably (and without
# spending a draw on the far-from-threshold majority of neurons).
_BRIDGE_ARG_MAX = 40.0
# Cascade fixed point: this many linear recounts of the candidates before switching to a
# histogram of the spikes each candidate needs (the usual step converges in 1-3 recounts; a large
# MFE needs many iterations).
_LINEAR_ITERATIONS = 4
# Candidates for a step's cascade are the neurons that would fire if the step's k* were at most
# K = max(_CAND_MIN, _CAND_FACTOR * previous k*), i.e. those above v_f - b K / N, instead of all
# neurons above v_f - b. In the usual step that set is a handful of neurons near threshold; a
# step whose fixed point goes beyond K (the onset of a multiple firing event) rescans all
# neurons once, so k* is exact either way.
_CAND_MIN = 64
_CAND_FACTOR = 4


# Neurons are processed in fixed blocks, each with its own random streams, so the result depends
# only on the seed and n, never on how many threads share the blocks (serial and parallel kernels
# give identical output).
BLOCK = 8192
# Pairs of neurons per flag count in the first pass of _em_block.
CHUNK = 256
_N_FLAGS = 2 * ((BLOCK // 2 + CHUNK - 1) // CHUNK)


def n_blocks(n: int) -> int:
    return (n + BLOCK - 1) // BLOCK


@njit(cache=True, **FAST)
def _em_block(blk, v, kick, states, drive, dt, sq, inv_adt, v_f, bridge, cand_thr, cand_idx,
              cand_v, m_blk, k0_blk, vold, flags, nflag):
    """Euler–Maruyama + bridge for one block; candidates go to the block's own segment.

    With h = ceil(size / 2), neurons lo + j and lo + h + j take the two normals of pair j of
    the block's main stream (see _rng); bridge uniforms come from the aux stream in index order.

    Two passes. The first has no branch, so LLVM vectorizes it: every neuron's normal and
    Euler–Maruyama step, its voltage before the step kept in ``vold``, and a flag for the few
    that need more (a bridge test, a crossing or a cascade candidate; ~0.3 % of them in a
    typical step), with a count per CHUNK pairs. The second visits the flagged neurons in index
    order, skipping unflagged chunks and unflagged runs of eight. Scratch: ``vold`` (BLOCK),
    ``flags`` (uint8[2, BLOCK // 2 + 8], one row per half), ``nflag`` (2 * n_chunks).
    """
    lo = blk * BLOCK
    size = min(BLOCK, v.size - lo)
    h = (size + 1) // 2
    n_chunks = (h + CHUNK - 1) // CHUNK
    st = states[blk]
    pos = st[0]
    # Bridge draws are skipped where exp(-arg) < 2^-53 (arg >= _BRIDGE_ARG_MAX); -1: no bridge.
    arg_max = _BRIDGE_ARG_MAX if bridge else -1.0
    for c in range(n_chunks):
        # Views per chunk: indices from 0, which LLVM can prove non-negative (no wraparound
        # handling in the loop), so the loop vectorizes.
        j0 = c * CHUNK
        j1 = max(j0, min(j0 + CHUNK, size - h))
        va = v[lo + j0:lo + j1]
        vb = v[lo + h + j0:lo + h + j1]
        oa = vold[j0:j1]
        ob = vold[h + j0:h + j1]
        fla = flags[0, j0:j1]
        flb = flags[1, j0:j1]
        fa = 0
        fb = 0
        for k in range(j1 - j0):
            x, y = normal_pair(pos, j0 + k)
            a = va[k] + kick
            b = vb[k] + kick
            ta = a + (drive - a) * dt + sq * x
            tb = b + (drive - b) * dt + sq * y
            oa[k] = a
            ob[k] = b
            va[k] = ta
            vb[k] = tb
            ga = (ta >= cand_thr) | ((v_f - a) * (v_f - ta) * inv_adt < arg_max)
            gb = (tb >= cand_thr) | ((v_f - b) * (v_f - tb) * inv_adt < arg_max)
            fla[k] = ga
            flb[k] = gb
            fa += np.int64(ga)
            fb += np.int64(gb)
        nflag[c] = fa
        nflag[n_chunks + c] = fb
    if size % 2:  # the last neuron of the first half has no partner: the pair's first normal
        j = h - 1
        a = v[lo + j] + kick
        ta = a + (drive - a) * dt + sq * normal_pair(pos, j)[0]
        vold[j] = a
        v[lo + j] = ta
        g = (ta >= cand_thr) | ((v_f - a) * (v_f - ta) * inv_adt < arg_max)
        flags[0, j] = g
        nflag[j // CHUNK] += np.int64(g)
    st[0] = pos + np.uint64(2 * h) * GAMMA
    m = lo
    k0 = 0
    for half in range(2):
        fl = flags[half]
        words = fl.view(np.uint64)  # eight flags at a time
        top = h if half == 0 else size - h
        for c in range(n_chunks):
            if nflag[half * n_chunks + c] == 0:
                continue
            j1 = min((c + 1) * CHUNK, top)
            for w in range(c * CHUNK // 8, (j1 + 7) // 8):
                word = words[w]
                # Set bytes in increasing order (flags are 0 or 1; bytes at or beyond j1 may
                # hold another block's flags): the lowest set bit's byte is the next neuron.
                while word != 0:
                    byte = np.int64(trailing_zeros(word)) >> 3
                    j = 8 * w + byte
                    if j >= j1:
                        break
                    word &= ~(np.uint64(0xFF) << np.uint64(8 * byte))
                    o = j + half * h
                    vi = vold[o]
                    vt = v[lo + o]
                    if vt >= v_f:
                        k0 += 1
                    elif bridge:
                        arg = (v_f - vi) * (v_f - vt) * inv_adt
                        if arg < _BRIDGE_ARG_MAX:
                            u = uniform(st, 1)
                            # exp(-arg) <= 1 / (1 + arg + arg^2/2 + arg^3/6) (a Taylor
                            # truncation of e^arg with a positive remainder): u above that
                            # bound, loosened by 1e-9 against round-off, rules the crossing
                            # out without the exp.
                            poly = 1.0 + arg * (1.0 + arg * (0.5 + arg * (1.0 / 6.0)))
                            if u * poly < 1.0 + 1e-9 and u < math.exp(-arg):
                                vt = v_f  # crossed inside the step: fires like a primary spike
                                k0 += 1
                                v[lo + o] = vt
                    if vt >= cand_thr:
                        cand_idx[m] = lo + o
                        cand_v[m] = vt
                        m += 1
    m_blk[blk] = m - lo
    k0_blk[blk] = k0


@njit(cache=True, parallel=True)
def _em_parallel(v, kick, states, drive, dt, sq, inv_adt, v_f, bridge, cand_thr, cand_idx,
                 cand_v, m_blk, k0_blk, vold, flags, nflag):
    for blk in prange(states.shape[0]):
        _em_block(blk, v, kick, states, drive, dt, sq, inv_adt, v_f, bridge, cand_thr,
                  cand_idx, cand_v, m_blk, k0_blk, vold[blk], flags[blk], nflag[blk])


def work_arrays(n, parallel):
    """Scratch of the particle kernels for n neurons: candidate indices and voltages, per-block
    candidate and primary counts, and _em_block's voltages before the step, flags and chunk flag
    counts (one set per block when the blocks run on threads, else one)."""
    nb = n_blocks(n)
    nw = nb if parallel else 1
    return (np.empty(n, np.int64), np.empty(n), np.zeros(nb, np.int64), np.zeros(nb, np.int64),
            np.empty((nw, BLOCK)), np.zeros((nw, 2, BLOCK // 2 + 8), np.uint8),
            np.zeros((nw, _N_FLAGS), np.int64))


@njit(cache=True, inline="always")
def _candidate_bound(resolve, k_prev, b, n, v_f):
    """(K, v_f - (b/N) K) for a step after one whose cascade fired k_prev: the candidates kept
    are those above that threshold (see _CAND_MIN); without cascades only v_f matters."""
    if not resolve:
        return n, v_f
    k_max = max(_CAND_MIN, _CAND_FACTOR * k_prev)
    return k_max, v_f - (b / n) * min(k_max, n)  # the fixed point's own rounding


@njit(cache=True)
def _finish_step(v, step, b, v_f, v_r, resolve, integral_reset, cand_idx, cand_v, m_blk,
                 k0_blk, counts, primary, n_record, rec_idx, rec_step, rec_n, step0, k_max):
    """Cascade fixed point, reset and spike recording of one step; returns the step's kick.

    The blocks' candidates are the neurons above v_f - b k_max / N (all above v_f - b when
    k_max >= N); ``v`` holds every neuron's new voltage before the kick.
    """
    n = v.size
    # Gather the blocks' candidate segments into one prefix (blocks in order: index order).
    m = 0
    k0 = 0
    for blk in range(m_blk.size):
        k0 += k0_blk[blk]
        lo = blk * BLOCK
        for j in range(m_blk[blk]):
            cand_idx[m] = cand_idx[lo + j]
            cand_v[m] = cand_v[lo + j]
            m += 1
    k = k0
    if resolve and k0 > 0:
        k = _cascade_fixed_point(cand_v, m, k0, b / n, v_f, k_max)
        if k < 0:
            # the cascade outgrew the candidates: gather every neuron above v_f - b and go on
            # from the count reached (counts only grow towards the least fixed point)
            m = 0
            floor = min(v_f - b, v_f - (b / n) * n)
            for i in range(n):
                if v[i] >= floor:
                    cand_idx[m] = i
                    cand_v[m] = v[i]
                    m += 1
            k = _cascade_fixed_point(cand_v, m, -k, b / n, v_f, n)
    counts[step] = k
    primary[step] = k0
    thr = v_f - (b / n) * k if resolve else v_f  # the fixed point's (and cand_thr's) rounding
    kick = b * k / n
    if k > 0:
        for j in range(m):
            if cand_v[j] >= thr:
                i = cand_idx[j]
                if integral_reset:
                    v[i] = cand_v[j] - (v_f - v_r)
                else:
                    v[i] = v_r - kick  # the pending kick brings it to v_r exactly
                if i < n_record:
                    if rec_n[0] < rec_idx.size:
                        rec_idx[rec_n[0]] = i
                        rec_step[rec_n[0]] = step0 + step
                        rec_n[0] += 1
                    else:
                        rec_n[1] = 1
    return kick


@njit(cache=True)
def particle_steps(v, states, currents, dt, a, b, v_f, v_r, cascade, bridge, integral_reset,
                   counts, primary, n_record, rec_idx, rec_step, rec_n, step0, k_prev, cand_idx,
                   cand_v, m_blk, k0_blk, vold, flags, nflag):
    """Advance the voltages ``v`` (float64[n], in place) by ``currents.size`` steps of dt.

    states    uint64[n_blocks(n), 2]: the SplitMix64 positions (main, aux) of each block of BLOCK
              neurons, advanced in place (continue a run by passing them on).
    currents  float64[k]: the input of each step (see params.step_currents).
    counts    int64[k] out: k*, neurons fired in each step (cascade included).
    primary   int64[k] out: k0, neurons that crossed by themselves (before the cascade).
    n_record  neurons with index < n_record have their spikes written to rec_idx / rec_step
              (global step = step0 + j) while the buffers last; rec_n int64[2] holds the number
              written and an overflow flag.
    cascade   resolve same-step cascades; False: kicks act one step late.
    bridge    Brownian-bridge crossing correction.
    integral_reset  a fired neuron lands at V + b k*/N - (v_f - v_r) instead of exactly v_r.
    k_prev    k* of the step before the first (0 at the start of a run): it sizes the first
              step's cascade candidates (see _CAND_MIN), so a run split into many calls scans
              no more than one call would. Any value gives the same result, only the cost differs.
    cand_idx .. nflag  scratch from :func:`work_arrays` (kept by the caller: a run split into
              many calls allocates, and page-faults, it once).

    The common kick b k*/N of a step is applied lazily at the start of the next step's pass over
    the neurons (fired neurons are stored kick-compensated), so each step reads and writes ``v``
    once; it is materialized before returning.
    """
    n = v.size
    sq = math.sqrt(2.0 * a * dt)
    inv_adt = 1.0 / (a * dt)
    resolve = cascade and b > 0.0
    nb = states.shape[0]
    kick = 0.0
    for step in range(currents.size):
        k_max, cand_thr = _candidate_bound(resolve, k_prev, b, n, v_f)
        for blk in range(nb):
            _em_block(blk, v, kick, states, currents[step], dt, sq, inv_adt, v_f, bridge,
                      cand_thr, cand_idx, cand_v, m_blk, k0_blk, vold[0], flags[0],
                      nflag[0])
        kick = _finish_step(v, step, b, v_f, v_r, resolve, integral_reset, cand_idx, cand_v,
                            m_blk, k0_blk, counts, primary, n_record, rec_idx, rec_step, rec_n,
                            step0, k_max)
        k_prev = counts[step]
    if kick != 0.0:
        for i in range(n):
            v[i] += kick


@njit(cache=True)
def particle_steps_parallel(v, states, currents, dt, a, b, v_f, v_r, cascade, bridge,
                            integral_reset, counts, primary, n_record, rec_idx, rec_step, rec_n,
                            step0, k_prev, cand_idx, cand_v, m_blk, k0_blk, vold, flags, nflag):
    """:func:`particle_steps` with each step's blocks on numba's threads: bitwise the same."""
    n = v.size
    sq = math.sqrt(2.0 * a * dt)
    inv_adt = 1.0 / (a * dt)
    resolve = cascade and b > 0.0
    kick = 0.0
    for step in range(currents.size):
        k_max, cand_thr = _candidate_bound(resolve, k_prev, b, n, v_f)
        _em_parallel(v, kick, states, currents[step], dt, sq, inv_adt, v_f, bridge, cand_thr,
                     cand_idx, cand_v, m_blk, k0_blk, vold, flags, nflag)
        kick = _finish_step(v, step, b, v_f, v_r, resolve, integral_reset, cand_idx, cand_v,
                            m_blk, k0_blk, counts, primary, n_record, rec_idx, rec_step, rec_n,
                            step0, k_max)
        k_prev = counts[step]
    if kick != 0.0:
        for i in range(n):
            v[i] += kick


@njit(cache=True)
def _cascade_fixed_point(cand_v, m, k0, kick_per_spike, v_f, k_max=1 << 62):
    """k* = the fixed point of k -> #{candidates with V >= v_f - (b/N) k}, starting from k0.

    The candidates must hold every voltage above v_f - (b/N) k_max. If an iterate k exceeds
    k_max (its threshold is below what the candidates cover) the count is returned negated,
    -k, for the caller to widen the candidates and continue from k.
    """
    k = k0
    for _ in range(_LINEAR_ITERATIONS):
        if k > k_max:
            return -k
        thr = v_f - kick_per_spike * k
        cnt = 0
        for j in range(m):
            if cand_v[j] >= thr:
                cnt += 1
        if cnt == k:
            return k
        k = cnt
    if k > k_max:
        return -k
    # A long cascade (a multiple firing event). Each candidate fires once the count reaches
    # need_j = min{k : V_j >= v_f - (b/N) k}; with a histogram of need_j the count at any k is a
    # prefix sum, so the remaining iterations cost O(1) each, after O(m + K) set-up.
    cap = min(k_max, m)
    cum = np.zeros(cap + 1, np.int64)
    for j in range(m):
        need = _spikes_needed(cand_v[j], kick_per_spike, v_f, cap)
        if need <= cap:
            cum[need] += 1
    for i in range(1, cap + 1):
        cum[i] += cum[i - 1]
    while True:
        if k > cap:
            return -k  # k <= m always, so here k > k_max
        cnt = cum[k]
        if cnt == k:
            return k
        k = cnt


@njit(cache=True, inline="always")
def _spikes_needed(v, kick_per_spike, v_f, cap):
    """Least k >= 0 with v >= v_f - kick_per_spike * k, in that exact floating-point expression
    (the one every recount uses), or cap + 1 if it exceeds cap."""
    x = (v_f - v) / kick_per_spike
    if not x <= cap:  # also NaN-safe
        k = cap + 1
    elif x <= 0.0:
        k = 0
    else:
        k = int(math.ceil(x))
    # the estimate can be off by one either way in the last bit: settle it on the test itself
    while k > 0 and v >= v_f - kick_per_spike * (k - 1):
        k -= 1
    while k <= cap and not v >= v_f - kick_per_spike * k:
        k += 1
    return k


# Taylor coefficients of B(z) = z / (e^z - 1) = 1 - z/2 + sum_k B_2k z^2k / (2k)! (Bernoulli
# numbers B_2k) in powers of z^2, up to z^14: for |z| <= 1/2 the omitted z^16 term is < 1e-17.
_B2 = 1.0 / 12.0
_B4 = -1.0 / 720.0
_B6 = 1.0 / 30240.0
_B8 = -1.0 / 1209600.0
_B10 = 1.0 / 47900160.0
_B12 = -691.0 / 1307674368000.0
_B14 = 1.0 / 74724249600.0


@njit(cache=True, inline="always", error_model="numpy")
def _bernoulli_coefficients(z_grid, ez_grid, dz, edz, bp, bm):
    """B(z) and B(-z) at every interface, z = z_grid + dz (``edz`` = e^dz)."""
    n = z_grid.size + 1
    # z is monotone in v, so its extremes are at the two ends of the grid. When |z| <= 1/2
    # everywhere (the usual case) a branch-free polynomial loop that LLVM vectorizes.
    if abs(z_grid[0] + dz) <= 0.5 and abs(z_grid[n - 2] + dz) <= 0.5:
        for j in range(n - 1):
            z = z_grid[j] + dz
            w = z * z
            even = 1.0 + w * (_B2 + w * (_B4 + w * (_B6 + w * (_B8 + w * (_B10 + w * (
                _B12 + w * _B14))))))
            bp[j] = even - 0.5 * z
            bm[j] = even + 0.5 * z
    else:
        for j in range(n - 1):
            bp[j], bm[j] = _bernoulli_pair(z_grid[j] + dz, ez_grid[j] * edz)


@njit(cache=True, inline="always", error_model="numpy")
def fp_step(p, rate, current, tau, h, a, b, k_r, z_grid, ez_grid, bp, bm, cp, dp):
    """One step of :func:`fp_steps` (input ``current`` over the step); returns N^{m+1}."""
    n = p.size
    lam = tau * a / (h * h)
    mid = n // 2
    shift = tau * rate / h
    dz = h * (b * rate + current) / a
    edz = math.exp(dz)
    _bernoulli_coefficients(z_grid, ez_grid, dz, edz, bp, bm)
    # Row i: -lam bm[i-1] p_{i-1} + (1 + lam (bm[i] + bp[i-1])) p_i - lam bp[i] p_{i+1} = q_i
    # (terms of the interfaces beyond v_min and v_f absent: zero flux there); q = p after
    # the explicit flux shift.
    last = n - 1
    p[last] -= shift
    p[k_r] += shift
    # The recurrences carry their last values in registers (c1, d1, c2, d2, x1, x2): read
    # back from cp/dp/p they would wait for the store of the previous row on every row.
    diag = 1.0 + lam * bm[0]
    c1 = -lam * bp[0] / diag
    d1 = p[0] / diag
    cp[0] = c1
    dp[0] = d1
    diag = 1.0 + lam * bp[last - 1]
    c2 = -lam * bm[last - 1] / diag  # bottom sweep: multiplier of p_{i-1}
    d2 = p[last] / diag
    cp[last] = c2
    dp[last] = d2
    # Top sweep: rows 1..mid; bottom sweep: rows last-1 down to mid+1, in lockstep.
    for j in range(1, mid + 1):
        i = j
        low = -lam * bm[i - 1]
        inv = 1.0 / (1.0 + lam * (bm[i] + bp[i - 1]) - low * c1)
        c1 = -lam * bp[i] * inv
        d1 = (p[i] - low * d1) * inv
        cp[i] = c1
        dp[i] = d1
        k = last - j
        if k > mid:
            up = -lam * bp[k]
            inv = 1.0 / (1.0 + lam * (bm[k] + bp[k - 1]) - up * c2)
            c2 = -lam * bm[k - 1] * inv
            d2 = (p[k] - up * d2) * inv
            cp[k] = c2
            dp[k] = d2
    # p_mid = dp[mid] - cp[mid] p_{mid+1} and p_{mid+1} = dp[mid+1] - cp[mid+1] p_mid.
    x1 = (dp[mid] - cp[mid] * dp[mid + 1]) / (1.0 - cp[mid] * cp[mid + 1])
    x2 = dp[mid + 1] - cp[mid + 1] * x1
    p[mid] = x1
    p[mid + 1] = x2
    for j in range(1, max(mid + 1, n - mid - 1)):
        i = mid - j
        if i >= 0:
            x1 = dp[i] - cp[i] * x1
            p[i] = x1
        k = mid + 1 + j
        if k < n:
            x2 = dp[k] - cp[k] * x2
            p[k] = x2
    return a * p[last] / h


@njit(cache=True, error_model="numpy")  # a 0 divisor gives inf/NaN, which stops the run
def fp_steps(p, rate, currents, tau, h, a, b, k_r, z_grid, ez_grid, rate_cap, rates_out,
             bp, bm, cp, dp, snaps, snap_every):
    """Advance the density ``p`` (float64[n], in place) by up to ``currents.size`` steps of tau.

    Semi-implicit Scharfetter–Gummel scheme on nodes v_i = v_min + i h, i < n, with
    p_n = p(v_f) = 0: the firing flux tau N^m / h moves explicitly from cell n-1 to cell k_r, then
    (I - tau/h D) p^{m+1} = q with Bernoulli fluxes and zero flux at both ends; N^{m+1} =
    a p_{n-1} / h. ``rate`` is N^m of the incoming state, ``currents`` the input of each step.
    ``z_grid``/``ez_grid`` (length n-1) are z and exp(z) of the drift -v at the interfaces
    v_i + h/2, precomputed once; a step only adds the uniform shift h (b N + I) / a.

    Writes N^{m+1} to rates_out[m] and returns the number of steps done: fewer than requested
    when N became non-finite or exceeded ``rate_cap`` (that step's value is written).
    ``bp``/``bm`` (length n-1) and ``cp``/``dp`` (length n) are scratch. With ``snap_every`` > 0
    the density before step m is copied to ``snaps[m // snap_every]`` whenever m is a multiple of
    it (``snaps`` needs ceil(steps / snap_every) rows); 0 records nothing.

    The tridiagonal solve eliminates from both ends towards the middle ("burn at both ends"):
    two independent dependency chains that the CPU overlaps, which halves the latency-bound
    Thomas sweep. It is stable because every row is diagonally dominant with margin 1 - tau
    (the rows of the drift-diffusion operator sum to -tau). Measured for n = 600 on the project
    machine: the solve takes 2.4 us with the recurrences carried in registers (3.1 us reading
    each row's predecessor back from the arrays), the Bernoulli coefficients 0.2 us; a
    division-free determinant recurrence was slower (3.2 us), and a per-step
    scipy.linalg.solve_banded call takes ~50 us (its Python overhead dominates at this size;
    benchmarks/nlif.py measures it in-run).
    """
    for m in range(currents.size):
        if snap_every > 0 and m % snap_every == 0:
            snaps[m // snap_every, :] = p
        rate = fp_step(p, rate, currents[m], tau, h, a, b, k_r, z_grid, ez_grid, bp, bm, cp, dp)
        rates_out[m] = rate
        if not (rate <= rate_cap):  # also catches NaN
            return m + 1
    return currents.size


@njit(cache=True, inline="always", error_model="numpy")
def _bernoulli_pair(z, ez):
    """(B(z), B(-z)) with B(z) = z / (e^z - 1) and B(-z) = B(z) + z; ``ez`` = e^z.

    |z| <= 1/2 (every interface when h |drift| / a is small, the usual case): a polynomial, with
    no division and no cancellation near z = 0. Otherwise the closed form, each value computed on
    the side where it has no cancellation.
    """
    if abs(z) <= 0.5:
        w = z * z
        even = 1.0 + w * (_B2 + w * (_B4 + w * (_B6 + w * (_B8 + w * (_B10 + w * (
            _B12 + w * _B14))))))
        return even - 0.5 * z, even + 0.5 * z
    if not (1e-280 < ez < 1e280):
        ez = math.exp(z)
    if z > 0.0:
        bz = z / (ez - 1.0)
        return bz, bz + z
    bmz = -z / (1.0 / ez - 1.0)
    return bmz - z, bmz


# ---- time-dilated solver: the classical stage on the dilated clock ---------------------------

TD_DONE = 0  # reached t_end
TD_SWITCH = 1  # the flux criterion holds: a multiple firing event starts
TD_FULL = 2  # the output buffer is full
TD_NONFINITE = 3  # the rate became non-finite


@njit(cache=True, inline="always")
def step_current(kind, c, t, dt):
    """The input averaged over [t, t + dt) (as ``step_currents``): kind 0 constant c[0]; 1 a
    pulse (amplitude c[0] on [c[1], c[2]), offset c[3]); 2 a sine (amplitude c[0], period c[1],
    offset c[2])."""
    if kind == 1:
        overlap = min(t + dt, c[2]) - max(t, c[1])
        if overlap < 0.0:
            overlap = 0.0
        return c[3] + c[0] * overlap / dt
    if kind == 2:
        w = 2.0 * math.pi / c[1]
        x = 0.5 * w * dt
        return c[2] + c[0] * math.sin(w * (t + 0.5 * dt)) * (math.sin(x) / x if x > 0 else 1.0)
    return c[0]


@njit(cache=True)
def grid_mass_above(p, x, v_min, h):
    """Mass on (x, v_f] of the piecewise-linear density through (v_min + i h, p_i), i < n, and
    (v_f, 0); zero below v_min."""
    n = p.size
    if x < v_min:
        x = v_min
    pos = (x - v_min) / h
    i = int(math.floor(pos))
    if i >= n:
        return 0.0
    frac = pos - i
    nxt = p[i + 1] if i + 1 < n else 0.0
    total = 0.5 * (1.0 - frac) * h * (p[i] + frac * (nxt - p[i]) + nxt)
    for j in range(i + 1, n):
        total += 0.5 * h * (p[j] + (p[j + 1] if j + 1 < n else 0.0))
    return total


@njit(cache=True, inline="always")
def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@njit(cache=True)
def packet_mass_above(pk, n_pk, x, v_f, a):
    """Mass on (x, v_f] of the Gaussian packets (weight, mean, age) pk[:n_pk]."""
    total = 0.0
    for k in range(n_pk):
        w, m, age = pk[k, 0], pk[k, 1], pk[k, 2]
        s = math.sqrt(a * -math.expm1(-2.0 * age))
        if s > 0.0:
            total += w * (_phi((v_f - m) / s) - _phi((x - m) / s))
        elif x < m <= v_f:
            total += w
    return total


@njit(cache=True)
def project_packet(p, w, m, s, v_min, h):
    """Add a packet of mass w, N(m, s^2), to the grid as cell masses / h (the cell of node i is
    [v_i - h/2, v_i + h/2); the first reaches down to -inf, the last up to v_f)."""
    n = p.size
    v_f = v_min + n * h
    lo = 0.0
    for i in range(n):
        edge = v_f if i == n - 1 else v_min + (i + 0.5) * h
        hi = _phi((edge - m) / s)
        p[i] += w * (hi - lo) / h
        lo = hi


@njit(cache=True, inline="always", error_model="numpy")
def fp_step_implicit_flux(p, rate, current, tau, h, a, b, k_r, z_grid, ez_grid, bp, bm, cp, dp,
                          ep):
    """One step of the scheme of :func:`fp_step` with the firing flux taken implicitly: the
    mass tau a p_{n-1}^{m+1} / h^2 (in density units) moves from cell n-1 to cell k_r inside the
    implicit solve. The matrix stays an M-matrix, so the density stays non-negative for any
    step (the explicit shift needs tau a <= h^2). A rank-one update of the drift-diffusion
    matrix, solved by Sherman–Morrison: two right-hand sides in one Thomas sweep."""
    n = p.size
    last = n - 1
    lam = tau * a / (h * h)
    c = lam  # tau a / h^2: the implicit shift per unit of p_{n-1}
    dz = h * (b * rate + current) / a
    edz = math.exp(dz)
    _bernoulli_coefficients(z_grid, ez_grid, dz, edz, bp, bm)
    # forward sweep for A x = p and A y = u, u = c (e_last - e_kr)
    prev_c = 0.0
    prev_d = 0.0
    prev_e = 0.0
    for i in range(n):
        low = -lam * bm[i - 1] if i > 0 else 0.0
        diag = 1.0 + lam * ((bm[i] if i < last else 0.0) + (bp[i - 1] if i > 0 else 0.0))
        sup = -lam * bp[i] if i < last else 0.0
        inv = 1.0 / (diag - low * prev_c)
        u = (c if i == last else 0.0) - (c if i == k_r else 0.0)
        prev_c = sup * inv
        prev_d = (p[i] - low * prev_d) * inv
        prev_e = (u - low * prev_e) * inv
        cp[i] = prev_c
        dp[i] = prev_d
        ep[i] = prev_e
    x = dp[last]
    y = ep[last]
    x_last = x
    y_last = y
    p[last] = x
    ep[last] = y
    for i in range(last - 1, -1, -1):
        x = dp[i] - cp[i] * x
        y = ep[i] - cp[i] * y
        p[i] = x
        ep[i] = y
    scale = x_last / (1.0 + y_last)
    for i in range(n):
        p[i] -= ep[i] * scale
    return a * p[last] / h


@njit(cache=True)
def td_steps(p, rate, t, t_end, M, tau, dtau, dt_max, h, a, b, v_min, k_r, z_grid, ez_grid,
             cur_kind, cur_c, window, pk, n_pk, proj_age, out, force_step, implicit, bp, bm, cp,
             dp, ep):
    """Classical stage of the time-dilated solver: steps of dt = min(dt_max, dtau / (1 + N)),
    each one step of the scheme of :func:`fp_steps`, until t_end, until the flux criterion
    mass(v_f - window, v_f] >= window / b holds (b > 0), or until ``out`` is full.

    Gaussian packets pk[:n_pk] (weight, mean, age) follow dm = (-m + b N + I) dt and are projected
    onto the grid once older than ``proj_age``. Each step writes (t, tau = t + M, N, M) to a row of
    ``out``. Returns (status, N, t, M, tau, n_pk, rows).
    """
    n = p.size
    v_f = v_min + n * h
    rows = 0
    while True:
        if t >= t_end:
            return TD_DONE, rate, t, M, tau, n_pk, rows
        if rows >= out.shape[0]:
            return TD_FULL, rate, t, M, tau, n_pk, rows
        if b > 0.0 and not force_step:
            x = v_f - window
            nu = grid_mass_above(p, x, v_min, h)
            if n_pk > 0:
                nu += packet_mass_above(pk, n_pk, x, v_f, a)
            if nu >= window / b:
                return TD_SWITCH, rate, t, M, tau, n_pk, rows
        force_step = False
        dt = min(dt_max, dtau / (1.0 + rate))
        if t + dt > t_end:
            dt = t_end - t
        current = step_current(cur_kind, cur_c, t, dt)
        if implicit:
            # the spikes of the step are those the implicit flux moves: dt N^{m+1}
            new_rate = fp_step_implicit_flux(p, rate, current, dt, h, a, b, k_r, z_grid,
                                             ez_grid, bp, bm, cp, dp, ep)
            M += new_rate * dt
        else:
            new_rate = fp_step(p, rate, current, dt, h, a, b, k_r, z_grid, ez_grid, bp, bm, cp,
                               dp)
            M += rate * dt
        k = 0
        while k < n_pk:
            pk[k, 1] += dt * (-pk[k, 1] + b * rate + current)
            pk[k, 2] += dt
            if pk[k, 2] >= proj_age:
                s = math.sqrt(a * -math.expm1(-2.0 * pk[k, 2]))
                project_packet(p, pk[k, 0], pk[k, 1], s, v_min, h)
                n_pk -= 1
                pk[k, 0] = pk[n_pk, 0]
                pk[k, 1] = pk[n_pk, 1]
                pk[k, 2] = pk[n_pk, 2]
                new_rate = a * p[n - 1] / h
            else:
                k += 1
        t += dt
        tau = t + M  # the dilated clock, d tau = (1 + N) dt, kept exact
        rate = new_rate
        out[rows, 0] = t
        out[rows, 1] = tau
        out[rows, 2] = rate
        out[rows, 3] = M
        rows += 1
        if not math.isfinite(rate):
            return TD_NONFINITE, rate, t, M, tau, n_pk, rows
