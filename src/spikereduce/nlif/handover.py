"""Hand-over between a Fokker–Planck density and a particle population (nlif spec §3.3–3.4).

Density -> particles by stratified quantiles of the piecewise-linear density; particles -> density
by a Gaussian-kernel estimate with an odd image about v_f, so that the absorbing condition p(v_f)=0
holds for the reconstructed density.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import NumericalError, ParameterError
from ..params import check_int, check_positive, check_real

# Fine bins per macro cell for the binned kernel estimate: binning adds variance (h/_SUB)^2/12 to
# the kernel, which is negligible next to bw^2 >= 4 h^2.
_SUB = 4


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
    u = (np.arange(n) + 0.5) / n
    cell = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, mass.size - 1)
    # Mass still needed inside the cell, in the un-normalized units of y.
    r = (u - cdf[cell]) * total
    y0, y1, w = y[cell], y[cell + 1], width[cell]
    slope = (y1 - y0) / w
    # Root of y0 s + slope s^2 / 2 = r written in the cancellation-free form 2r / (y0 + sqrt(.)).
    disc = np.sqrt(np.maximum(y0 * y0 + 2.0 * slope * r, 0.0))
    denom = y0 + disc
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > 0.0, 2.0 * r / denom, 0.0)
    return x[cell] + np.clip(s, 0.0, w)


def sample_particles(v: np.ndarray, p: np.ndarray, n: int, rng: np.random.Generator, *,
                     v_f: float) -> np.ndarray:
    """``n`` particle voltages drawn from the density ``p`` on nodes ``v`` (spec §3.3).

    Stratified quantiles (sampling error O(1/n) in every moment instead of O(n^-1/2)), put in a
    random order with ``rng`` so that no neuron index is tied to a voltage rank.
    """
    pts = quantile_points(v, p, n, v_f=v_f)
    return rng.permutation(pts)


def silverman_bandwidth(voltages: np.ndarray, h: float) -> float:
    """Kernel width max(2h, 1.06 sd(V) n^(-1/5)) of spec §3.2 (same units as V)."""
    h = check_positive("h", h)
    vv = np.asarray(voltages, float)
    if vv.size < 2:
        return 2.0 * h
    return max(2.0 * h, 1.06 * float(np.std(vv)) * vv.size ** -0.2)


def reconstruct_density(voltages: np.ndarray, v: np.ndarray, *, v_f: float,
                        bw: float | None = None) -> np.ndarray:
    """Density on the uniform macro nodes ``v`` estimated from particle ``voltages`` (spec §3.4).

    Particles are binned on cells of width h/4 and smoothed with a Gaussian of width ``bw``
    (default: :func:`silverman_bandwidth`) minus its odd image about v_f, so p(v_f) = 0. The result
    is clipped at 0 and normalized to unit mass sum(h p) = 1 on the nodes. Particles below the
    first node are counted in the first cell (the macro domain is truncated there).
    """
    vv = np.asarray(voltages, float)
    x = np.asarray(v, float)
    v_f = check_real("v_f", v_f)
    if vv.ndim != 1 or vv.size == 0:
        raise ParameterError("voltages", f"shape {vv.shape}", "a non-empty 1-D array")
    if not np.all(np.isfinite(vv)):
        raise NumericalError("particle voltages are not finite")
    if x.ndim != 1 or x.size < 2:
        raise ParameterError("v", f"shape {x.shape}", "a 1-D grid of at least 2 nodes")
    h = float(x[1] - x[0])
    if h <= 0 or not np.allclose(np.diff(x), h, rtol=1e-9, atol=1e-12):
        raise ParameterError("v", "non-uniform grid", "uniformly spaced increasing nodes")
    if x[-1] > v_f + 1e-12:
        raise ParameterError("v", float(x[-1]), f"nodes <= v_f = {v_f:g}")
    bw = silverman_bandwidth(vv, h) if bw is None else check_positive("bw", bw)

    fine = h / _SUB
    n_fine = int(round((v_f - x[0]) / fine))
    if n_fine < _SUB or abs(x[0] + n_fine * fine - v_f) > 1e-9 * max(1.0, abs(v_f)):
        raise ParameterError("v", float(x[0]), f"a grid of whole cells below v_f = {v_f:g}")
    from scipy.ndimage import gaussian_filter1d  # deferred: scipy.ndimage is slow to import

    lo = v_f - n_fine * fine
    idx = np.clip(np.floor((vv - lo) / fine).astype(np.int64), 0, n_fine - 1)
    counts = np.bincount(idx, minlength=n_fine).astype(float)
    # Odd image about v_f: mirrored bins beyond v_f carry negative counts, so the smoothed
    # density vanishes at v_f (absorbing boundary) and keeps the linear slope there.
    ext = np.concatenate((counts, -counts[::-1]))
    smooth = gaussian_filter1d(ext, sigma=bw / fine, mode="constant", cval=0.0, truncate=5.0)
    smooth /= vv.size * fine
    # Nodes sit on fine-bin edges: average the two neighbouring bin centres.
    edge = np.rint((x - lo) / fine).astype(np.int64)
    left = smooth[np.maximum(edge - 1, 0)]
    dens = np.maximum(0.5 * (left + smooth[edge]), 0.0)
    if math.isclose(x[-1], v_f, rel_tol=0.0, abs_tol=1e-12):
        dens[-1] = 0.0
    mass = h * dens.sum()
    if not mass > 0.0:
        raise NumericalError("reconstructed density has no mass on the macro grid")
    return dens / mass
