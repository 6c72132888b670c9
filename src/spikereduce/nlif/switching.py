"""The state machine of the multi-scale solver: Fokker–Planck while the rate is low, particles
through bursts, with rollback and hysteresis.

Runs on two step-level solvers handed in as callables (:data:`MacroAdvance`,
:data:`MicroAdvance`), so it can be tested with prescribed rates. The pieces:

- :class:`History`: the output so far (steps, densities), truncatable back to a mark;
- :class:`RollbackRing`: densities at least ``t_back`` before the present, to restart from;
- :class:`BurstWindow`: the micro steps' fired counts over the last ``window``, and the test
  for handing back to the density;
- :class:`Switcher`: the loop itself, one method per phase and per switch.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import NumericalError
from .handover import KernelEstimator, sample_particles

# advance(p, rate, t, k, every) -> (p, rate, rates, spikes, snaps) : up to k Fokker–Planck steps
# of dt_macro (fewer when the rate crosses n_up or is not finite: the offending step is the last);
# rates[j] is N after step j, spikes[j] the spikes per neuron emitted during step j, snaps[i] the
# density before step i * every (for every such step done).
MacroAdvance = Callable[[np.ndarray, float, float, int, int],
                        tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]]
# advance(V, t, k, phase) -> (V, counts[k]) : k particle steps of dt_micro from time t; counts[j]
# is the number of neurons fired in step j (cascade included). ``phase`` numbers the micro phases
# so each gets its own random stream.
MicroAdvance = Callable[[np.ndarray, float, int, int], tuple[np.ndarray, np.ndarray]]

_EPS = 1e-9
#: Ring-buffer chunks per call of the macro stepper (it stops by itself at a crossing of n_up).
MACRO_CALL_CHUNKS = 64


@dataclass(frozen=True)
class SwitchEvent:
    """One change of solver: ``time`` it takes effect, ``direction`` and ``reason``."""

    time: float
    direction: str  # "macro->micro" or "micro->macro"
    reason: str
    detected_at: float  # time the criterion fired (differs from ``time`` by the rollback)


@dataclass(frozen=True)
class SwitchSettings:
    """Every validated setting of one multi-scale run (see ``simulate_multiscale``).

    The ring buffer holds the density every ``macro_chunk`` macro steps, so a rollback lands
    within ``macro_chunk * dt_macro`` of ``t_back`` before the crossing; one call of the macro
    stepper covers up to ``MACRO_CALL_CHUNKS`` such chunks. ``h``, ``v_min`` (the macro grid)
    and ``bridge`` (the particles' crossing correction) configure the two solvers.
    """

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
    h: float = 0.01
    v_min: float = -4.0
    bridge: bool = True


Mark = tuple[int, int]  # (steps, density snapshots) of a History


@dataclass
class History:
    """Output history in chunks; a mark is a (step count, snapshot count) to truncate back to."""

    times: list[np.ndarray] = field(default_factory=list)
    rates: list[np.ndarray] = field(default_factory=list)
    spikes: list[np.ndarray] = field(default_factory=list)
    modes: list[np.ndarray] = field(default_factory=list)
    n_steps: int = 0
    dens_t: list[float] = field(default_factory=list)
    dens_p: list[np.ndarray] = field(default_factory=list)
    dens_mode: list[str] = field(default_factory=list)

    def mark(self) -> Mark:
        return self.n_steps, len(self.dens_t)

    def truncate(self, mark: Mark) -> None:
        keep, n_dens = mark
        chunks = (self.times, self.rates, self.spikes, self.modes)
        while self.times and self.n_steps - self.times[-1].size >= keep:
            self.n_steps -= self.times[-1].size
            for c in chunks:
                c.pop()
        if self.n_steps > keep:
            cut = self.times[-1].size - (self.n_steps - keep)
            for c in chunks:
                c[-1] = c[-1][:cut]
            self.n_steps = keep
        del self.dens_t[n_dens:], self.dens_p[n_dens:], self.dens_mode[n_dens:]

    def add(self, t: np.ndarray, r: np.ndarray, s: np.ndarray, mode: str) -> None:
        self.times.append(t)
        self.rates.append(r)
        self.spikes.append(s)
        self.modes.append(np.full(t.size, mode == "micro"))
        self.n_steps += t.size

    def snapshot(self, t: float, density: np.ndarray, mode: str) -> None:
        self.dens_t.append(t)
        self.dens_p.append(density.copy())
        self.dens_mode.append(mode)


class RollbackRing:
    """Macro densities (time, density, history mark) at chunk starts, covering >= t_back."""

    def __init__(self, t_back: float):
        self.t_back = t_back
        self.entries: deque[tuple[float, np.ndarray, Mark]] = deque()

    def push(self, t: float, p: np.ndarray, mark: Mark) -> None:
        self.entries.append((t, p, mark))
        while len(self.entries) > 1 and self.entries[1][0] <= t - self.t_back + _EPS:
            self.entries.popleft()

    def before(self, t_detect: float) -> tuple[float, np.ndarray, Mark]:
        """The latest entry at least t_back before ``t_detect`` (else the oldest)."""
        return next((e for e in reversed(self.entries)
                     if e[0] <= t_detect - self.t_back + _EPS), self.entries[0])

    def clear(self) -> None:
        self.entries.clear()


class BurstWindow:
    """Fired counts of the last ``window`` of micro steps and the switch-back test: the window
    is full, its mean rate is below n_down and no step fired f_sync of the neurons or more."""

    def __init__(self, s: SwitchSettings, counts: list[int] | None = None):
        self.s = s
        self.size = max(1, round(s.window / s.dt_micro))
        self.counts: deque[int] = deque(counts or (), maxlen=self.size)

    def extend(self, counts: np.ndarray) -> None:
        self.counts.extend(int(c) for c in counts)

    def mean_rate(self, full_width: bool = True) -> float:
        width = self.size if full_width else len(self.counts)
        return sum(self.counts) / (width * self.s.n * self.s.dt_micro)

    def passes(self, elapsed: float) -> bool:
        s = self.s
        full = len(self.counts) == self.size and elapsed >= s.window - _EPS
        return full and self.mean_rate() < s.n_down and max(self.counts) < s.f_sync * s.n

    def steps_before_pass(self) -> int:
        """Fewest micro steps after which the test can pass (>= 1), from the window.

        New steps fire >= 0 neurons: a step firing f_sync * n or more stays in the window until
        it is pushed out, and the windowed sum falls at most by the counts pushed out. Running
        that many steps in one call changes nothing (a particle run split anywhere is bitwise the
        same) but saves a call per step while a burst leaves the window.
        """
        s = self.s
        counts = list(self.counts)
        base = self.size - len(counts)  # steps before the oldest count is pushed out
        need = max(1, base)  # the window must also be full
        big = [i for i, c in enumerate(counts) if c >= s.f_sync * s.n]
        if big:
            need = max(need, base + big[-1] + 1)
        scale = self.size * s.n * s.dt_micro  # as in the test itself
        remaining = sum(counts)
        dropped = 0
        while dropped < len(counts) and remaining / scale >= s.n_down:
            remaining -= counts[dropped]
            dropped += 1
        return max(need, base + dropped)


@dataclass
class HandBack:
    """The state at the last switch back to the density: if the density crosses n_up again
    within a window of it, that switch was premature and is undone from here."""

    t: float
    V: np.ndarray
    counts: np.ndarray
    mark: Mark


@dataclass
class SwitchResult:
    """Raw history of a run: per step (end time, rate, spikes per neuron, micro flag), the
    density snapshots, the switch events and the wall time of each mode (s)."""

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


class Switcher:
    """One multi-scale run: the density ``p`` (macro) or the particles ``V`` (micro) at ``t``.

    :meth:`run` alternates :meth:`macro_phase` and :meth:`micro_phase`; each advances until
    it ends or its switch criterion fires, and the switch methods move the state across.
    Macro times count from the start of the macro phase (``t_mac`` + j dt_macro) and micro
    times from the start of the micro phase, whatever the calls, so call sizes never change
    the numbers.
    """

    def __init__(self, p0: np.ndarray, rate0: float, v: np.ndarray, v_f: float,
                 macro: MacroAdvance, micro: MicroAdvance, rng: np.random.Generator,
                 s: SwitchSettings):
        self.v, self.v_f, self.macro, self.micro, self.rng, self.s = v, v_f, macro, micro, rng, s
        self.kde = KernelEstimator(v, v_f=v_f)
        self.history = History()
        self.ring = RollbackRing(s.t_back)
        self.window = BurstWindow(s)
        self.events: list[SwitchEvent] = []
        self.wall = {"macro": 0.0, "micro": 0.0, "switch": 0.0}
        self.t = 0.0
        self.p = np.asarray(p0, float).copy()
        self.rate = float(rate0)
        self.V = np.empty(0)
        self.mode = "macro"
        self.next_density = 0.0
        self.phase = 0
        self.max_frac = 0.0
        self.hand_back: HandBack | None = None
        self.t_mac, self.steps_macro = 0.0, 0
        self.t_sw, self.steps_micro = 0.0, 0
        self.forced_on, self.forced_off = s.force_micro if s.force_micro else (math.inf,
                                                                               math.inf)

    def run(self, t_max: float, progress: Callable[[float], None] | None = None
            ) -> SwitchResult:
        while self.t < t_max - _EPS:
            if progress is not None:
                progress(self.t)
            if self.mode == "macro":
                self.macro_phase(t_max)
            else:
                self.micro_phase(t_max)
        h = self.history
        if not h.dens_t or h.dens_t[-1] < self.t - _EPS:
            density = self.p if self.mode == "macro" else self.kde.density(self.V, self.s.bw)
            h.snapshot(self.t, density, self.mode)
        if progress is not None:
            progress(t_max)
        return self.result()

    # --- macro ----------------------------------------------------------------------------------

    def macro_phase(self, t_max: float) -> None:
        """One call of the macro stepper; on a crossing of n_up, roll back and switch."""
        s, t = self.s, self.t
        if self.forced_on - _EPS <= t < self.forced_off - _EPS:
            self.to_micro_forced()
            return
        t0 = time.perf_counter()
        k = min(s.macro_chunk * MACRO_CALL_CHUNKS, _steps_left(t, t_max, s.dt_macro))
        if t < self.forced_on - _EPS < math.inf:
            k = min(k, _steps_left(t, self.forced_on, s.dt_macro))
        try:
            p_new, rate_new, rates, spikes, snaps = self.macro(self.p, self.rate, t, k,
                                                               s.macro_chunk)
            bad = ~np.isfinite(rates) | (rates > s.n_up)
        except NumericalError:
            rates = spikes = np.empty(0)
            snaps = self.p[None, :]
            bad = np.ones(1, bool)
        # Steps before the crossing (all of them when there is none) enter the history.
        good = int(np.argmax(bad)) if bad.any() else rates.size
        times = self.t_mac + s.dt_macro * np.arange(self.steps_macro + 1,
                                                    self.steps_macro + rates.size + 1)
        self._keep_snapshots(snaps, times, good)
        self.history.add(times[:good], rates[:good], spikes[:good], "macro")
        self.wall["macro"] += time.perf_counter() - t0
        if bad.any():
            t_detect = self.t_mac + s.dt_macro * (self.steps_macro + good + 1)
            finite = np.isfinite(rates[good:good + 1]).all()
            self.to_micro(t_detect, "rate above n_up" if finite else "non-finite rate")
            return
        self.p, self.rate, self.t = p_new, float(rate_new), float(times[-1])
        self.steps_macro += rates.size

    def _keep_snapshots(self, snaps: np.ndarray, times: np.ndarray, good: int) -> None:
        """Densities of chunk starts up to the crossing into the ring and, on the output grid,
        into the history."""
        s, h = self.s, self.history
        for i in range(snaps.shape[0]):
            step = i * s.macro_chunk
            if step > good:
                break
            ts = self.t if step == 0 else float(times[step - 1])
            # snaps[i] is never written again (the stepper fills a fresh array): no copy.
            self.ring.push(ts, snaps[i], (h.n_steps + step, len(h.dens_t)))
            if ts >= self.next_density - _EPS:
                h.snapshot(ts, snaps[i], "macro")
                self.next_density = _next_multiple(ts, s.density_every)

    def to_micro_forced(self) -> None:
        t1 = time.perf_counter()
        self.V = sample_particles(self.v, self.p, self.s.n, self.rng, v_f=self.v_f)
        self.window = BurstWindow(self.s)
        self.events.append(SwitchEvent(self.t, "macro->micro", "forced", self.t))
        self._start_micro(self.t, clear_density_clock=False)
        self.wall["switch"] += time.perf_counter() - t1

    def to_micro(self, t_detect: float, reason: str) -> None:
        """Restart in particles from the ring's density t_back before the crossing, or undo a
        premature hand-back: switching now would come less than a window after the last one,
        so drop the macro history since and go on with the particles kept then."""
        t1 = time.perf_counter()
        t_rb, p_rb, mark = self.ring.before(t_detect)
        back = self.hand_back
        if back is not None and t_rb < back.t + self.s.window - _EPS:
            t_rb, self.V = back.t, back.V
            self.history.truncate(back.mark)
            self.window = BurstWindow(self.s, back.counts.tolist())
            self.events.pop()
        else:
            self.history.truncate(mark)
            self.V = sample_particles(self.v, p_rb, self.s.n, self.rng, v_f=self.v_f)
            self.window = BurstWindow(self.s)
            self.events.append(SwitchEvent(t_rb, "macro->micro", reason, t_detect))
        self.t = t_rb
        self._start_micro(t_rb, clear_density_clock=True)
        self.wall["switch"] += time.perf_counter() - t1

    def _start_micro(self, t: float, *, clear_density_clock: bool) -> None:
        self.phase += 1
        self.mode, self.t_sw, self.steps_micro = "micro", t, 0
        if clear_density_clock:
            every = self.s.density_every
            self.next_density = t if _on_grid(t, every) else _next_multiple(t, every)
        self.ring.clear()
        self.hand_back = None

    # --- micro ----------------------------------------------------------------------------------

    def micro_phase(self, t_max: float) -> None:
        """One call of the particle system; hand back to the density when the window allows."""
        s = self.s
        if self.t >= self.next_density - _EPS:
            t1 = time.perf_counter()
            self.history.snapshot(self.t, self.kde.density(self.V, s.bw), "micro")
            self.wall["switch"] += time.perf_counter() - t1
            self.next_density = _next_multiple(self.t, s.density_every)
        t0 = time.perf_counter()
        forced = s.force_micro is not None and \
            self.forced_on - _EPS <= self.t_sw < self.forced_off
        k = self._micro_steps(t_max, forced)
        self.V, counts = self.micro(self.V, self.t, k, self.phase)
        self.window.extend(counts)
        self.max_frac = max(self.max_frac, int(counts.max()) / s.n)
        self.steps_micro += k
        times = self.t_sw + s.dt_micro * np.arange(self.steps_micro - k + 1,
                                                   self.steps_micro + 1)
        self.t = float(times[-1])
        self.history.add(times, counts / (s.n * s.dt_micro), counts / s.n, "micro")
        self.wall["micro"] += time.perf_counter() - t0
        if forced:
            leave, reason = self.t >= self.forced_off - _EPS, "forced"
        else:
            leave = self.window.passes(self.t - self.t_sw)
            reason = "windowed rate below n_down"
        if leave and self.t < t_max - _EPS:
            self.to_macro(reason)

    def _micro_steps(self, t_max: float, forced: bool) -> int:
        """No switch is possible before the dwell (or the forced phase) ends: run up to then, or
        to the next density snapshot, in one call; afterwards run the fewest steps after which
        the test can pass, and test."""
        s, t = self.s, self.t
        t_free = self.forced_off if forced else self.t_sw + s.window
        if t < t_free - _EPS:
            return _steps_left(t, min(t_free, self.next_density, t_max), s.dt_micro)
        if forced:
            return 1
        return min(self.window.steps_before_pass(),
                   _steps_left(t, min(self.next_density, t_max), s.dt_micro))

    def to_macro(self, reason: str) -> None:
        """Reconstruct the density from the particles and hand over the windowed rate (a
        p_{n-1}/h of a reconstructed density is noise)."""
        t1 = time.perf_counter()
        mean_rate = self.window.mean_rate(full_width=False)
        self.hand_back = HandBack(self.t, self.V.copy(), np.array(self.window.counts),
                                  self.history.mark())
        self.p = self.kde.density(self.V, self.s.bw)
        self.rate = mean_rate
        self.events.append(SwitchEvent(self.t, "micro->macro", reason, self.t))
        self.mode, self.t_mac, self.steps_macro = "macro", self.t, 0
        self.ring.clear()
        self.wall["switch"] += time.perf_counter() - t1

    def result(self) -> SwitchResult:
        h = self.history

        def cat(chunks: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(chunks).astype(dtype) if chunks else np.empty(0, dtype)

        return SwitchResult(
            time=cat(h.times, float), rate=cat(h.rates, float),
            spikes=cat(h.spikes, float), micro=cat(h.modes, bool),
            density_time=np.asarray(h.dens_t, float),
            density=np.asarray(h.dens_p, float).reshape(len(h.dens_t), self.v.size),
            density_micro=np.asarray([m == "micro" for m in h.dens_mode], bool),
            events=self.events, wall=self.wall, max_fired_fraction=self.max_frac)


def run_switching(p0: np.ndarray, rate0: float, v: np.ndarray, v_f: float, t_max: float,
                  macro: MacroAdvance, micro: MicroAdvance, rng: np.random.Generator,
                  s: SwitchSettings, progress: Callable[[float], None] | None = None
                  ) -> SwitchResult:
    """Run the state machine from density ``p0`` (nodes ``v``) and rate ``rate0`` to t_max."""
    return Switcher(p0, rate0, v, v_f, macro, micro, rng, s).run(t_max, progress)


def _steps_left(t: float, t_end: float, dt: float) -> int:
    return max(1, math.ceil((t_end - t) / dt - 1e-6))


def _next_multiple(t: float, every: float) -> float:
    return (math.floor(t / every + 1e-6) + 1) * every


def _on_grid(t: float, every: float) -> bool:
    return abs(t / every - round(t / every)) < 1e-6
