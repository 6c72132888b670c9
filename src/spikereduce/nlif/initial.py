"""Initial data p0 for both nlif solvers: Gaussian densities, and how any p0 is read.

(Gaussian initial data truncated to (-inf, v_f] and normalized). A ``p0`` is one of
  * a density object such as :func:`gaussian_density` (callable v -> p, with exact sampling),
  * any callable v -> p(v) >= 0 (normalized on the grid / tabulated for sampling),
  * a pair (v_nodes, p_values): a density tabulated at increasing nodes, read by linear
    interpolation (zero outside the nodes), i.e. a callable,
  * an array: for :func:`solve_fokker_planck` the density at the grid nodes v_min + i h,
    i < n (the Dirichlet node v_f excluded); for :func:`simulate_particles` the n voltages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..params import check_int, check_positive, check_real


@dataclass(frozen=True)
class GaussianDensity:
    """N(v0, var) restricted to (-inf, v_f] and renormalized there.

    Calling it gives the untruncated normal density (the solvers cut and renormalize at their
    own v_f); :meth:`sample` draws exactly from the truncated law; :meth:`exp_moment` is the
    closed form of the integral of e^{mu (v - v_f)} p0(v) used by the blow-up certificate.
    """

    v0: float
    var: float

    def __call__(self, v: Any) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        with np.errstate(over="ignore"):  # far tails are 0, however far
            return np.exp(-0.5 * (v - self.v0) ** 2 / self.var) / math.sqrt(
                2 * math.pi * self.var)

    def mass_below(self, v_f: float) -> float:
        from scipy.special import ndtr

        return float(ndtr((v_f - self.v0) / math.sqrt(self.var)))

    def _check(self, v_f: float) -> float:
        sd = math.sqrt(self.var)
        if (v_f - self.v0) / sd < -30:
            raise ParameterError("p0", f"gaussian_density({self.v0:g}, {self.var:g})",
                                 f"a density with mass below v_f = {v_f:g}")
        return sd

    def sample(self, n: int, rng: np.random.Generator, v_f: float) -> np.ndarray:
        """``n`` i.i.d. voltages from the law truncated at ``v_f`` (inverse CDF)."""
        sd = self._check(v_f)
        from scipy.special import ndtr, ndtri

        u = rng.random(n) * ndtr((v_f - self.v0) / sd)
        return np.minimum(self.v0 + sd * ndtri(u), v_f)

    def exp_moment(self, mu: Any, v_f: float) -> np.ndarray:
        """E[e^{mu (V - v_f)}] for V from the truncated law (exact, stable in logs)."""
        from scipy.special import log_ndtr

        sd = self._check(v_f)
        mu = np.asarray(mu, dtype=float)
        z_f = (v_f - self.v0) / sd
        log_m = (mu * (self.v0 - v_f) + 0.5 * mu**2 * self.var
                 + log_ndtr(z_f - mu * sd) - log_ndtr(z_f))
        return np.exp(log_m)


def gaussian_density(v0: float, var: float) -> GaussianDensity:
    """Initial density proportional to exp(-(v - v0)^2 / (2 var)) on (-inf, v_f]."""
    return GaussianDensity(check_real("v0", v0), check_positive("var", var))


@dataclass(frozen=True)
class PointMass:
    """Every neuron at the voltage ``v`` (a Dirac mass), e.g. all at V_R after a total multiple
    firing event. The particles start exactly there; a grid solver puts the whole mass into the
    cell of the node nearest to v (mass 1/h there); the time-dilated solver carries it as an
    exact Gaussian packet until it is wide enough for its grid."""

    v: float

    def on_grid(self, v: np.ndarray, h: float) -> np.ndarray:
        k = int(np.argmin(np.abs(v - self.v)))
        if abs(v[k] - self.v) > 0.5 * h + 1e-12:
            raise ParameterError("p0", f"point_mass({self.v:g})",
                                 f"a point on the grid [{v[0]:g}, {v[-1] + h:g})")
        p = np.zeros(v.size)
        p[k] = 1.0 / h
        return p

    def sample(self, n: int, rng: np.random.Generator, v_f: float) -> np.ndarray:
        self._check(v_f)
        return np.full(n, self.v)

    def _check(self, v_f: float) -> None:
        if not self.v < v_f:
            raise ParameterError("p0", f"point_mass({self.v:g})", f"a voltage below v_f = {v_f:g}")

    def exp_moment(self, mu: Any, v_f: float) -> np.ndarray:
        """The integral of e^{mu (v - v_f)} p0(v): e^{mu (v - v_f)}."""
        self._check(v_f)
        return np.exp(np.asarray(mu, dtype=float) * (self.v - v_f))


def point_mass(v: float) -> PointMass:
    """Initial data with every neuron at voltage ``v`` (valid for every nlif solver)."""
    return PointMass(check_real("v", v))


def _tabulated(p0: Any) -> Any:
    """A (v_nodes, p_values) pair as a callable (linear interpolation, zero outside)."""
    if not (isinstance(p0, tuple) and len(p0) == 2):
        return p0
    x, y = (np.asarray(a, dtype=float) for a in p0)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2 or not np.all(np.diff(x) > 0):
        raise ParameterError("p0", "a (v, p) pair with mismatched or unordered nodes",
                             "(v_nodes, p_values): equal-length 1-D arrays, v increasing")
    return lambda v: np.interp(v, x, y, left=0.0, right=0.0)


def _not_text(p0: Any) -> None:
    if isinstance(p0, (str, bytes)):
        raise ParameterError("p0", p0, "a density: gaussian_density(v0, var), a "
                             "callable v -> p, or an array of values")


def density_on_grid(p0: Any, v: np.ndarray, h: float) -> np.ndarray:
    """p0 at the nodes ``v`` (v_f excluded), non-negative, normalized so that sum(h p) = 1."""
    _not_text(p0)
    p0 = _tabulated(p0)
    if isinstance(p0, PointMass):
        return p0.on_grid(v, h)
    if callable(p0):
        p = np.asarray(p0(v), dtype=float)
        if p.shape != v.shape:
            raise ParameterError("p0", f"callable returning shape {p.shape}",
                                 f"a function returning one value per node ({v.size})")
    else:
        p = np.asarray(p0, dtype=float)
        if p.ndim != 1 or p.size != v.size:
            raise ParameterError("p0", f"array of shape {p.shape}",
                                 f"a density at the {v.size} grid nodes v_min + i h, i < n, "
                                 "a callable v -> p, or gaussian_density(v0, var)")
        p = p.copy()
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ParameterError("p0", "negative or non-finite values", "a non-negative density")
    mass = float(p.sum() * h)
    if not mass > 0:
        raise ParameterError("p0", "zero mass on the grid",
                             f"a density with mass on [{v[0]:g}, {v[-1] + h:g}]")
    return p / mass


def initial_voltages(p0: Any, n: int, rng: np.random.Generator, v_f: float,
                     v_lo: float = -12.0) -> np.ndarray:
    """``n`` initial voltages for the particle system from ``p0`` (see the module docstring).

    A plain callable is tabulated on [v_lo, v_f] (50 001 nodes) and sampled by inverse CDF.
    """
    _not_text(p0)
    n = check_int("n", n, lo=1)
    p0 = _tabulated(p0)
    sample = getattr(p0, "sample", None)
    if callable(sample):
        return np.asarray(sample(n, rng, v_f), dtype=float)
    if callable(p0):
        return _sample_tabulated(p0, n, rng, v_f, v_lo)
    v = np.array(p0, dtype=float)
    if v.ndim != 1 or v.size != n:
        raise ParameterError("p0", f"array of shape {v.shape}",
                             f"{n} initial voltages, a callable v -> p or gaussian_density()")
    if not np.all(np.isfinite(v)) or np.any(v > v_f):
        raise ParameterError("p0", "voltages above v_f or non-finite", f"finite and <= {v_f:g}")
    return v


def _sample_tabulated(p0: Callable[[np.ndarray], Any], n: int, rng: np.random.Generator,
                      v_f: float, v_lo: float) -> np.ndarray:
    x = np.linspace(min(v_lo, v_f - 1.0), v_f, 50_001)
    p = np.asarray(p0(x), dtype=float)
    if p.shape != x.shape or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ParameterError("p0", "callable", "a function returning non-negative finite values")
    cdf = np.concatenate(([0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))))
    if not cdf[-1] > 0:
        raise ParameterError("p0", "zero mass", f"a density with mass on [{x[0]:g}, {v_f:g}]")
    # Linear interpolation of the inverse CDF (flat stretches of zero density are skipped).
    keep = np.concatenate(([True], np.diff(cdf) > 0))
    return np.interp(rng.random(n) * cdf[-1], cdf[keep], x[keep])
