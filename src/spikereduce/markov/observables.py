"""Read-outs of markov results: firing rates, SSI, MFE peaks and the Δm beat histogram.

All take a Dataset from ``simulate_network`` or ``simulate_dsode`` (rate_E/rate_I in population
spikes/ms per step, ``dt`` and ``n_E``/``n_I`` in attrs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.signal import find_peaks

from ..errors import ParameterError
from ..params import check_real

#: Δm histogram edges of the bifurcation figure (spikes/ms): −300:5:300.
BEAT_EDGES = np.arange(-300.0, 300.0 + 5.0, 5.0)


def _check_ds(ds: xr.Dataset) -> tuple[float, int, int]:
    if not isinstance(ds, xr.Dataset) or "rate_E" not in ds or "rate_I" not in ds:
        raise ParameterError("ds", type(ds).__name__, "a markov result Dataset (rate_E, rate_I)")
    return float(ds.attrs["dt"]), int(ds.attrs["n_E"]), int(ds.attrs["n_I"])


def _window(ds: xr.Dataset, t_start: float) -> np.ndarray:
    t_start = check_real("t_start", t_start, lo=0.0)
    sel = ds["time"].values > t_start
    if not np.any(sel):
        raise ParameterError("t_start", t_start,
                             f"< the run length {float(ds['time'].values[-1]):g} ms")
    return sel


def firing_rates(ds: xr.Dataset, t_start: float = 200.0) -> tuple[float, float]:
    """(ν_E, ν_I): mean firing rate per neuron in Hz over t > t_start (ms)."""
    _, n_e, n_i = _check_ds(ds)
    sel = _window(ds, t_start)
    return (1000.0 * float(ds["rate_E"].values[sel].mean()) / n_e,
            1000.0 * float(ds["rate_I"].values[sel].mean()) / n_i)


def _ssi(counts: np.ndarray, n: int, half: int) -> float:
    total = counts.sum()
    if total <= 0:
        return 0.0
    # spikes within ±half steps of each step (inclusive), via a cumulative sum
    c = np.concatenate(([0.0], np.cumsum(counts)))
    idx = np.arange(counts.size)
    lo = np.clip(idx - half, 0, counts.size)
    hi = np.clip(idx + half + 1, 0, counts.size)
    near = c[hi] - c[lo]
    return float(np.sum(counts * near) / (n * total))


def ssi(ds: xr.Dataset, t_start: float = 200.0, window: float = 1.0) -> tuple[float, float]:
    """(SSI_E, SSI_I): spike-weighted mean fraction of the population firing within ±window/2.

    SSI = Σ_t c_t·Σ_{|s−t|≤w/2} c_s / (N·Σ_t c_t), c_t the spike count of step t, w = 1 ms
    (10 steps at dt = 0.1, as compute_SSI in the reference).
    """
    dt, n_e, n_i = _check_ds(ds)
    window = check_real("window", window, lo=0.0, lo_open=True)
    sel = _window(ds, t_start)
    half = int(round(window / dt / 2))
    return (_ssi(ds["rate_E"].values[sel] * dt, n_e, half),
            _ssi(ds["rate_I"].values[sel] * dt, n_i, half))


@dataclass(frozen=True)
class MFEPeaks:
    """MFE peaks of the smoothed E rate and their beat statistics."""

    times: np.ndarray       #: peak times (ms)
    heights: np.ndarray     #: smoothed peak heights m_k (population spikes/ms)
    dm: np.ndarray          #: m_{k+1} − m_k
    hist: np.ndarray        #: counts of dm over BEAT_EDGES
    edges: np.ndarray       #: BEAT_EDGES
    duration: float         #: analysed duration (ms)

    def __repr__(self) -> str:
        mean = f"{self.heights.mean():.4g}" if self.heights.size else "-"
        return (f"MFEPeaks({self.heights.size} peaks in {self.duration:g} ms, "
                f"rate {self.rate:.4g} Hz, pattern {self.pattern!r}, mean height {mean} "
                "spikes/ms)")

    @property
    def rate(self) -> float:
        """MFE rate in Hz."""
        return 1000.0 * self.heights.size / self.duration if self.duration > 0 else 0.0

    @property
    def pattern(self) -> str:
        """'period-2' (big and small MFEs alternate), 'period-1', 'irregular' or 'none'.

        Period-2: ≥ 70 % of consecutive Δm pairs alternate in sign with both |Δm| > 25 % of
        the mean height. Period-1: < 20 % alternate so and the median |Δm| is under 25 % of the
        mean height (SNN noise gives ~10-15 % at p_EI = 0.6). Anything else is irregular.
        """
        if self.heights.size < 4:
            return "none"
        scale = float(self.heights.mean())
        big = np.abs(self.dm) > 0.25 * scale
        alt = (np.sign(self.dm[1:]) != np.sign(self.dm[:-1])) & big[1:] & big[:-1]
        if alt.mean() >= 0.7:
            return "period-2"
        if alt.mean() < 0.2 and np.median(np.abs(self.dm)) < 0.25 * scale:
            return "period-1"
        return "irregular"


def smoothed_rate_e(ds: xr.Dataset, width: float = 1.0) -> np.ndarray:
    """rate_E smoothed by a centred boxcar of ``width`` ms (10 steps at dt = 0.1)."""
    dt, _, _ = _check_ds(ds)
    k = max(1, int(round(width / dt)))
    r = ds["rate_E"].values.astype(float)
    return np.convolve(r, np.ones(k) / k, mode="same")


def mfe_peaks(ds: xr.Dataset, t_start: float = 100.0, *, height: float = 10.0,
              separation: float = 9.0) -> MFEPeaks:
    """MFE peaks of the 1 ms-smoothed E rate: height ≥ 10 spikes/ms, ≥ 9 ms apart."""
    dt, _, _ = _check_ds(ds)
    height = check_real("height", height, lo=0.0)
    separation = check_real("separation", separation, lo=0.0, lo_open=True)
    sel = _window(ds, t_start)
    smooth = smoothed_rate_e(ds)[sel]
    t = ds["time"].values[sel]
    idx, _ = find_peaks(smooth, height=height, distance=max(1, int(round(separation / dt))))
    heights = smooth[idx]
    dm = np.diff(heights)
    hist, _ = np.histogram(dm, bins=BEAT_EDGES)
    return MFEPeaks(times=t[idx], heights=heights, dm=dm, hist=hist, edges=BEAT_EDGES.copy(),
                    duration=float(t[-1] - t[0] + dt))


def summary(ds: xr.Dataset, t_start: float = 200.0) -> dict[str, float]:
    """Scalar read-outs of one run (used by the run entries and the bifurcation loop)."""
    nu_e, nu_i = firing_rates(ds, t_start)
    s_e, s_i = ssi(ds, t_start)
    peaks = mfe_peaks(ds, min(t_start, 100.0))
    sel = _window(ds, t_start)
    out = {"nu_E": nu_e, "nu_I": nu_i, "ssi_E": s_e, "ssi_I": s_i, "mfe_rate": peaks.rate}
    for syn in ("EE", "EI", "IE", "II"):
        out[f"mean_H_{syn}"] = float(ds[f"H_{syn}"].values[sel].mean())
    return out


def default_t_start(t_max: float) -> float:
    """Transient discarded by default: 200 ms, or the first fifth of shorter runs."""
    return min(200.0, 0.2 * float(t_max))


def with_summary(ds: xr.Dataset, t_start: float | None = None) -> xr.Dataset:
    """``ds`` plus scalar summary variables and the beat histogram (for sweeps over points).

    ``t_start=None`` uses :func:`default_t_start` of the run length.
    """
    if t_start is None:
        t_start = default_t_start(float(ds["time"].values[-1]))
    out = ds.copy()
    for name, value in summary(ds, t_start).items():
        out[name] = ((), value)
    peaks = mfe_peaks(ds, min(t_start, 100.0))
    centers = 0.5 * (BEAT_EDGES[:-1] + BEAT_EDGES[1:])
    out = out.assign_coords(dm_bin=("dm_bin", centers, {"units": "spikes/ms"}))
    out["beat_hist"] = ("dm_bin", peaks.hist, {"long_name": "histogram of successive MFE "
                                                            "peak-height differences"})
    out.attrs["beat_pattern"] = peaks.pattern
    return out


def spikes_per_cycle(ds: xr.Dataset, peaks: MFEPeaks) -> dict[str, tuple[float, float]]:
    """Mean spikes per MFE cycle after big and after small peaks, per population.

    A cycle runs between the midpoints of successive peak times (so a count can exceed N_E);
    a peak is "big" when its height is above the median height. Returns
    {"E": (big, small), "I": (big, small)}.
    """
    dt, _, _ = _check_ds(ds)
    if peaks.times.size < 3:
        raise ParameterError("peaks", peaks.times.size, "at least 3 MFE peaks")
    t = ds["time"].values
    mids = 0.5 * (peaks.times[1:] + peaks.times[:-1])
    big = peaks.heights[1:-1] > np.median(peaks.heights)
    out = {}
    for pop in ("E", "I"):
        c = np.concatenate(([0.0], np.cumsum(ds[f"rate_{pop}"].values * dt)))
        idx = np.searchsorted(t, mids)
        per = c[idx[1:]] - c[idx[:-1]]
        out[pop] = (float(per[big].mean()) if big.any() else 0.0,
                    float(per[~big].mean()) if (~big).any() else 0.0)
    return out


def voltage_histogram(ds: xr.Dataset, t_start: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """Time-averaged fraction of each population per dsODE voltage bin, refractory excluded.

    Returns (p_E, p_I), each summing to the mean non-refractory fraction n_m^Q / N_Q over
    t > t_start; the same read-out for networks (binned voltages) and the dsODE (n_m).
    """
    _, n_e, n_i = _check_ds(ds)
    if "vhist_E" not in ds:
        raise ParameterError("ds", "no vhist_E", "a markov result with voltage histograms")
    sel = _window(ds, t_start)
    return (ds["vhist_E"].values[sel].mean(axis=0) / n_e,
            ds["vhist_I"].values[sel].mean(axis=0) / n_i)
