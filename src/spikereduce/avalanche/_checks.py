"""Admissibility checks of the avalanche family: weights (A1), drive distribution p, delta (A2).

W >= 0 with every row sum d_i < 1, 0 < delta <= 1 - max_i d_i, p a
probability vector over the N units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from ..params import check_real

# The exact subset enumeration costs O(2^N N^3) (N = 26: about 40 s on two cores);
# beyond this N use closed forms, the modular theory or simulation.
MAX_EXACT_N = 26
# The start-resolved assembly table stores N 2^N numbers.
MAX_TABLE_N = 16
# Generation-pattern (duration) enumeration stores 2^N x 2^N partial sums.
MAX_PATTERN_N = 10


def as_weights(W: Any, *, allow_sparse: bool = True) -> np.ndarray | sp.csr_array:
    """Validate (A1) and return W as a float64 dense array or a CSR sparse array.

    Raises ParameterError naming ``W`` for a non-square, non-finite or negative matrix, or a
    row sum >= 1 (with the offending row and its sum).
    """
    if sp.issparse(W):
        if not allow_sparse:
            W = W.toarray()
        else:
            W = sp.csr_array(W, dtype=np.float64)
            W.sum_duplicates()
    if not sp.issparse(W):
        try:
            W = np.array(W, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError("W", type(W).__name__, "a square array of numbers") from None
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
        raise ParameterError("W", f"shape {W.shape}", "a square N x N matrix with N >= 1")
    data = W.data if sp.issparse(W) else W
    if not np.all(np.isfinite(data)):
        raise ParameterError("W", "non-finite entries", "finite")
    if np.any(data < 0):
        if sp.issparse(W):
            coo = W.tocoo()
            k = int(np.argmin(coo.data))
            i, j, v = int(coo.row[k]), int(coo.col[k]), float(coo.data[k])
        else:
            i, j = np.unravel_index(int(np.argmin(W)), W.shape)
            v = float(W[i, j])
        raise ParameterError("W", f"W[{i},{j}] = {v:g}",
                             "non-negative (W_ij >= 0: excitatory coupling)")
    d = row_sums(W)
    if np.any(d >= 1.0):
        i = int(np.argmax(d))
        raise ParameterError("W", f"row {i} sums to {d[i]:.6g}",
                             "a matrix whose every row sum is < 1 (every unit dissipates)")
    return W


def row_sums(W: np.ndarray | sp.csr_array) -> np.ndarray:
    return np.asarray(W.sum(axis=1)).ravel().astype(np.float64)


def as_distribution(p: Any, n: int) -> np.ndarray:
    """The drive distribution: None means uniform; otherwise a length-N probability vector."""
    if p is None:
        return np.full(n, 1.0 / n)
    try:
        arr = np.array(p, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ParameterError("p", p, "a probability vector of length N") from None
    if arr.size != n:
        raise ParameterError("p", f"length {arr.size}", f"a probability vector of length {n}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ParameterError("p", arr.tolist() if n <= 8 else "negative or non-finite entries",
                             "non-negative and finite")
    if abs(arr.sum() - 1.0) > 1e-9:
        raise ParameterError("p", f"sum {arr.sum():.12g}", "a distribution summing to 1")
    return arr / arr.sum()


def as_delta(delta: Any, W: np.ndarray | sp.csr_array) -> float:
    """Drive amplitude (the upper end of the support if random): 0 < delta <= 1 - max d_i (A2)."""
    bound = 1.0 - float(row_sums(W).max())
    if delta is None:
        return bound
    x = check_real("delta", delta, lo=0.0, lo_open=True)
    if x > bound * (1 + 1e-12):
        raise ParameterError("delta", x, f"<= 1 - max row sum = {bound:.6g} ("
                             "larger amplitudes make units fire twice)")
    return min(x, bound)


def check_exact_size(n: int, limit: int = MAX_EXACT_N, what: str = "the exact method") -> None:
    if n > limit:
        raise ParameterError("W", f"N = {n}", f"N <= {limit} for {what} (O(2^N) enumeration); "
                             "use a closed form or simulate()")


def dense(W: np.ndarray | sp.csr_array, *, limit: int = 4000) -> np.ndarray:
    if sp.issparse(W):
        if W.shape[0] > limit:
            raise ParameterError("W", f"N = {W.shape[0]}", f"N <= {limit} for a dense computation")
        return W.toarray()
    return W
