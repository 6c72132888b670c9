"""Compiled enumeration of the exact avalanche theory of modular EHE networks.

The assemblies of a network of K homogeneous populations are summed by their composition
n = (n_1, ..., n_K), 0 <= n_k <= N_k, instead of by subset: Prod_k (N_k + 1) terms, each with
K + 1 determinants of at most K x K. Everything is in log space: log-binomials from a table, the
determinants by LU, and every sum an online log-sum-exp, so no term over- or underflows however
large the populations.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._kernels_theory import _logdet


@njit(cache=True, inline="always")
def _logdet_small(A, a):
    """log |det| of the leading a x a block of A (overwritten) and its sign; a = 0 gives (0, 1).

    Closed forms for a <= 2, the LU of the general theory above."""
    if a == 0:
        return 0.0, 1.0
    if a == 1:
        d = A[0, 0]
        if d == 0.0:
            return -np.inf, 0.0
        return math.log(abs(d)), 1.0 if d > 0.0 else -1.0
    if a == 2:
        d = A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]
        if d == 0.0:
            return -np.inf, 0.0
        return math.log(abs(d)), 1.0 if d > 0.0 else -1.0
    return _logdet(A, a)


@njit(cache=True, inline="always")
def _log_volume(W, counts, values, log_values, A, act):
    """log V(m; x) with V(m; x) = det(diag(x) - W diag(m)) Prod_k x_k^(m_k - 1), taken over the
    populations with m_k > 0 (the others contribute nothing), and its sign."""
    K = counts.shape[0]
    a = 0
    for k in range(K):
        if counts[k] > 0:
            act[a] = k
            a += 1
    if a == 0:
        return 0.0, 1.0
    tail = 0.0
    for r in range(a):
        k = act[r]
        for c in range(a):
            A[r, c] = -W[k, act[c]] * counts[act[c]]
        A[r, r] += values[k]
        if counts[k] > 1:
            if values[k] <= 0.0:
                return -np.inf, 0.0
            tail += (counts[k] - 1) * log_values[k]
    ld, sign = _logdet_small(A, a)
    return ld + tail, sign


@njit(cache=True, inline="always")
def _lu(A, a, perm):
    """LU-factorise the leading a x a block of A in place (partial pivoting, row order in
    ``perm``); returns log |det| and its sign (0 when singular). Unlike the general theory's
    ``_logdet``, which discards them in its hot loop, this keeps the factors for solves."""
    logabs = 0.0
    prod = 1.0
    for c in range(a):
        perm[c] = c
    for c in range(a):
        piv = c
        best = abs(A[c, c])
        for r in range(c + 1, a):
            v = abs(A[r, c])
            if v > best:
                best = v
                piv = r
        if best == 0.0:
            return -np.inf, 0.0
        if piv != c:
            for q in range(a):
                tmp = A[c, q]
                A[c, q] = A[piv, q]
                A[piv, q] = tmp
            t = perm[c]
            perm[c] = perm[piv]
            perm[piv] = t
            prod = -prod
        d = A[c, c]
        prod *= d
        if not 1e-150 <= abs(prod) <= 1e150:
            logabs += math.log(abs(prod))
            prod = 1.0 if prod > 0.0 else -1.0
        for r in range(c + 1, a):
            f = A[r, c] / d
            A[r, c] = f
            if f != 0.0:
                for q in range(c + 1, a):
                    A[r, q] -= f * A[c, q]
    return logabs + math.log(abs(prod)), 1.0 if prod > 0.0 else -1.0


@njit(cache=True, inline="always")
def _lu_solve_entry(A, a, perm, W, col, row, x):
    """Entry ``row`` of the solution of A x = W[:, col], A factorised by :func:`_lu` (its
    factors kept) (``x`` is scratch of length a)."""
    for r in range(a):
        v = W[perm[r], col]
        for q in range(r):
            v -= A[r, q] * x[q]
        x[r] = v
    for r in range(a - 1, -1, -1):
        v = x[r]
        for q in range(r + 1, a):
            v -= A[r, q] * x[q]
        x[r] = v / A[r, r]
    return x[row]


@njit(cache=True, inline="always")
def _accumulate(M, S, C, i, j, lv, n):
    """Add exp(lv) to the running sum exp(M[i, j]) S[i, j] (online log-sum-exp), and
    exp(lv) n to the composition sums exp(M[i, j]) C[i, j, :] on the same scale."""
    m = M[i, j]
    K = n.shape[0]
    if lv > m:
        scale = math.exp(m - lv)
        S[i, j] = S[i, j] * scale + 1.0
        for q in range(K):
            C[i, j, q] = C[i, j, q] * scale + n[q]
        M[i, j] = lv
    else:
        w = math.exp(lv - m)
        S[i, j] += w
        for q in range(K):
            C[i, j, q] += w * n[q]


@njit(cache=True, inline="always")
def _add_pair(M, S, C, i, j, m2, s2, c2):
    """Merge the accumulator (m2, s2, c2) into (M[i, j], S[i, j], C[i, j])."""
    if s2 == 0.0:
        return
    m = M[i, j]
    K = c2.shape[0]
    if m2 > m:
        scale = math.exp(m - m2)
        S[i, j] = S[i, j] * scale + s2
        for q in range(K):
            C[i, j, q] = C[i, j, q] * scale + c2[q]
        M[i, j] = m2
    else:
        w = math.exp(m2 - m)
        S[i, j] += s2 * w
        for q in range(K):
            C[i, j, q] += c2[q] * w


@njit(cache=True)
def _block(lo, hi, sizes, W, log_p_unit, log_binom, log_int, strides, starts_ok, M, S, C, J,
           want_joint):
    """Accumulate the compositions with n_1 in [lo, hi) (see :func:`modular_kernel`)."""
    K = sizes.shape[0]
    n = np.zeros(K, dtype=np.int64)
    rest = np.empty(K, dtype=np.int64)
    U = np.empty(K)
    logU = np.empty(K)
    V = np.empty(K)
    logV = np.empty(K)
    A = np.empty((K, K))
    B = np.empty((K, K))
    act = np.empty(K, dtype=np.int64)
    perm = np.empty(K, dtype=np.int64)
    x = np.empty(K)
    n[0] = lo
    first = True
    while True:
        if first:
            first = False
        else:
            # odometer over n, the last population fastest (row-major flat index)
            k = K - 1
            while k > 0 and n[k] == sizes[k]:
                n[k] = 0
                k -= 1
            n[k] += 1
            if k == 0 and n[0] >= hi:
                break
        m = 0
        flat = 0
        mask = 0
        for q in range(K):
            m += n[q]
            rest[q] = sizes[q] - n[q]
            flat += n[q] * strides[q]
            if n[q] > 0:
                mask |= 1 << q
        ok = starts_ok[mask]  # 0 for the empty composition too
        if ok == 0:
            continue  # no start population reaches every population of n: volume 0
        for q in range(K):
            u = 0.0
            for r in range(K):
                u += W[q, r] * n[r]
            U[q] = u
            V[q] = 1.0 - u
            logU[q] = math.log(u) if u > 0.0 else -np.inf
            logV[q] = math.log(V[q])
        base = 0.0
        for q in range(K):
            base += log_binom[q, n[q]]
        # V(N - n; 1 - U) over all K populations: 1 - U_k > 0 always, and an absent population
        # contributes (1 - U_k) to the determinant and (1 - U_k)^-1 to the product.
        # (For K <= 2 the closed forms over the present populations are cheaper.)
        if K <= 2:
            lo_, so = _log_volume(W, rest, V, logV, A, act)
        else:
            lo_ = 0.0
            for r in range(K):
                for c in range(K):
                    A[r, c] = -W[r, c] * rest[c]
                A[r, r] += V[r]
                lo_ += (rest[r] - 1) * logV[r]
            ld, so = _logdet(A, K)
            lo_ += ld
        if so <= 0.0:
            continue
        base += lo_
        # V(n - e_s; U) for every s from one factorisation of diag(U) - W diag(n) when every
        # U_k > 0: diag(U) - W diag(n - e_s) is a rank-one update of it, so its determinant is
        # det(A) (1 + [A^-1 W e_s]_s) (matrix determinant lemma).
        fast = K > 2
        tail = 0.0
        for q in range(K):
            if not U[q] > 0.0:
                fast = False
            tail += (n[q] - 1) * logU[q]
        if fast:
            for r in range(K):
                for c in range(K):
                    A[r, c] = -W[r, c] * n[c]
                A[r, r] += U[r]
            l1, s1 = _lu(A, K, perm)
            fast = s1 != 0.0
        for s in range(K):
            if not (ok >> s) & 1 or log_p_unit[s] == -np.inf:
                continue
            if fast:
                f = 1.0 + _lu_solve_entry(A, K, perm, W, s, s, x)
                if not f > 0.0 if s1 > 0.0 else not f < 0.0:
                    continue
                li = l1 + math.log(abs(f)) + tail - logU[s]
            else:
                n[s] -= 1
                li, si = _log_volume(W, n, U, logU, B, act)
                n[s] += 1
                if si <= 0.0:
                    continue
            lv = base + log_p_unit[s] + log_int[n[s]] + li
            _accumulate(M, S, C, s, m, lv, n)
            if want_joint:
                J[s, flat] = lv


#: Compositions are split into this many blocks of n_1 values, whatever the number of threads,
#: and the blocks are merged in order: the result does not depend on the thread count.
N_BLOCKS = 32


@njit(cache=True, parallel=True)
def modular_kernel(sizes, W, log_p_unit, log_binom, log_int, starts_ok, want_joint):
    """Sum the assembly volumes of a modular network over all compositions n != 0.

    ``sizes`` (int64[K]), ``W`` (K x K, W[k, l] the weight onto a unit of k from a unit of l),
    ``log_p_unit[s]`` the log drive probability of one unit of population s (-inf: not driven),
    ``log_binom[k, n]`` = log C(N_k, n), ``log_int[n]`` = log n, ``starts_ok[mask]`` the
    populations (bitmask) from which every population of ``mask`` can be reached. Returns
    (M, S, C, J): per start population s and size m, log-sum-exp pairs M[s, m], S[s, m] of
    vol(s, n) = Prod_k C(N_k, n_k) p_s n_s V(n - e_s; W n) V(N - n; 1 - W n), with the sums of
    vol n_k on the same scale in C[s, m, k] (the composition); and with ``want_joint`` the log
    volumes J[s, flat(n)] (row-major over n, -inf where zero).
    """
    K = sizes.shape[0]
    total = 0
    n_terms = 1
    for k in range(K):
        total += sizes[k]
        n_terms *= sizes[k] + 1
    strides = np.ones(K, dtype=np.int64)
    for k in range(K - 2, -1, -1):
        strides[k] = strides[k + 1] * (sizes[k + 1] + 1)
    nb = min(N_BLOCKS, sizes[0] + 1)
    Mb = np.full((nb, K, total + 1), -np.inf)
    Sb = np.zeros((nb, K, total + 1))
    Cb = np.zeros((nb, K, total + 1, K))
    J = np.full((K, n_terms if want_joint else 1), -np.inf)
    for b in prange(nb):
        lo = (sizes[0] + 1) * b // nb
        hi = (sizes[0] + 1) * (b + 1) // nb
        _block(lo, hi, sizes, W, log_p_unit, log_binom, log_int, strides, starts_ok, Mb[b],
               Sb[b], Cb[b], J, want_joint)
    M = np.full((K, total + 1), -np.inf)
    S = np.zeros((K, total + 1))
    C = np.zeros((K, total + 1, K))
    for b in range(nb):
        for s in range(K):
            for m in range(total + 1):
                _add_pair(M, S, C, s, m, Mb[b, s, m], Sb[b, s, m], Cb[b, s, m])
    return M, S, C, J
