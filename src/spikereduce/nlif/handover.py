"""Hand-over between a Fokker–Planck density and a particle population.

Density -> particles by stratified quantiles of the piecewise-linear density; particles -> density
by a Gaussian-kernel estimate with an odd image about v_f, so that the absorbing condition p(v_f)=0
holds for the reconstructed density.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..errors import NumericalError, ParameterError
from ..params import check_int, check_positive, check_real

# Fine bins per macro cell for the binned kernel estimate: binning adds variance (h/_SUB)^2/12 to
# the kernel, which is negligible next to bw^2 >= 4 h^2.
_SUB = 4
# The sampled Gaussian kernel extends to this many widths (its tails beyond weigh < 6e-7).
_TRUNCATE = 5.0


def _grid_with_boundary(v: np.ndarray, p: np.ndarray, v_f: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and values with the Dirichlet node (v_f, 0) appended when the grid lacks it."""
    if v.ndim != 1 or p.shape != v.shape or v.size < 2:
        raise ParameterError("p", f"shape {p.shape}", f"a 1-D array matching v (shape {v.shape})")
    if not np.all(np.diff(v) > 0):
        raise ParameterError("v", "not increasing", "strictly increasing grid nodes")
    if not np.all(np.isfinite(p)):
        raise NumericalError("density handed to the particles is not finite")
    if v[-1] > v_f + 1e-12:
        raise ParameterError("v", float(v[-1]), f"nodes <= v_f = {v_f:g}")
    if math.isclose(v[-1], v_f, rel_tol=0.0, abs_tol=1e-12):
        p = p.copy()
        p[-1] = 0.0
        return v, p
    return np.append(v, v_f), np.append(p, 0.0)


def quantile_points(v: np.ndarray, p: np.ndarray, n: int, *, v_f: float) -> np.ndarray:
    """The ``n`` stratified quantiles F^{-1}((j - 1/2)/n), j = 1..n, in increasing order.

    ``p`` is the density at the nodes ``v`` (the macro grid, v_f appended with p = 0 if absent);
    F is the CDF of its piecewise-linear interpolant (negative values clipped), normalized to 1.
    Inside a cell the CDF is quadratic and is inverted exactly.
    """
    n = check_int("n", n, lo=1)
    v_f = check_real("v_f", v_f)
    x, y = _grid_with_boundary(np.asarray(v, float), np.asarray(p, float), v_f)
    y = np.maximum(y, 0.0)
    width = np.diff(x)
    mass = 0.5 * (y[:-1] + y[1:]) * width
    total = mass.sum()
    if not total > 0.0:
        raise NumericalError("density handed to the particles has no mass")
    cdf = np.concatenate(([0.0], np.cumsum(mass) / total))
    return _invert_cdf(x, y, cdf, total, n)


@njit(cache=True)
def _invert_cdf(x, y, cdf, total, n):
    """F^{-1}((j + 1/2) / n), j < n, for the piecewise-quadratic CDF ``cdf`` at the nodes ``x``
    of the piecewise-linear density ``y`` (un-normalized; ``total`` its mass). One merge pass:
    the levels increase, so the cell index only moves forward."""
    out = np.empty(n)
    n_cells = x.size - 1
    cell = 0
    for j in range(n):
        u = (j + 0.5) / n
        while cell + 1 <= n_cells and cdf[cell + 1] <= u:
            cell += 1
        c = min(cell, n_cells - 1)
        # Mass still needed inside the cell, in the un-normalized units of y.
        r = (u - cdf[c]) * total
        y0 = y[c]
        w = x[c + 1] - x[c]
        slope = (y[c + 1] - y0) / w
        # Root of y0 s + slope s^2 / 2 = r in the cancellation-free form 2r / (y0 + sqrt(.)).
        disc = math.sqrt(max(y0 * y0 + 2.0 * slope * r, 0.0))
        denom = y0 + disc
        s = 2.0 * r / denom if denom > 0.0 else 0.0
        out[j] = x[c] + min(max(s, 0.0), w)
    return out


def sample_particles(v: np.ndarray, p: np.ndarray, n: int, rng: np.random.Generator, *,
                     v_f: float) -> np.ndarray:
    """``n`` particle voltages drawn from the density ``p`` on nodes ``v``.

    Stratified quantiles (sampling error O(1/n) in every moment instead of O(n^-1/2)), put in a
    random order with ``rng`` so that no neuron index is tied to a voltage rank.
    """
    pts = quantile_points(v, p, n, v_f=v_f)
    return rng.permutation(pts)


def silverman_bandwidth(voltages: np.ndarray, h: float) -> float:
    """Kernel width max(2h, 1.06 sd(V) n^(-1/5)) (same units as V)."""
    h = check_positive("h", h)
    vv = np.asarray(voltages, float)
    return _silverman(float(np.std(vv)) if vv.size >= 2 else 0.0, vv.size, h)


def _silverman(sd: float, n: int, h: float) -> float:
    return 2.0 * h if n < 2 else max(2.0 * h, 1.06 * sd * n ** -0.2)


def reconstruct_density(voltages: np.ndarray, v: np.ndarray, *, v_f: float,
                        bw: float | None = None) -> np.ndarray:
    """Density on the uniform macro nodes ``v`` estimated from particle ``voltages``.

    Particles are binned on cells of width h/4 and smoothed with a Gaussian of width ``bw``
    (default: :func:`silverman_bandwidth`) minus its odd image about v_f, so p(v_f) = 0. The result
    is clipped at 0 and normalized to unit mass sum(h p) = 1 on the nodes. Particles below the
    first node are counted in the first cell (the macro domain is truncated there).
    """
    vv = np.ascontiguousarray(voltages, dtype=float)
    if vv.ndim != 1 or vv.size == 0:
        raise ParameterError("voltages", f"shape {vv.shape}", "a non-empty 1-D array")
    if bw is not None:
        bw = check_bandwidth(bw, float(v_f - np.min(v)))
    return KernelEstimator(v, v_f=v_f).density(vv, bw)


def check_bandwidth(bw: float, span: float) -> float:
    """A kernel width > 0 and no wider than the grid it smooths onto."""
    return check_real("bw", bw, lo=0.0, lo_open=True, hi=span)


class KernelEstimator:
    """The density reconstruction on the fixed nodes ``v`` (uniform, a whole number of cells below
    v_f), checked once and reused: the multi-scale solver calls :meth:`density` at every density
    snapshot of a micro phase. :func:`reconstruct_density` is the one-call form."""

    def __init__(self, v: np.ndarray, *, v_f: float):
        x = np.asarray(v, float)
        v_f = check_real("v_f", v_f)
        if x.ndim != 1 or x.size < 2:
            raise ParameterError("v", f"shape {x.shape}", "a 1-D grid of at least 2 nodes")
        h = float(x[1] - x[0])
        if h <= 0 or not np.allclose(np.diff(x), h, rtol=1e-9, atol=1e-12):
            raise ParameterError("v", "non-uniform grid", "uniformly spaced increasing nodes")
        if x[-1] > v_f + 1e-12:
            raise ParameterError("v", float(x[-1]), f"nodes <= v_f = {v_f:g}")
        fine = h / _SUB
        n_fine = int(round((v_f - x[0]) / fine))
        if n_fine < _SUB or abs(x[0] + n_fine * fine - v_f) > 1e-9 * max(1.0, abs(v_f)):
            raise ParameterError("v", float(x[0]), f"a grid of whole cells below v_f = {v_f:g}")
        self.h, self.fine, self.n_fine = h, fine, n_fine
        self.lo = v_f - n_fine * fine
        self.edge = np.rint((x - self.lo) / fine).astype(np.int64)
        self.at_vf = math.isclose(x[-1], v_f, rel_tol=0.0, abs_tol=1e-12)
        self._idx = np.empty(0, np.int32)  # bin of each particle, reused between calls

    def density(self, vv: np.ndarray, bw: float | None = None) -> np.ndarray:
        """Density at the nodes from the voltages ``vv`` (float64[n], n >= 1, contiguous) with
        kernel width ``bw`` (default max(2h, Silverman), computed in the same pass)."""
        if self._idx.size < vv.size:
            self._idx = np.empty(vv.size, np.int32)
        counts, finite, sd = _bin_particles(vv, self.lo, self.fine, self.n_fine, self._idx)
        if not finite:
            raise NumericalError("particle voltages are not finite")
        if bw is None:
            bw = _silverman(sd, vv.size, self.h)
        sigma = bw / self.fine
        radius = int(_TRUNCATE * sigma + 0.5)
        taps = np.exp(-0.5 / (sigma * sigma) * np.arange(-radius, radius + 1, dtype=float) ** 2)
        dens = _smooth_with_image(counts, taps / taps.sum(), self.edge, 1.0 / (vv.size * self.fine))
        if self.at_vf:
            dens[-1] = 0.0
        mass = self.h * dens.sum()
        if not mass > 0.0:
            raise NumericalError("reconstructed density has no mass on the macro grid")
        return dens / mass


@njit(cache=True, fastmath={"reassoc", "contract"})
def _bin_particles(vv, lo, fine, n_fine, idx):
    """(counts per fine bin [lo + i fine, lo + (i+1) fine), clipped into the n_fine bins; all
    finite?; standard deviation of vv). ``idx`` (int32, >= vv.size) is scratch."""
    top = n_fine - 1.0
    shift = vv[0]  # sums of squares about a nearby value: no cancellation
    s1 = s2 = 0.0
    for j in range(vv.size):  # vectorized (the moments' sums may be reassociated)
        x = vv[j]
        f = math.floor((x - lo) / fine)
        f = f if f > 0.0 else 0.0  # also NaN (reported through s2 below)
        idx[j] = np.int32(f if f < top else top)
        d = x - shift
        s1 += d
        s2 += d * d
    # Four interleaved histograms: particles piled in one bin (all at v_r after an MFE) would
    # otherwise make every increment wait for the previous one.
    part = np.zeros((4, n_fine))
    m4 = vv.size - vv.size % 4
    for j in range(0, m4, 4):
        part[0, idx[j]] += 1.0
        part[1, idx[j + 1]] += 1.0
        part[2, idx[j + 2]] += 1.0
        part[3, idx[j + 3]] += 1.0
    for j in range(m4, vv.size):
        part[0, idx[j]] += 1.0
    counts = np.empty(n_fine)
    for i in range(n_fine):
        counts[i] = (part[0, i] + part[1, i]) + (part[2, i] + part[3, i])
    n = vv.size
    mean = s1 / n
    var = max(s2 / n - mean * mean, 0.0)
    return counts, math.isfinite(s2), math.sqrt(var)


@njit(cache=True)
def _smooth_with_image(counts, taps, edge, scale):
    """Smooth the fine-bin counts, extended by their negated mirror image beyond the top edge,
    with the normalized ``taps`` (zero outside the extended range), times ``scale``; a node on
    bin edge e gets the mean of the smoothed bins e-1 and e, clipped at 0."""
    n_fine = counts.size
    n2 = 2 * n_fine
    ext = np.empty(n2)
    for i in range(n_fine):
        ext[i] = counts[i]
        ext[n2 - 1 - i] = -counts[i]
    radius = (taps.size - 1) // 2
    out = np.empty(edge.size)
    for k in range(edge.size):
        acc = 0.0
        for q in range(2):
            i = max(edge[k] - 1 + q, 0)
            a = max(0, i - radius)
            b = min(n2 - 1, i + radius)
            acc += _dot(taps[a - i + radius:b - i + radius + 1], ext[a:b + 1])
        out[k] = max(0.5 * scale * acc, 0.0)
    return out


@njit(cache=True, fastmath={"reassoc", "contract"}, inline="always")
def _dot(x, y):
    """Dot product; the sum may be reassociated (vectorized): it moves by rounding only."""
    s = 0.0
    for m in range(x.size):
        s += x[m] * y[m]
    return s
