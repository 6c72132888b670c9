"""The multi-scale nlif solver: Fokker–Planck while the rate is low, particles through bursts.

Spec nlif §3.2 (state machine with rollback and hysteresis) on the §2.2 Fokker–Planck stepper and
the §1.3 particle stepper; hand-over in handover.py (§3.3, §3.4).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import NumericalError
from .handover import reconstruct_density, sample_particles
from .params import NLIFParams, Periodic, Pulse

# advance(p, rate, t, k) -> (p, rate, rates[k], spikes[k]) : k Fokker–Planck steps of dt_macro;
# rates[j] is N after step j, spikes[j] the spikes per neuron emitted during step j.
MacroAdvance = Callable[[np.ndarray, float, float, int],
                        tuple[np.ndarray, float, np.ndarray, np.ndarray]]
# advance(V, t, k, phase) -> (V, counts[k]) : k particle steps of dt_micro from time t; counts[j]
# is the number of neurons fired in step j (cascade included). ``phase`` numbers the micro phases
# so each gets its own random stream.
MicroAdvance = Callable[[np.ndarray, float, int, int], tuple[np.ndarray, np.ndarray]]

_EPS = 1e-9


@dataclass(frozen=True)
class SwitchEvent:
    """One change of solver: ``time`` it takes effect, ``direction`` and ``reason``."""

    time: float
    direction: str  # "macro->micro" or "micro->macro"
    reason: str
    detected_at: float  # time the criterion fired (differs from ``time`` by the rollback)


@dataclass(frozen=True)
class SwitchSettings:
    n: int
    dt_macro: float
    dt_micro: float
    n_up: float
    n_down: float
    window: float
    f_sync: float
    t_back: float
    bw: float | None
    density_every: float
    force_micro: tuple[float, float] | None = None
    macro_chunk: int = 20


@dataclass
class _Trace:
    """Output history, chunked so that a rollback truncates it cheaply."""

    times: list[np.ndarray] = field(default_factory=list)
    rates: list[np.ndarray] = field(default_factory=list)
    spikes: list[np.ndarray] = field(default_factory=list)
    modes: list[np.ndarray] = field(default_factory=list)
    dens_t: list[float] = field(default_factory=list)
    dens_p: list[np.ndarray] = field(default_factory=list)
    dens_mode: list[str] = field(default_factory=list)

    def mark(self) -> tuple[int, int]:
        return len(self.times), len(self.dens_t)

    def truncate(self, mark: tuple[int, int]) -> None:
        del self.times[mark[0]:], self.rates[mark[0]:], self.spikes[mark[0]:]
        del self.modes[mark[0]:]
        del self.dens_t[mark[1]:], self.dens_p[mark[1]:], self.dens_mode[mark[1]:]

    def add(self, t: np.ndarray, r: np.ndarray, s: np.ndarray, mode: str) -> None:
        self.times.append(t)
        self.rates.append(r)
        self.spikes.append(s)
        self.modes.append(np.full(t.size, mode == "micro"))


@dataclass
class SwitchResult:
    time: np.ndarray
    rate: np.ndarray
    spikes: np.ndarray
    micro: np.ndarray
    density_time: np.ndarray
    density: np.ndarray
    density_micro: np.ndarray
    events: list[SwitchEvent]
    wall: dict[str, float]
    max_fired_fraction: float


def run_switching(p0: np.ndarray, rate0: float, v: np.ndarray, v_f: float, t_max: float,
                  macro: MacroAdvance, micro: MicroAdvance, rng: np.random.Generator,
                  s: SwitchSettings, progress: Callable[[float], None] | None = None
                  ) -> SwitchResult:
    """Run the §3.2 state machine from density ``p0`` (nodes ``v``) and rate ``rate0`` to t_max."""
    trace = _Trace()
    events: list[SwitchEvent] = []
    wall = {"macro": 0.0, "micro": 0.0, "switch": 0.0}
    t = 0.0
    p = np.asarray(p0, float).copy()
    rate = float(rate0)
    mode = "macro"
    next_density = 0.0
    phase = 0
    max_frac = 0.0
    n_win = max(1, round(s.window / s.dt_micro))
    # Ring buffer of (t, p, rate, trace mark) at macro chunk starts, covering >= t_back.
    ring: deque[tuple[float, np.ndarray, float, tuple[int, int]]] = deque()
    stash: tuple[float, np.ndarray, np.ndarray, float] | None = None  # state at last switch back
    V = np.empty(0)
    t_sw = 0.0
    win_counts: deque[int] = deque(maxlen=n_win)
    forced_on, forced_off = s.force_micro if s.force_micro else (math.inf, math.inf)

    def snapshot(tt: float, dens: np.ndarray, m: str) -> None:
        trace.dens_t.append(tt)
        trace.dens_p.append(dens.copy())
        trace.dens_mode.append(m)

    while t < t_max - _EPS:
        if progress is not None:
            progress(t)
        if mode == "macro":
            t0 = time.perf_counter()
            ring.append((t, p.copy(), rate, trace.mark()))
            while len(ring) > 1 and ring[1][0] <= t - s.t_back + _EPS:
                ring.popleft()
            if t >= next_density - _EPS:
                snapshot(t, p, "macro")
                next_density = _next_multiple(t, s.density_every)
            k = min(s.macro_chunk, _steps_left(t, t_max, s.dt_macro))
            if t < forced_on - _EPS < math.inf:
                k = min(k, _steps_left(t, forced_on, s.dt_macro))
            try:
                p_new, rate_new, rates, spikes = macro(p, rate, t, k)
                bad = ~np.isfinite(rates) | (rates > s.n_up)
            except NumericalError:
                rates = spikes = np.empty(0)
                bad = np.ones(1, bool)
            wall["macro"] += time.perf_counter() - t0
            if bad.any():
                j = int(np.argmax(bad))
                t_detect = t + (j + 1) * s.dt_macro
                t1 = time.perf_counter()
                t_rb, p_rb, _, mark = ring[0]
                trace.truncate(mark)
                reason = "rate above n_up" if np.isfinite(rates[j:j + 1]).all() else \
                    "non-finite rate"
                if stash is not None and math.isclose(t_rb, stash[0], abs_tol=_EPS):
                    # The crossing reaches back to the last hand-over: that switch back was
                    # premature. Undo it (restore the particles) rather than resample.
                    _, V, counts_hist, _ = stash
                    win_counts = deque(counts_hist.tolist(), maxlen=n_win)
                    events.pop()
                    phase += 1
                else:
                    V = sample_particles(v, p_rb, s.n, rng, v_f=v_f)
                    win_counts = deque(maxlen=n_win)
                    events.append(SwitchEvent(t_rb, "macro->micro", reason, t_detect))
                    phase += 1
                t, mode, t_sw = t_rb, "micro", t_rb
                next_density = t if _on_grid(t, s.density_every) else _next_multiple(
                    t, s.density_every)
                ring.clear()
                stash = None
                wall["switch"] += time.perf_counter() - t1
                continue
            times = t + s.dt_macro * np.arange(1, k + 1)
            trace.add(times, rates, spikes, "macro")
            p, rate, t = p_new, float(rate_new), float(times[-1])
            if t >= forced_on - _EPS and t < forced_off - _EPS:
                t1 = time.perf_counter()
                V = sample_particles(v, p, s.n, rng, v_f=v_f)
                win_counts = deque(maxlen=n_win)
                events.append(SwitchEvent(t, "macro->micro", "forced", t))
                phase += 1
                mode, t_sw = "micro", t
                ring.clear()
                stash = None
                wall["switch"] += time.perf_counter() - t1
        else:
            t0 = time.perf_counter()
            if t >= next_density - _EPS:
                t1 = time.perf_counter()
                snapshot(t, reconstruct_density(V, v, v_f=v_f, bw=s.bw), "micro")
                wall["switch"] += time.perf_counter() - t1
                next_density = _next_multiple(t, s.density_every)
            k = 1
            V, counts = micro(V, t, k, phase)
            c = int(counts[0])
            win_counts.append(c)
            max_frac = max(max_frac, c / s.n)
            t = t + s.dt_micro
            r = c / (s.n * s.dt_micro)
            trace.add(np.array([t]), np.array([r]), np.array([c / s.n]), "micro")
            wall["micro"] += time.perf_counter() - t0
            if s.force_micro is not None and forced_on - _EPS <= t_sw < forced_off:
                leave = t >= forced_off - _EPS
                reason = "forced"
            else:
                full = len(win_counts) == n_win and t - t_sw >= s.window - _EPS
                mean_rate = sum(win_counts) / (n_win * s.n * s.dt_micro)
                leave = full and mean_rate < s.n_down and max(win_counts) < s.f_sync * s.n
                reason = "windowed rate below n_down"
            if leave and t < t_max - _EPS:
                t1 = time.perf_counter()
                mean_rate = sum(win_counts) / (len(win_counts) * s.n * s.dt_micro)
                stash = (t, V.copy(), np.array(win_counts), mean_rate)
                p = reconstruct_density(V, v, v_f=v_f, bw=s.bw)
                # Hand over the windowed rate: a p_{n-1}/h of a reconstructed density is noise.
                rate = mean_rate
                events.append(SwitchEvent(t, "micro->macro", reason, t))
                mode = "macro"
                ring.clear()
                wall["switch"] += time.perf_counter() - t1
    if progress is not None:
        progress(t_max)

    def cat(chunks: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(chunks).astype(dtype) if chunks else np.empty(0, dtype)

    return SwitchResult(
        time=cat(trace.times, float), rate=cat(trace.rates, float),
        spikes=cat(trace.spikes, float), micro=cat(trace.modes, bool),
        density_time=np.asarray(trace.dens_t, float),
        density=np.asarray(trace.dens_p, float).reshape(len(trace.dens_t), v.size),
        density_micro=np.asarray([m == "micro" for m in trace.dens_mode], bool),
        events=events, wall=wall, max_fired_fraction=max_frac)


def _steps_left(t: float, t_end: float, dt: float) -> int:
    return max(1, math.ceil((t_end - t) / dt - 1e-6))


def _next_multiple(t: float, every: float) -> float:
    return (math.floor(t / every + 1e-6) + 1) * every


def _on_grid(t: float, every: float) -> bool:
    return abs(t / every - round(t / every)) < 1e-6


# --- public solver -----------------------------------------------------------------------------

#: Micro step used when the input does not demand a smaller one (spec §3.2 table).
DT_MICRO_DEFAULT = 1e-3
#: n_up may use at most this fraction of the discrete rate cap a/h^2 of the macro grid (§2.2).
CAP_FRACTION = 0.1
#: Minimum ratio n_up / n_down (hysteresis, §3.2: equal thresholds chatter).
HYSTERESIS = 5.0
#: Micro steps per pulse: a pulse shorter than ~20 steps is smeared into too few cascades (T8).
STEPS_PER_PULSE = 20


def max_micro_step(params: NLIFParams) -> float:
    """Largest micro step that resolves the input of ``params`` (spec §1.4 and T8).

    The input's displacement per step |I| dt must not exceed the noise increment sqrt(2 a dt),
    i.e. dt <= 2a / max|I|^2, and a pulse must span at least 20 steps; the result is capped at the
    default 1e-3. (A pulse of 100 for 0.01 gives 2e-4, the step T8 needed.)
    """
    c = params.current
    if isinstance(c, Pulse):
        i_max = max(abs(c.offset), abs(c.offset + c.amplitude))
        pulse = (c.stop - c.start) / STEPS_PER_PULSE
    elif isinstance(c, Periodic):
        i_max = abs(c.offset) + abs(c.amplitude)
        pulse = math.inf
    else:
        i_max = abs(float(c))
        pulse = math.inf
    noise = 2.0 * params.a / i_max ** 2 if i_max > 0 else math.inf
    return min(DT_MICRO_DEFAULT, noise, pulse)
