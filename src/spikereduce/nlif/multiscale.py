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
from typing import Any

import numpy as np
import xarray as xr

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import check_int, check_positive, check_real, check_seed
from ..progress import progress_bar
from ..rng import streams
from ._kernels import n_blocks
from .fokker_planck import FokkerPlanckStepper
from .handover import KernelEstimator, sample_particles
from .params import NLIFParams, Periodic, Pulse
from .particles import ParticleSystem, particle_state

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
    """Validated settings of one run (names as in spec §3.2; see :func:`simulate_multiscale`).

    The ring buffer holds the density every ``macro_chunk`` macro steps, so a rollback lands
    within ``macro_chunk * dt_macro`` of ``t_back`` before the crossing; one call of the macro
    stepper covers up to ``MACRO_CALL_CHUNKS`` such chunks.
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


@dataclass
class _Trace:
    """Output history in chunks; a mark is a (step count, snapshot count) to truncate back to."""

    times: list[np.ndarray] = field(default_factory=list)
    rates: list[np.ndarray] = field(default_factory=list)
    spikes: list[np.ndarray] = field(default_factory=list)
    modes: list[np.ndarray] = field(default_factory=list)
    n_steps: int = 0
    dens_t: list[float] = field(default_factory=list)
    dens_p: list[np.ndarray] = field(default_factory=list)
    dens_mode: list[str] = field(default_factory=list)

    def mark(self) -> tuple[int, int]:
        return self.n_steps, len(self.dens_t)

    def truncate(self, mark: tuple[int, int]) -> None:
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


def run_switching(p0: np.ndarray, rate0: float, v: np.ndarray, v_f: float, t_max: float,
                  macro: MacroAdvance, micro: MicroAdvance, rng: np.random.Generator,
                  s: SwitchSettings, progress: Callable[[float], None] | None = None
                  ) -> SwitchResult:
    """Run the §3.2 state machine from density ``p0`` (nodes ``v``) and rate ``rate0`` to t_max."""
    trace = _Trace()
    kde = KernelEstimator(v, v_f=v_f)
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
    # Ring buffer of (t, p, trace mark) at macro chunk starts, covering >= t_back.
    ring: deque[tuple[float, np.ndarray, tuple[int, int]]] = deque()
    # State at the last switch back: (time, particles, window counts, trace mark).
    stash: tuple[float, np.ndarray, np.ndarray, tuple[int, int]] | None = None
    V = np.empty(0)
    t_sw = 0.0
    steps_micro = 0
    # Macro times count from the start of the macro phase: t_mac + j dt_macro, whatever the calls.
    t_mac, steps_macro = 0.0, 0
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
            if forced_on - _EPS <= t < forced_off - _EPS:
                t1 = time.perf_counter()
                V = sample_particles(v, p, s.n, rng, v_f=v_f)
                win_counts = deque(maxlen=n_win)
                events.append(SwitchEvent(t, "macro->micro", "forced", t))
                phase += 1
                mode, t_sw, steps_micro = "micro", t, 0
                ring.clear()
                stash = None
                wall["switch"] += time.perf_counter() - t1
                continue
            t0 = time.perf_counter()
            k = min(s.macro_chunk * MACRO_CALL_CHUNKS, _steps_left(t, t_max, s.dt_macro))
            if t < forced_on - _EPS < math.inf:
                k = min(k, _steps_left(t, forced_on, s.dt_macro))
            try:
                p_new, rate_new, rates, spikes, snaps = macro(p, rate, t, k, s.macro_chunk)
                bad = ~np.isfinite(rates) | (rates > s.n_up)
            except NumericalError:
                rates = spikes = np.empty(0)
                snaps = p[None, :]
                bad = np.ones(1, bool)
            # Steps before the crossing (all of them when there is none) enter the history.
            good = int(np.argmax(bad)) if bad.any() else rates.size
            times = t_mac + s.dt_macro * np.arange(steps_macro + 1, steps_macro + rates.size + 1)
            for i in range(snaps.shape[0]):
                step = i * s.macro_chunk
                if step > good:
                    break
                ts = t if step == 0 else float(times[step - 1])
                # snaps[i] is never written again (the stepper fills a fresh array): no copy.
                ring.append((ts, snaps[i], (trace.n_steps + step, len(trace.dens_t))))
                while len(ring) > 1 and ring[1][0] <= ts - s.t_back + _EPS:
                    ring.popleft()
                if ts >= next_density - _EPS:
                    snapshot(ts, snaps[i], "macro")
                    next_density = _next_multiple(ts, s.density_every)
            trace.add(times[:good], rates[:good], spikes[:good], "macro")
            wall["macro"] += time.perf_counter() - t0
            if bad.any():
                t_detect = t_mac + s.dt_macro * (steps_macro + good + 1)
                t1 = time.perf_counter()
                # Latest buffered state at least t_back before the crossing (else the oldest).
                t_rb, p_rb, mark = next((e for e in reversed(ring)
                                         if e[0] <= t_detect - s.t_back + _EPS), ring[0])
                reason = "rate above n_up" if np.isfinite(rates[good:good + 1]).all() else \
                    "non-finite rate"
                if stash is not None and t_rb < stash[0] + s.window - _EPS:
                    # Switching now would come less than a window after the last hand-over:
                    # that switch back was premature. Undo it (drop the macro history since,
                    # restore the particles and go on with them) rather than switch twice
                    # within the window.
                    t_rb, V, counts_hist, mark = stash
                    trace.truncate(mark)
                    win_counts = deque(counts_hist.tolist(), maxlen=n_win)
                    events.pop()
                    phase += 1
                else:
                    trace.truncate(mark)
                    V = sample_particles(v, p_rb, s.n, rng, v_f=v_f)
                    win_counts = deque(maxlen=n_win)
                    events.append(SwitchEvent(t_rb, "macro->micro", reason, t_detect))
                    phase += 1
                t, mode, t_sw, steps_micro = t_rb, "micro", t_rb, 0
                next_density = t if _on_grid(t, s.density_every) else _next_multiple(
                    t, s.density_every)
                ring.clear()
                stash = None
                wall["switch"] += time.perf_counter() - t1
                continue
            p, rate, t = p_new, float(rate_new), float(times[-1])
            steps_macro += rates.size
        else:
            if t >= next_density - _EPS:
                t1 = time.perf_counter()
                snapshot(t, kde.density(V, s.bw), "micro")
                wall["switch"] += time.perf_counter() - t1
                next_density = _next_multiple(t, s.density_every)
            t0 = time.perf_counter()
            forced = s.force_micro is not None and forced_on - _EPS <= t_sw < forced_off
            # No switch is possible before the dwell (or the forced phase) ends: run up to then,
            # or to the next density snapshot, in one call; afterwards run the fewest steps after
            # which the test can pass (see _steps_before_leave), and test.
            t_free = forced_off if forced else t_sw + s.window
            if t < t_free - _EPS:
                k = _steps_left(t, min(t_free, next_density, t_max), s.dt_micro)
            elif forced:
                k = 1
            else:
                k = min(_steps_before_leave(win_counts, n_win, s),
                        _steps_left(t, min(next_density, t_max), s.dt_micro))
            V, counts = micro(V, t, k, phase)
            win_counts.extend(int(c) for c in counts)
            max_frac = max(max_frac, int(counts.max()) / s.n)
            steps_micro += k
            times = t_sw + s.dt_micro * np.arange(steps_micro - k + 1, steps_micro + 1)
            t = float(times[-1])
            trace.add(times, counts / (s.n * s.dt_micro), counts / s.n, "micro")
            wall["micro"] += time.perf_counter() - t0
            if forced:
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
                stash = (t, V.copy(), np.array(win_counts), trace.mark())
                p = kde.density(V, s.bw)
                # Hand over the windowed rate: a p_{n-1}/h of a reconstructed density is noise.
                rate = mean_rate
                events.append(SwitchEvent(t, "micro->macro", reason, t))
                mode, t_mac, steps_macro = "macro", t, 0
                ring.clear()
                wall["switch"] += time.perf_counter() - t1
    if not trace.dens_t or trace.dens_t[-1] < t - _EPS:
        snapshot(t, p if mode == "macro" else kde.density(V, s.bw), mode)
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


def _steps_before_leave(win_counts: deque[int], n_win: int, s: SwitchSettings) -> int:
    """Fewest micro steps after which the switch-back test can pass (>= 1), from the window.

    New steps fire >= 0 neurons: a step firing f_sync * n or more stays in the window until it
    is pushed out, and the windowed sum falls at most by the counts pushed out. Running that
    many steps in one call changes nothing (a particle run split anywhere is bitwise the same)
    but saves a call per step while a burst leaves the window.
    """
    counts = list(win_counts)
    base = n_win - len(counts)  # steps before the oldest count is pushed out
    need = max(1, base)  # the window must also be full
    big = [i for i, c in enumerate(counts) if c >= s.f_sync * s.n]
    if big:
        need = max(need, base + big[-1] + 1)
    scale = n_win * s.n * s.dt_micro  # as in the test itself
    remaining = sum(counts)
    dropped = 0
    while dropped < len(counts) and remaining / scale >= s.n_down:
        remaining -= counts[dropped]
        dropped += 1
    return max(need, base + dropped)


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


def default_macro_step(params: NLIFParams, h: float) -> float:
    """Default Fokker–Planck step of the multi-scale solver on grid ``h``: h^2 min(1, 1/a).

    That is the spec's 1e-4 at h = 0.01 and a = 1, the largest step that keeps the density
    non-negative (dt a <= h^2, spec §2.2), scaled with h^2 like the scheme's error, and never
    beyond that positivity bound when a > 1.
    """
    return h * h * min(1.0, 1.0 / params.a)


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


def _check_settings(params: NLIFParams, n: int, t_max: float, h: float, dt_macro: float | None,
                    v_min: float, dt_micro: float | None, n_up: float, n_down: float,
                    window: float, f_sync: float, t_back: float, bw: float | None,
                    density_every: float, force_micro: Any) -> tuple[SwitchSettings, float]:
    if not isinstance(params, NLIFParams):
        raise ParameterError("params", type(params).__name__, "an NLIFParams object")
    n = check_int("n", n, lo=1)
    t_max = check_positive("t_max", t_max)
    h = check_positive("h", h)
    dt_macro = default_macro_step(params, h) if dt_macro is None else \
        check_positive("dt_macro", dt_macro)
    v_min = check_real("v_min", v_min, hi=params.v_r, hi_open=True)
    if dt_macro * params.a > h * h * (1 + 1e-12):
        # Positivity of the macro scheme (spec §2.2, §5.6): a negative density cannot be sampled.
        raise ParameterError("dt_macro", dt_macro, f"<= h^2/a = {h * h / params.a:g}")
    bound = max_micro_step(params)
    if dt_micro is None:
        dt_micro = bound
    else:
        dt_micro = check_positive("dt_micro", dt_micro)
        if dt_micro > bound * (1 + 1e-9):
            raise ParameterError("dt_micro", dt_micro,
                                 f"<= {bound:g} to resolve the input (|I| dt <= sqrt(2 a dt), "
                                 f"a pulse spans >= {STEPS_PER_PULSE} steps)")
    n_up = check_positive("n_up", n_up)
    n_down = check_positive("n_down", n_down)
    cap = params.a / (h * h)
    if n_up > CAP_FRACTION * cap:
        raise ParameterError("n_up", n_up, f"<= {CAP_FRACTION:g} a/h^2 = {CAP_FRACTION * cap:g} "
                             "(well below the macro grid's rate cap a/h^2)")
    if n_up < HYSTERESIS * n_down:
        raise ParameterError("n_up", n_up, f">= {HYSTERESIS:g} n_down = {HYSTERESIS * n_down:g} "
                             "(hysteresis; closer thresholds make the solver chatter)")
    window = check_real("window", window, lo=dt_micro)
    f_sync = check_real("f_sync", f_sync, lo=0.0, hi=1.0, lo_open=True)
    t_back = check_real("t_back", t_back, lo=0.0)
    if bw is not None:
        bw = check_positive("bw", bw)
    density_every = check_positive("density_every", density_every)
    forced = None
    if force_micro is not None:
        try:
            on, off = (float(x) for x in force_micro)
        except (TypeError, ValueError):
            raise ParameterError("force_micro", force_micro,
                                 "a pair (t_on, t_off) of times") from None
        if not 0.0 <= on < off:
            raise ParameterError("force_micro", force_micro, "0 <= t_on < t_off")
        forced = (on, off)
    n_cells = (params.v_f - v_min) / h
    if abs(n_cells - round(n_cells)) > 1e-6 or abs(
            (params.v_r - v_min) / h - round((params.v_r - v_min) / h)) > 1e-6:
        raise ParameterError("h", h, "a step that puts v_min, v_r and v_f on grid nodes")
    chunk = max(1, min(50, round(t_back / dt_macro / 4))) if t_back > 0 else 1
    return SwitchSettings(n=n, dt_macro=dt_macro, dt_micro=dt_micro, n_up=n_up, n_down=n_down,
                          window=window, f_sync=f_sync, t_back=t_back, bw=bw,
                          density_every=density_every, force_micro=forced,
                          macro_chunk=chunk), t_max


def simulate_multiscale(params: NLIFParams, n: int, t_max: float, *, p0: Any, seed: int,
                        h: float = 0.01, dt_macro: float | None = None, v_min: float = -4.0,
                        dt_micro: float | None = None, n_up: float = 10.0, n_down: float = 2.0,
                        window: float = 0.1, f_sync: float = 0.01, t_back: float = 0.02,
                        bw: float | None = None, bridge: bool = True,
                        density_every: float = 0.01,
                        force_micro: tuple[float, float] | None = None,
                        progress: bool | None = None) -> xr.Dataset:
    """Multi-scale run of the nlif network of ``n`` neurons from density ``p0`` up to ``t_max``.

    Fokker–Planck steps (grid ``h``, ``v_min``, step ``dt_macro``) while the rate stays at or
    below ``n_up``; on crossing, roll back ``t_back``, sample ``n`` particles by stratified
    quantiles and run the particle network (step ``dt_micro``, cascades, ``bridge`` correction)
    until, after at least ``window``, the windowed rate is below ``n_down`` and no step fired
    more than ``f_sync`` of the neurons; then reconstruct the density (kernel width ``bw``, default
    max(2h, Silverman)) and hand the windowed rate back to the macro solver. ``force_micro =
    (t_on, t_off)`` forces a micro phase (round-trip test T6). All times in membrane time
    constants; rates in spikes per neuron per unit time.

    ``dt_macro=None`` takes h^2 min(1, 1/a): the spec's 1e-4 on its grid h = 0.01 (a = 1), and in
    general the largest step that keeps the macro density non-negative (dt a <= h^2) and no
    larger than the spec's step scaled with h^2. A coarser grid is much cheaper (h = 0.025: 2.5x
    fewer nodes, 6.25x fewer steps) at a macro error of ~0.15 % in the cumulative spikes, see
    docs/families/nlif_multiscale.md.
    ``dt_micro=None`` picks the largest step that resolves the input (:func:`max_micro_step`); a
    larger explicit step is refused. Requires ``n_up >= 5 n_down`` and ``n_up <= 0.1 a/h^2``.

    Returns a Dataset on ``time`` (every step's end; macro and micro steps interleaved) with
    ``rate``, ``cumulative_spikes``, ``mode`` ("macro"/"micro"), ``density`` on
    (``density_time``, ``v``) every ``density_every`` (reconstructed from the particles in micro
    phases), the switch events on dimension ``switch`` and the wall time of each mode in attrs
    (``wall_time_macro``, ``wall_time_micro``, ``wall_time_switch``).
    """
    settings, t_max = _check_settings(params, n, t_max, h, dt_macro, v_min, dt_micro, n_up,
                                      n_down, window, f_sync, t_back, bw, density_every,
                                      force_micro)
    seed = check_seed(seed)
    if not isinstance(bridge, bool):
        raise ParameterError("bridge", bridge, "true or false")
    timer = PhaseTimer()
    with timer("compile"):
        _warm_up()
    with timer("setup"):
        stepper = FokkerPlanckStepper(params, h=h, dt=settings.dt_macro, v_min=v_min,
                                      strict=True)
        grid = stepper.v
        p_init, rate0 = stepper.initial(p0)
        macro = _macro_adapter(stepper, settings.n_up)
        rs = streams(seed)
        micro = _micro_adapter(params, settings.dt_micro, bridge, seed)
    with progress_bar(t_max, "nlif multi-scale", enabled=progress) as bar:
        res = run_switching(p_init, rate0, grid, params.v_f, t_max, macro, micro,
                            rs.generator("handover"), settings, progress=bar.update)
    for phase, seconds in res.wall.items():
        timer.add(phase, seconds)
    return _dataset(params, res, grid, settings, seed, timer, rate0, bridge, h, v_min)


def _dataset(params: NLIFParams, res: SwitchResult, grid: np.ndarray, s: SwitchSettings,
             seed: int, timer: PhaseTimer, rate0: float, bridge: bool, h: float,
             v_min: float) -> xr.Dataset:
    time_ = np.concatenate(([0.0], res.time))
    rate = np.concatenate(([rate0], res.rate))
    cum = np.concatenate(([0.0], np.cumsum(res.spikes)))
    micro = np.concatenate(([False], res.micro))
    if res.micro.size:
        micro[0] = res.micro[0] and res.events[0].time == 0.0
    mode = np.where(micro, "micro", "macro")
    step = np.diff(time_, prepend=0.0)
    ev = res.events
    t_micro = float(step[micro].sum())
    data = {
        "rate": ("time", rate, {"units": "spikes per neuron per unit time",
                                "long_name": "firing rate N(t)"}),
        "cumulative_spikes": ("time", cum, {"units": "spikes per neuron"}),
        "mode": ("time", mode, {"description": "solver that computed the step ending here"}),
        "density": (("density_time", "v"), res.density,
                    {"units": "per unit voltage",
                     "description": "voltage density on the macro grid; reconstructed from "
                                    "the particles (image kernel) in micro phases"}),
        "density_mode": ("density_time", np.where(res.density_micro, "micro", "macro")),
        "switch_time": ("switch", np.array([e.time for e in ev], float)),
        "switch_direction": ("switch", np.array([e.direction for e in ev], dtype="U12")),
        "switch_reason": ("switch", np.array([e.reason for e in ev], dtype="U32")),
        "switch_detected_at": ("switch", np.array([e.detected_at for e in ev], float)),
    }
    coords = {"time": time_, "v": ("v", grid, {"units": "dimensionless voltage"}),
              "density_time": res.density_time, "switch": np.arange(len(ev))}
    return make_dataset(
        data, coords, family="nlif", model="multiscale", params=params.to_dict(), seed=seed,
        timings=timer, time_units="membrane time constants", n=s.n, h=h, v_min=v_min,
        dt_macro=s.dt_macro, dt_micro=s.dt_micro, n_up=s.n_up, n_down=s.n_down,
        window=s.window, f_sync=s.f_sync, t_back=s.t_back,
        bw=-1.0 if s.bw is None else s.bw, bridge=bridge, density_every=s.density_every,
        time_in_micro=t_micro, n_switches=len(ev),
        max_fired_fraction=res.max_fired_fraction,
        switch_events=[{"time": e.time, "direction": e.direction, "reason": e.reason,
                        "detected_at": e.detected_at} for e in ev])


# --- adapters onto the nlif step-level solvers ---------------------------------------------------


def _warm_up() -> None:
    """Compile (or load from cache) both kernels on a tiny problem, timed as "compile"."""
    params = NLIFParams()
    st = FokkerPlanckStepper(params, h=0.25, dt=1e-3)
    p, r = st.initial(lambda x: np.exp(-x * x))
    st.advance(p, r, 0.0, 1)
    ParticleSystem(params, np.zeros(4), dt=1e-3).advance(1)


def _macro_adapter(stepper: FokkerPlanckStepper, n_up: float) -> MacroAdvance:
    def advance(p: np.ndarray, rate: float, t: float, k: int, every: int
                ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
        q = p.copy()  # the stepper works in place; the caller keeps p for its ring buffer
        snaps = np.empty((-(-k // every), q.size))
        # Stopping at n_up saves the steps after a crossing, which the rollback discards anyway.
        rates = stepper.advance(q, rate, t, k, rate_cap=n_up, snapshots=snaps, every=every)
        done = -(-rates.size // every)
        return q, float(rates[-1]), rates, stepper.spikes_per_step(rate, rates), snaps[:done]
    return advance


def _micro_adapter(params: NLIFParams, dt: float, bridge: bool, seed: int
                   ) -> MicroAdvance:
    systems: dict[int, ParticleSystem] = {}

    def advance(V: np.ndarray, t: float, k: int, phase: int) -> tuple[np.ndarray, np.ndarray]:
        system = systems.get(phase)
        if system is None or system.v is not V:
            # A new micro phase: its own random stream, derived from (seed, phase) only, so a
            # run is reproducible whatever happened before.
            state = particle_state(seed, n_blocks(V.size), phase, purpose="micro")
            system = ParticleSystem(params, V, dt=dt, rng_state=state, t=t,
                                    bridge=bridge)
            systems.clear()
            systems[phase] = system
        counts, _ = system.advance(k)
        return system.v, counts
    return advance
