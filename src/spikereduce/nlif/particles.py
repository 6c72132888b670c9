"""The microscopic NLIF network: N noisy LIF neurons with all-to-all kicks b/N and cascades.

:class:`ParticleSystem` is the resumable step-level object (voltages and
random state in, out) that the public :func:`simulate_particles` and the multi-scale solver use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import (
    check_choice,
    check_count,
    check_int,
    check_positive,
    check_real,
    check_seed,
    check_steps,
)
from ..progress import chunk_bounds, progress_bar
from ..rng import streams
from ._kernels import n_blocks, particle_steps, particle_steps_parallel, work_arrays
from .initial import initial_voltages
from .params import NLIFParams, step_currents

RESETS = ("exact", "integral")
STATE_WORDS = 2  # generator positions per block: normals, bridge uniforms


def particle_state(seed: int, n_blocks: int, *key: int, purpose: str = "particles"
                   ) -> np.ndarray:
    """The uint64[n_blocks, 2] generator positions of a particle system from a run's seed
    (``purpose`` and ``key`` select another stream of the run, e.g. a multi-scale phase)."""
    return streams(seed).state(purpose, STATE_WORDS * n_blocks, *key).reshape(
        n_blocks, STATE_WORDS)


class ParticleSystem:
    """N particles at time ``t`` with their random state; :meth:`advance` runs k steps.

    * ``voltages``: initial voltages (copied; all <= v_f).
    * ``rng_state``: an integer seed (the run's seed: its "particles" stream is used) or the
      uint64[n_blocks, 2] generator positions of another system's ``state`` to continue from
      (copied); one row per block of 8192 neurons: column 0 gives the Euler–Maruyama normals,
      column 1 the Brownian-bridge uniforms.
    * ``threads``: run each step's blocks on numba's threads (bitwise the same output). Off by
      default: it pays only on idle cores. On two cores, n = 1e5, T = 5: 1.0-1.5 s wall against
      1.75 s serial at load < 0.7, but 12-27 s once other jobs push the load to 3-4 (a
      descheduled thread stalls each step's OpenMP barrier, 5000 of them per run).
    * ``t``: the time of ``voltages``; inputs I(t) are evaluated from it.

    The state after ``advance(k1); advance(k2)`` equals the state after ``advance(k1 + k2)``
    bit for bit, so callers may stop, inspect or hand the voltages over at any step.
    """

    def __init__(self, params: NLIFParams, voltages: Any, *, dt: float = 1e-3,
                 rng_state: int | np.ndarray = 0, t: float = 0.0, cascade: bool = True,
                 bridge: bool = True, reset: str = "exact", n_record: int = 0,
                 record_capacity: int = 200_000, threads: bool = False):
        params = NLIFParams.check(params)
        self.params = params
        self.dt = check_positive("dt", dt)
        self.t0 = check_real("t", t)
        v = np.array(voltages, dtype=np.float64)
        if v.ndim != 1 or v.size < 1:
            raise ParameterError("voltages", f"shape {v.shape}", "a non-empty 1-D array")
        if not np.all(np.isfinite(v)) or np.any(v > params.v_f):
            raise ParameterError("voltages", "values above v_f or non-finite",
                                 f"finite and <= v_f = {params.v_f:g}")
        self.v = v
        nb = n_blocks(v.size)
        if isinstance(rng_state, np.ndarray):
            shape = (nb, STATE_WORDS)
            if rng_state.shape != shape or rng_state.dtype != np.uint64:
                raise ParameterError("rng_state", f"array {rng_state.dtype}{rng_state.shape}",
                                     f"an integer seed or a uint64[{nb}, {shape[1]}] state")
            self.state = rng_state.copy()
        else:
            self.state = particle_state(check_int("rng_state", rng_state, lo=0), nb)
        self.parallel = bool(threads)
        self._work = work_arrays(v.size, self.parallel)
        self.cascade = bool(cascade)
        self.bridge = bool(bridge)
        self.reset = check_choice("reset", reset, RESETS)
        self.n_record = check_int("n_record", n_record, lo=0)
        capacity = check_int("record_capacity", record_capacity, lo=0) if n_record else 0
        self.rec_idx = np.empty(capacity, np.int64)
        self.rec_step = np.empty(capacity, np.int64)
        self.rec_n = np.zeros(2, np.int64)
        self.steps_done = 0
        self.last_count = 0  # k* of the last step done (sizes the next step's cascade scan)

    @property
    def n(self) -> int:
        return int(self.v.size)

    @property
    def t(self) -> float:
        """Current time (t0 + steps_done * dt, without accumulated round-off)."""
        return self.t0 + self.steps_done * self.dt

    def advance(self, n_steps: int, currents: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Run ``n_steps`` steps; return (k*, k0) per step: fired neurons and primary crossings.

        ``currents`` overrides the per-step input (default: step averages of params.current).
        """
        n_steps = check_int("n_steps", n_steps, lo=0)
        if currents is None:
            currents = step_currents(self.params.current, self.t, self.dt, n_steps)
        currents = np.ascontiguousarray(currents, dtype=np.float64)
        if currents.shape != (n_steps,):
            raise ParameterError("currents", f"shape {currents.shape}", f"shape ({n_steps},)")
        counts = np.zeros(n_steps, np.int64)
        primary = np.zeros(n_steps, np.int64)
        p = self.params
        kernel = particle_steps_parallel if self.parallel else particle_steps
        kernel(self.v, self.state, currents, self.dt, p.a, p.b, p.v_f, p.v_r,
                       self.cascade, self.bridge, self.reset == "integral", counts, primary,
                       self.n_record, self.rec_idx, self.rec_step, self.rec_n, self.steps_done,
                       self.last_count, *self._work)
        self.steps_done += n_steps
        if n_steps:
            self.last_count = int(counts[-1])
        return counts, primary

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes: (times at the end of their step, neuron indices)."""
        k = int(self.rec_n[0])
        return self.t0 + (self.rec_step[:k] + 1) * self.dt, self.rec_idx[:k].copy()


def _compile_particle_kernel(parallel: bool = False) -> None:
    if (particle_steps_parallel if parallel else particle_steps).signatures:
        return
    ps = ParticleSystem(NLIFParams(), np.zeros(4), dt=1e-3, n_record=1, record_capacity=4,
                        threads=parallel)
    ps.advance(2)


#: Memory per neuron of a particle run: voltages, work arrays, initial sampling.
PARTICLE_BYTES = 64


def simulate_particles(params: NLIFParams, n: int, t_max: float, *, p0: Any, dt: float = 1e-3,
                       seed: int, cascade: bool = True, bridge: bool = True,
                       reset: str = "exact", n_record: int = 0, snapshot_every: float | None = None,
                       threads: bool = False, progress: bool | None = None) -> xr.Dataset:
    """Simulate the NLIF particle network with ``n`` neurons up to ``t_max``.

    ``p0``: initial law (gaussian_density, a callable density, or an array of n voltages).
    ``dt``: Euler–Maruyama step (time units of tau_m). ``cascade``: resolve same-step cascades;
    ``bridge``: Brownian-bridge crossing correction; ``reset``: "exact" (to v_r) or
    "integral" (V + b k*/N - (v_f - v_r)); ``n_record``: record the spikes of neurons
    0..n_record-1; ``snapshot_every``: store all voltages every this much time; ``threads``: run
    the neuron blocks of each step on numba's threads (same output; see :class:`ParticleSystem`).

    Returns a Dataset on ``time`` = the end of each step: ``rate`` (k*/(n dt), spikes per neuron
    per unit time), ``fired_fraction`` (k*/n), ``cumulative_spikes`` (spikes per neuron since
    t = 0), ``primary_fraction`` (k0/n, crossings before the cascade); optionally ``spike_time``/
    ``spike_neuron`` and ``voltage`` snapshots. attrs hold the largest cascade.
    """
    params = NLIFParams.check(params)
    n = check_count("n", n, bytes_per_item=PARTICLE_BYTES)
    t_max = check_positive("t_max", t_max)
    dt = check_positive("dt", dt)
    seed = check_seed(seed)
    check_choice("reset", reset, RESETS)
    n_record = check_int("n_record", n_record, lo=0, hi=n)
    n_steps = check_steps(t_max, dt, bytes_per_step=64)
    snap_steps: list[int] = []
    if snapshot_every is not None:
        every = check_positive("snapshot_every", snapshot_every)
        k = max(1, round(every / dt))
        snap_steps = list(range(0, n_steps + 1, k))

    timer = PhaseTimer()
    with timer("compile"):
        _compile_particle_kernel(bool(threads))
    with timer("setup"):
        st = streams(seed)
        v0 = initial_voltages(p0, n, st.generator("initial"), params.v_f)
        system = ParticleSystem(params, v0, dt=dt, rng_state=seed, cascade=cascade,
                                bridge=bridge, reset=reset, n_record=n_record,
                                record_capacity=max(1000, 20 * n_record * max(1, int(t_max))),
                                threads=threads)
    counts = np.zeros(n_steps, np.int64)
    primary = np.zeros(n_steps, np.int64)
    snaps: list[np.ndarray] = []
    with timer("simulate"), progress_bar(t_max, "nlif particles", enabled=progress) as bar:
        cuts = sorted({b for _, b in chunk_bounds(n_steps, 50)} | set(snap_steps) | {0})
        if 0 in snap_steps:
            snaps.append(system.v.copy())
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            counts[lo:hi], primary[lo:hi] = system.advance(hi - lo)
            if hi in snap_steps:
                snaps.append(system.v.copy())
            bar.update(hi * dt)
    if not np.all(np.isfinite(system.v)):
        raise NumericalError("particle voltages became non-finite", time=system.t)

    time = dt * np.arange(1, n_steps + 1)
    data: dict[str, Any] = {
        "rate": ("time", counts / (n * dt), {"units": "spikes per neuron per unit time"}),
        "fired_fraction": ("time", counts / n, {"units": "1"}),
        "primary_fraction": ("time", primary / n, {"units": "1"}),
        "cumulative_spikes": ("time", np.cumsum(counts) / n, {"units": "spikes per neuron"}),
    }
    coords: dict[str, Any] = {"time": time}
    if n_record:
        ts, idx = system.spikes()
        data["spike_time"] = ("spike", ts)
        data["spike_neuron"] = ("spike", idx)
    if snaps:
        coords["snapshot_time"] = dt * np.asarray(snap_steps[:len(snaps)], float)
        data["voltage"] = (("snapshot_time", "neuron"), np.asarray(snaps))
    j = int(np.argmax(counts))
    return make_dataset(
        data, coords, family="nlif", model="particles", params=params.to_dict(), seed=seed,
        timings=timer, time_units="tau_m", n=n, dt=dt, cascade=cascade, bridge=bridge,
        reset=reset, largest_cascade=int(counts[j]), largest_cascade_fraction=counts[j] / n,
        largest_cascade_time=float(time[j]), spikes_total=int(counts.sum()),
        spike_record_overflow=int(system.rec_n[1]),
        neuron_steps_per_second=n * n_steps / max(timer.seconds.get("simulate", 0.0), 1e-12))
