"""Compiled subset enumeration for the exact avalanche theory (spec avalanche.md §2.5, §2.6).

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


@njit(cache=True)
def _reach(start, mask, outmask):
    """Bitmask of the units of ``mask`` reachable from unit ``start`` inside ``mask``
    (breadth-first, one pass over the units per level)."""
    N = outmask.shape[0]
    seen = np.int64(1) << start
    frontier = seen
    while frontier != 0:
        nxt = np.int64(0)
        for k in range(N):
            if (frontier >> k) & 1:
                nxt |= outmask[k]
        nxt &= mask
        frontier = nxt & ~seen
        seen |= nxt
    return seen


@njit(cache=True)
def _has_root(mask, outmask, N):
    """True if some unit of ``mask`` reaches all of ``mask`` (mother-vertex search on bitmasks)."""
    seen = np.int64(0)
    last = -1
    for i in range(N):
        if (mask >> i) & 1 and not (seen >> i) & 1:
            seen |= _reach(i, mask, outmask)
            last = i
    return _reach(last, mask, outmask) == mask


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
def _size_block(W, p, log_z, symmetric, lo, hi, outmask, P):
    """Add the assemblies with bitmask in [lo, hi) to P (see :func:`size_kernel`)."""
    N = W.shape[0]
    idx, cmp, inJ, A, B = _buffers(N)
    for mm in range(lo, hi):
        mask = np.int64(mm)
        if not _has_root(mask, outmask, N):
            continue
        n, m = _fill(W, mask, N, idx, cmp, inJ)
        psum = 0.0
        for a in range(n):
            psum += p[idx[a]]
        if psum <= 0.0:
            continue
        if symmetric:
            # L_J without its first row and column; diagonal = in-weight from inside J
            for a in range(1, n):
                ja = idx[a]
                for b in range(1, n):
                    A[a - 1, b - 1] = -W[ja, idx[b]]
                A[a - 1, a - 1] += inJ[ja]
            lt, st = _logdet(A, n - 1)
            lt += math.log(psum)
        else:
            for a in range(n):
                ja = idx[a]
                for b in range(n):
                    A[a, b] = -W[ja, idx[b]]
                A[a, a] += inJ[ja]
                A[a, 0] += p[ja]
            lt, st = _logdet(A, n)
        if st <= 0.0:
            continue
        lm, sm = _logdet_complement(W, cmp, m, inJ, B)
        if sm <= 0.0:
            continue
        P[n] += math.exp(lt + lm - log_z)


#: The assemblies are split into this many blocks of bitmasks, whatever the number of threads,
#: and the blocks' sums are added in order: P does not depend on the thread count.
SIZE_BLOCKS = 64


@njit(cache=True, parallel=True)
def size_kernel(W, p, log_z, symmetric):
    """P(s) for s = 1..N: sum over assemblies J of sum_{i in J} p_i det(L_J^(i)) det(M_J) / Z.

    The root sum is one determinant: L_J has zero row sums, so adj(L_J) = 1 c^T with c_i the root
    cofactors, and det(L_J + p_J e_1^T) = sum_i p_i c_i (matrix determinant lemma). For symmetric
    W all cofactors are equal and one (n-1)-determinant times sum p_J suffices. Blocks of
    bitmasks run in parallel.
    """
    N = W.shape[0]
    outmask = out_masks(W)
    total = np.int64(1) << N
    nb = min(SIZE_BLOCKS, total - 1)
    parts = np.zeros((nb, N + 1))
    for b in prange(nb):
        lo = 1 + (total - 1) * b // nb
        hi = 1 + (total - 1) * (b + 1) // nb
        _size_block(W, p, log_z, symmetric, lo, hi, outmask, parts[b])
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
    """Unnormalised duration distribution: sum over generation patterns (spec §2.6).

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
