"""Avalanche statistics: histograms, goodness of fit against the exact theory, power-law fits.

Power-law exponents come from the ``powerlaw`` package (Alstott et al. 2014; Clauset, Shalizi &
Newman 2009 maximum likelihood) with likelihood-ratio comparisons against alternatives. Small-xmin
bias: for discrete data powerlaw's fast estimator alpha = 1 + n / sum ln(x / (xmin - 1/2)) is an
approximation that is only good to about 1 % for xmin >~ 6 and biased for xmin of 1-3 (Clauset
et al. §3.1); :func:`fit_power_law` therefore uses the exact discrete likelihood (a numerical
maximisation over the Hurwitz zeta normalisation) unless ``estimate_discrete=True``. Finite-size
cut-offs (s ~ N) bias any exponent fitted without ``xmax``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
import xarray as xr
from scipy import stats

from ..errors import ParameterError
from ..params import check_int, check_real


def size_histogram(sizes: Any, N: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Empirical P(s) for s = 1..N (N defaults to the largest size)."""
    x = np.asarray(sizes, dtype=np.int64).ravel()
    if x.size == 0 or x.min() < 1:
        raise ParameterError("sizes", "empty or < 1", "a non-empty array of sizes >= 1")
    N = int(x.max()) if N is None else check_int("N", N, lo=int(x.max()))
    counts = np.bincount(x, minlength=N + 1)[1:]
    return np.arange(1, N + 1), counts / x.size


def duration_histogram(durations: Any, N: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Empirical P(D) for D = 1..N generations."""
    return size_histogram(durations, N)


def log_binned(sizes: Any, bins_per_decade: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Log-binned density of integer sizes (centres, probability per unit size) for large N."""
    x = np.asarray(sizes, dtype=np.float64).ravel()
    edges = np.unique(np.floor(np.logspace(0, np.log10(x.max() + 1),
                                           int(np.log10(x.max() + 1) * bins_per_decade) + 2)))
    counts, edges = np.histogram(x, bins=edges)
    width = np.diff(edges)
    centres = np.sqrt(edges[:-1] * np.maximum(edges[1:] - 1, edges[:-1]))
    keep = counts > 0
    return centres[keep], counts[keep] / (x.size * width[keep])


def total_variation(P: Any, Q: Any) -> float:
    """Total-variation distance (1/2) sum |P - Q| of two distributions on the same support."""
    P, Q = np.asarray(P, float), np.asarray(Q, float)
    n = max(P.size, Q.size)
    P, Q = np.pad(P, (0, n - P.size)), np.pad(Q, (0, n - Q.size))
    return 0.5 * float(np.abs(P - Q).sum())


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    df: int
    pvalue: float
    n_cells: int


def chi_square(counts: Any, probabilities: Any, *, min_expected: float = 20.0) -> ChiSquare:
    """Pearson chi-square of observed counts against exact cell probabilities.

    Cells whose expected count is below ``min_expected`` are pooled into one cell (merged into
    the smallest cell if the pool itself is below the threshold), so df = (number of cells) - 1.
    """
    c = np.asarray(counts, float).ravel()
    q = np.asarray(probabilities, float).ravel()
    if c.shape != q.shape:
        raise ParameterError("probabilities", f"shape {q.shape}", f"shape {c.shape} like counts")
    n = c.sum()
    e = n * q
    big = e >= min_expected
    obs, exp = list(c[big]), list(e[big])
    rest_o, rest_e = c[~big].sum(), e[~big].sum()
    if rest_e >= min_expected or not exp:
        obs.append(rest_o)
        exp.append(rest_e)
    elif rest_e > 0:
        # too little mass for a cell of its own: merge into the smallest cell, keeping totals
        k = int(np.argmin(exp))
        obs[k] += rest_o
        exp[k] += rest_e
    obs, exp = np.array(obs), np.array(exp)
    stat = float(((obs - exp) ** 2 / exp).sum())
    df = obs.size - 1
    return ChiSquare(stat, df, float(stats.chi2.sf(stat, df)), obs.size)


class LikelihoodRatio(NamedTuple):
    """Normalised log-likelihood ratio of the power law against an alternative, and its p-value
    (Vuong's test): ``ratio > 0`` favours the power law, and the sign means something only when
    ``p_value`` is small."""

    ratio: float
    p_value: float

    @property
    def favours(self) -> str:
        """"power law", "alternative", or "neither" (p-value above 0.1)."""
        if not self.p_value < 0.1:
            return "neither"
        return "power law" if self.ratio > 0 else "alternative"


class PowerLawWarning(UserWarning):
    """A power-law fit that the data cannot support (too short a range, too few points in the
    tail, or an exponent at the edge of the search)."""


@dataclass(frozen=True)
class PowerLawFit:
    """Maximum-likelihood power law P(s) ~ s^-alpha for s >= xmin (and <= xmax if given).

    ``comparisons`` maps each alternative to its :class:`LikelihoodRatio`; ``warnings`` lists
    why the fit may not mean much (each also issued as a :class:`PowerLawWarning`)."""

    alpha: float
    sigma: float
    xmin: float
    xmax: float | None
    n_tail: int
    ks_distance: float
    comparisons: dict[str, LikelihoodRatio] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


#: A power law needs about two decades of range and some 50 points in its tail to be told
#: apart from its alternatives (Clauset, Shalizi & Newman 2009, §3 and §5).
MIN_DECADES = 2.0
MIN_TAIL = 50


def fit_power_law(data: Any, *, xmin: float | None = None, xmax: float | None = None,
                  discrete: bool = True, estimate_discrete: bool = False,
                  compare_to: tuple[str, ...] = ("exponential", "lognormal")) -> PowerLawFit:
    """Fit a power law with ``powerlaw.Fit`` and compare it with alternatives by likelihood ratio.

    ``xmin=None`` lets powerlaw choose xmin by minimising the KS distance. See the module
    docstring for the small-xmin bias of the fast discrete estimator (``estimate_discrete``).
    """
    import powerlaw

    x = np.asarray(data, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < 10 or x.min() <= 0:
        raise ParameterError("data", f"{x.size} values", "at least 10 positive values")
    if xmin is not None:
        xmin = check_real("xmin", xmin, lo=0, lo_open=True)
    if xmax is not None:
        xmax = check_real("xmax", xmax, lo=xmin or 0, lo_open=True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(x, discrete=discrete, xmin=xmin, xmax=xmax,
                           estimate_discrete=estimate_discrete, verbose=False)
        pl = fit.power_law
        comps = {}
        for alt in compare_to:
            R, p = fit.distribution_compare("power_law", alt, normalized_ratio=True)
            comps[alt] = LikelihoodRatio(float(R), float(p))
        upper = xmax if xmax is not None else np.inf
        tail = x[(x >= fit.xmin) & (x <= upper)]
        alpha, sigma, ks = float(pl.alpha), float(pl.sigma), float(pl.D)
    notes = []
    top = float(min(upper, tail.max())) if tail.size else float(fit.xmin)
    decades = np.log10(top / float(fit.xmin)) if top > 0 and fit.xmin > 0 else 0.0
    if decades < MIN_DECADES:
        notes.append(f"the fitted range [{fit.xmin:g}, {top:g}] spans {decades:.2f} decades; "
                     f"at least {MIN_DECADES:g} are needed to tell a power law from its "
                     "alternatives")
    if tail.size < MIN_TAIL:
        notes.append(f"only {tail.size} values lie in the fitted range (at least {MIN_TAIL} "
                     "are needed)")
    if not 1.0 + 1e-6 < alpha < 20.0:
        notes.append(f"alpha = {alpha:.10g} lies at the edge of the search (the likelihood has "
                     "no interior maximum on this range)")
    for note in notes:
        warnings.warn(f"fit_power_law: {note}", PowerLawWarning, stacklevel=2)
    return PowerLawFit(alpha=alpha, sigma=sigma, xmin=float(fit.xmin), xmax=xmax,
                       n_tail=int(tail.size), ks_distance=ks, comparisons=comps,
                       warnings=tuple(notes))


def weights_of(ds: xr.Dataset) -> sp.csr_array:
    """The weight matrix stored with an avalanche result (sparse; ``.toarray()`` for dense)."""
    N = int(ds.attrs["N"])
    return sp.csr_array((ds["W_value"].values, (ds["W_row"].values, ds["W_col"].values)),
                        shape=(N, N))


def _spikes(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    if "spike_unit" not in ds:
        raise ParameterError("record_assemblies", False, "True to keep assemblies")
    return ds["spike_unit"].values, ds["assembly_offset"].values


def assemblies(ds: xr.Dataset) -> list[np.ndarray]:
    """The assembly of every avalanche of a result: the sorted indices of the units that fired
    (each fires at most once in an avalanche)."""
    units, offsets = _spikes(ds)
    return [np.sort(units[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


def assembly_masks(ds: xr.Dataset) -> np.ndarray:
    """Assemblies as int64 bitmasks (bit j set iff unit j fired); needs N <= 62."""
    units, offsets = _spikes(ds)
    N = int(ds.attrs["N"])
    if N > 62:
        raise ParameterError("N", N, "<= 62 for bitmask assemblies")
    bits = np.left_shift(np.int64(1), units.astype(np.int64))
    return np.add.reduceat(bits, offsets[:-1]) if offsets.size > 1 else bits[:0]
