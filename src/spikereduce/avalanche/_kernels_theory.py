"""Compiled subset enumeration for the exact avalanche theory.

Plain-array numba kernels: log-determinants by LU, reachability by bitmasks, the size
distribution summed over all 2^N - 1 assemblies, the start-resolved table, and the
generation-pattern dynamic programme behind the duration distribution.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _logdet(A, n):
    """log|det| and sign of the leading n x n block of A (overwritten), LU with partial pivoting.

    The pivots are multiplied and the product logged once (and whenever it leaves
    [1e-150, 1e150], so it never under- or overflows): one logarithm per matrix, not per row.
    """
    logabs = 0.0
    prod = 1.0
    for c in range(n):
        piv = c
        best = abs(A[c, c])
        for r in range(c + 1, n):
            v = abs(A[r, c])
            if v > best:
                best = v
                piv = r
        if best == 0.0:
            return -np.inf, 0.0
        if piv != c:
            for q in range(c, n):
                tmp = A[c, q]
                A[c, q] = A[piv, q]
                A[piv, q] = tmp
            prod = -prod
        d = A[c, c]
        prod *= d
        if not 1e-150 <= abs(prod) <= 1e150:
            logabs += math.log(abs(prod))
            prod = 1.0 if prod > 0.0 else -1.0
        for r in range(c + 1, n):
            f = A[r, c] / d
            if f != 0.0:
                for q in range(c + 1, n):
                    A[r, q] -= f * A[c, q]
    if n == 0:
        return 0.0, 1.0
    return logabs + math.log(abs(prod)), 1.0 if prod > 0.0 else -1.0


# Index of a 64-bit power of two: (bit * de Bruijn constant) >> 58 is unique per bit.
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN_INDEX = np.zeros(64, dtype=np.int64)
for _k in range(64):
    _DEBRUIJN_INDEX[((1 << _k) * 0x03F79D71B4CB0A89 % (1 << 64)) >> 58] = _k


@njit(cache=True)
def _reach(start, mask, outmask):
    """Bitmask of the units of ``mask`` reachable from unit ``start`` inside ``mask``
    (breadth-first; each level visits only the frontier's set bits, found by a de Bruijn
    multiplication)."""
    seen = np.int64(1) << start
    frontier = seen
    while frontier != 0:
        nxt = np.int64(0)
        f = frontier
        while f != 0:
            low = f & (-f)
            k = _DEBRUIJN_INDEX[np.uint64(np.uint64(low) * _DEBRUIJN) >> np.uint64(58)]
            nxt |= outmask[k]
            f ^= low
        nxt &= mask
        frontier = nxt & ~seen
        seen |= nxt
    return seen


@njit(cache=True)
def _root(mask, outmask, N):
    """A unit of ``mask`` that reaches all of ``mask`` (mother-vertex search on bitmasks), or -1.

    The first unit whose reach is all of ``mask`` is returned at once (in dense networks the
    first search usually is)."""
    seen = np.int64(0)
    last = -1
    for i in range(N):
        if (mask >> i) & 1 and not (seen >> i) & 1:
            r = _reach(i, mask, outmask)
            if r == mask:
                return i
            seen |= r
            last = i
    if _reach(last, mask, outmask) == mask:
        return last
    return -1


@njit(cache=True)
def out_masks(W):
    """outmask[k]: bitmask of units j != k with W[j, k] > 0 (edges k -> j)."""
    N = W.shape[0]
    out = np.zeros(N, dtype=np.int64)
    for k in range(N):
        for j in range(N):
            if j != k and W[j, k] > 0.0:
                out[k] |= np.int64(1) << j
    return out


@njit(cache=True)
def _buffers(N):
    """Work arrays: indices of J and of its complement, input from J, two matrices."""
    return (np.empty(N, dtype=np.int64), np.empty(N, dtype=np.int64), np.empty(N),
            np.empty((N, N)), np.empty((N, N)))


@njit(cache=True)
def _fill(W, mask, N, idx, cmp, inJ):
    n = 0
    m = 0
    for j in range(N):
        if (mask >> j) & 1:
            idx[n] = j
            n += 1
        else:
            cmp[m] = j
            m += 1
    for j in range(N):
        s = 0.0
        for a in range(n):
            s += W[j, idx[a]]
        inJ[j] = s
    return n, m


@njit(cache=True)
def _logdet_complement(W, cmp, m, inJ, B):
    """log det(M_J), M_J = diag(1 - sum_{k in J} W_jk) - W_{J^c J^c}."""
    for a in range(m):
        ja = cmp[a]
        for b in range(m):
            B[a, b] = -W[ja, cmp[b]]
        B[a, a] += 1.0 - inJ[ja]
    return _logdet(B, m)


@njit(cache=True)
def _pivot_product(A, n, prod, logacc):
    """prod * det of A's leading n x n block (overwritten) by elimination without pivoting.

    Only for matrices whose pivots are all positive: non-singular M-matrices and strictly
    diagonally dominant Z-matrices, where elimination needs no pivoting and is stable. Two
    pivots are eliminated per pass (a rank-two update of four rows at a time, which halves the
    loads and stores of the trailing block). The running product is logged into ``logacc``
    whenever it leaves [1e-150, 1e150]. Returns (prod, logacc), prod 0 if a pivot is not
    positive.
    """
    c = 0
    while c < n:
        d1 = A[c, c]
        prod *= d1
        if not 1e-150 <= prod <= 1e150:
            if prod <= 0.0:
                return 0.0, logacc
            logacc += math.log(prod)
            prod = 1.0
        if c + 1 == n:
            break
        inv1 = 1.0 / d1
        f = A[c + 1, c] * inv1
        for q in range(c + 1, n):
            A[c + 1, q] -= f * A[c, q]
        d2 = A[c + 1, c + 1]
        prod *= d2
        if not 1e-150 <= prod <= 1e150:
            if prod <= 0.0:
                return 0.0, logacc
            logacc += math.log(prod)
            prod = 1.0
        inv2 = 1.0 / d2
        u = A[c, c + 1]
        r = c + 2
        while r + 3 < n:
            f0 = A[r, c] * inv1
            f1 = A[r + 1, c] * inv1
            f2 = A[r + 2, c] * inv1
            f3 = A[r + 3, c] * inv1
            g0 = (A[r, c + 1] - f0 * u) * inv2
            g1 = (A[r + 1, c + 1] - f1 * u) * inv2
            g2 = (A[r + 2, c + 1] - f2 * u) * inv2
            g3 = (A[r + 3, c + 1] - f3 * u) * inv2
            for q in range(c + 2, n):
                x = A[c, q]
                y = A[c + 1, q]
                A[r, q] -= f0 * x + g0 * y
                A[r + 1, q] -= f1 * x + g1 * y
                A[r + 2, q] -= f2 * x + g2 * y
                A[r + 3, q] -= f3 * x + g3 * y
            r += 4
        while r < n:
            f0 = A[r, c] * inv1
            g0 = (A[r, c + 1] - f0 * u) * inv2
            for q in range(c + 2, n):
                A[r, q] -= f0 * A[c, q] + g0 * A[c + 1, q]
            r += 1
        c += 2
    return prod, logacc


#: Input sums from the low bits of an assembly's bitmask are tabulated (2^LOW_BITS x N).
LOW_BITS = 10


@njit(cache=True)
def _size_block(W, p, scale, log_z, symmetric, lo, hi, outmask, inlow, P):
    """Add the assemblies with bitmask in [lo, hi) to P (see :func:`size_kernel`)."""
    N = W.shape[0]
    nl = 0
    while (np.int64(1) << nl) < inlow.shape[0]:
        nl += 1
    lowmask = (np.int64(1) << nl) - 1
    idx, cmp, inJ, A, B = _buffers(N)
    inhigh = np.zeros(N)
    cur_high = np.int64(-1)
    for mm in range(lo, hi):
        mask = np.int64(mm)
        root = _root(mask, outmask, N)
        if root < 0:
            continue
        high = mask >> nl
        if high != cur_high:
            cur_high = high
            for j in range(N):
                s = 0.0
                for k in range(nl, N):
                    if (mask >> k) & 1:
                        s += W[j, k]
                inhigh[j] = s
        low = mask & lowmask
        for j in range(N):
            inJ[j] = inhigh[j] + inlow[low, j]
        # J with its root last, and the complement
        n = 0
        m = 0
        for j in range(N):
            if (mask >> j) & 1:
                if j != root:
                    idx[n] = j
                    n += 1
            else:
                cmp[m] = j
                m += 1
        idx[n] = root
        n += 1
        psum = 0.0
        for a in range(n):
            psum += p[idx[a]]
        if psum <= 0.0:
            continue
        # L_J without the root's row and column: a non-singular M-matrix, as the root
        # reaches all of J (its determinant is the root's cofactor)
        for a in range(n - 1):
            ja = idx[a]
            for b in range(n - 1):
                A[a, b] = -W[ja, idx[b]]
            A[a, a] += inJ[ja]
        if symmetric:
            prod, logacc = _pivot_product(A, n - 1, psum, 0.0)
        else:
            # det(L_J + p_J e_root^T) = det(L_J with the root's column replaced by p_J), as
            # det L_J = 0; the last pivot p_root - L_J[root, rest] L0^{-1} p_rest adds
            # non-negative terms only
            for a in range(n - 1):
                A[a, n - 1] = p[idx[a]]
            jr = idx[n - 1]
            for b in range(n - 1):
                A[n - 1, b] = -W[jr, idx[b]]
            A[n - 1, n - 1] = p[jr]
            prod, logacc = _pivot_product(A, n, 1.0, 0.0)
        if prod <= 0.0:
            continue
        # M_J: strictly diagonally dominant Z-matrix (every row sum of W is < 1)
        for a in range(m):
            ja = cmp[a]
            for b in range(m):
                B[a, b] = -W[ja, cmp[b]]
            B[a, a] += 1.0 - inJ[ja]
        prod, logacc = _pivot_product(B, m, prod, logacc)
        if prod <= 0.0:
            continue
        if logacc == 0.0 and scale > 0.0:
            P[n] += prod * scale
        else:
            P[n] += math.exp(logacc + math.log(prod) - log_z)


#: The assemblies are split into this many blocks of bitmasks, whatever the number of threads,
#: and the blocks' sums are added in order: P does not depend on the thread count.
SIZE_BLOCKS = 64


@njit(cache=True, parallel=True)
def size_kernel(W, p, log_z, symmetric):
    """P(s) for s = 1..N: sum over assemblies J of sum_{i in J} p_i det(L_J^(i)) det(M_J) / Z.

    The root sum is one determinant: L_J has zero row sums, so adj(L_J) = 1 c^T with c_i the root
    cofactors, and sum_i p_i c_i = det(L_J + p_J e_r^T) for any r (matrix determinant lemma),
    taken at a root r of J so that elimination needs no pivoting. For symmetric W all cofactors
    are equal and one (n-1)-determinant times sum p_J suffices. Both matrices are eliminated
    without pivoting (see :func:`_pivot_product`); input sums come from a table of the low bits
    plus the high bits summed once per run of equal high bits. Blocks of bitmasks run in
    parallel.
    """
    N = W.shape[0]
    outmask = out_masks(W)
    nl = min(N, LOW_BITS)
    inlow = np.zeros((np.int64(1) << nl, N))
    for low in range(1, np.int64(1) << nl):
        bit = low & (-low)
        k = 0
        while (np.int64(1) << k) != bit:
            k += 1
        for j in range(N):
            inlow[low, j] = inlow[low ^ bit, j] + W[j, k]
    scale = math.exp(-log_z)
    if not 1e-300 < scale < 1e300:
        scale = 0.0
    total = np.int64(1) << N
    nb = min(SIZE_BLOCKS, total - 1)
    parts = np.zeros((nb, N + 1))
    for b in prange(nb):
        lo = 1 + (total - 1) * b // nb
        hi = 1 + (total - 1) * (b + 1) // nb
        _size_block(W, p, scale, log_z, symmetric, lo, hi, outmask, inlow, parts[b])
    P = np.zeros(N + 1)
    for b in range(nb):
        for k in range(N + 1):
            P[k] += parts[b, k]
    return P[1:]


@njit(cache=True)
def table_kernel(W):
    """T[mask, i] = det(L_J^(i)) det(M_J) for every assembly J (bitmask) and start unit i in J."""
    N = W.shape[0]
    outmask = out_masks(W)
    idx, cmp, inJ, A, B = _buffers(N)
    T = np.zeros((np.int64(1) << N, N))
    for mm in range(1, np.int64(1) << N):
        mask = np.int64(mm)
        n, m = _fill(W, mask, N, idx, cmp, inJ)
        lm = -np.inf
        sm = 0.0
        for r in range(n):
            i = idx[r]
            if _reach(i, mask, outmask) != mask:
                continue
            if lm == -np.inf:
                lm, sm = _logdet_complement(W, cmp, m, inJ, B)
            a2 = 0
            for a in range(n):
                if a == r:
                    continue
                ja = idx[a]
                b2 = 0
                for b in range(n):
                    if b == r:
                        continue
                    A[a2, b2] = -W[ja, idx[b]]
                    b2 += 1
                A[a2, a2] += inJ[ja]
                a2 += 1
            lt, st = _logdet(A, n - 1)
            if st > 0.0:
                T[mask, i] = math.exp(lt + lm)
    return T


@njit(cache=True)
def complement_dets(W):
    """det(M_J) for every bitmask J (J = full set gives 1)."""
    N = W.shape[0]
    idx, cmp, inJ, _, B = _buffers(N)
    out = np.zeros(np.int64(1) << N)
    for mask in range(1, np.int64(1) << N):
        n, m = _fill(W, np.int64(mask), N, idx, cmp, inJ)
        lm, sm = _logdet_complement(W, cmp, m, inJ, B)
        out[mask] = sm * math.exp(lm)
    return out


@njit(cache=True)
def pattern_kernel(W, p, detM):
    """Unnormalised duration distribution: sum over generation patterns.

    f[J, G] carries sum of p_i prod_t prod_{j in G_t} (sum_{k in G_{t-1}} W_jk) over patterns with
    union J and last generation G; a pattern ends with weight det(M_J). Returns (durations,
    sizes x durations) arrays indexed from 0 (= 1 generation / 1 unit).
    """
    N = W.shape[0]
    full = (np.int64(1) << N) - 1
    nm = np.int64(1) << N
    # inw[j, G] = sum_{k in G} W[j, k]
    inw = np.zeros((N, nm))
    for G in range(1, nm):
        low = G & (-G)
        k = 0
        while (np.int64(1) << k) != low:
            k += 1
        rest = G ^ low
        for j in range(N):
            inw[j, G] = inw[j, rest] + W[j, k]
    f = np.zeros((nm, nm))
    for i in range(N):
        f[np.int64(1) << i, np.int64(1) << i] = p[i]
    joint = np.zeros((N, N))
    for d in range(N):
        g = np.zeros((nm, nm))
        alive = False
        for J in range(1, nm):
            nJ = 0
            for j in range(N):
                nJ += (J >> j) & 1
            for G in range(1, nm):
                v = f[J, G]
                if v == 0.0:
                    continue
                joint[nJ - 1, d] += v * detM[J]
                comp = full & ~J
                B = comp
                while B != 0:
                    w = v
                    bb = B
                    while bb != 0 and w != 0.0:
                        low = bb & (-bb)
                        k = 0
                        while (np.int64(1) << k) != low:
                            k += 1
                        w *= inw[k, G]
                        bb ^= low
                    if w != 0.0:
                        g[J | B, B] += w
                        alive = True
                    B = (B - 1) & comp
        if not alive:
            break
        f = g
    return joint
