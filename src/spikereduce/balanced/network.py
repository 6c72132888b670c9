"""The finite balanced network of 2n neurons simulated by τ-leaping (exact per-edge law).

Gaussian initial data, one Poisson count per receiver and presynaptic population per step, and
a shared-spike negative control (``edges="shared"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import (
    check_choice,
    check_count,
    check_positive,
    check_real,
    check_seed,
    check_steps,
)
from ..progress import chunk_bounds, progress_bar
from ..rng import streams
from . import _kernels as _k
from .gaussian import sigmoid_code
from .limit import DESCRIPTIONS, TIME_UNITS, LimitModel, as_state
from .params import BalancedParams

STEP_RULE = 0.1  # sqrt(n) |D| dt above this: the fast balance relaxation is not resolved
_COLUMNS = ("m_E", "m_I", "v_E", "v_I", "r_E", "r_I", "drift", "D")


def simulate_network(params: BalancedParams, n: int, t_max: float, *, y0: Any,
                     dt: float = 1e-3, seed: int = 0, record_dt: float = 0.01,
                     snapshot_times: Sequence[float] = (), edges: str = "independent",
                     on_loss_of_balance: str = "warn", progress: bool | None = None
                     ) -> xr.Dataset:
    """Simulate n E and n I neurons from i.i.d. Gaussian states y0 = (m_E, m_I, v_E, v_I).

    Returns a Dataset over ``time`` (every ``record_dt``) with the empirical means and variances
    (ddof 0) m_E, m_I, v_E, v_I, the mean rates r_E, r_I (1/time), the integrated common drift
    ``drift`` = int_0^t sqrt(n) G_n ds and the empirical balance stiffness ``D``; with
    ``snapshot_times`` also the states ``x_E``, ``x_I`` at those times.

    ``edges="independent"`` is the model (one Poisson process per ordered pair);
    ``edges="shared"`` is a negative control (each neuron's spikes hit all targets).
    The step rule sqrt(n) |D| dt <= 0.1 is checked at the start (ParameterError on ``dt``).
    D >= 0 at the start (loss of balance) warns by default, raises with
    ``on_loss_of_balance="raise"``, and is recorded in ``attrs["balance_lost"]`` either way.
    """
    params = BalancedParams.check(params)
    n = check_count("n", n, lo=2, bytes_per_item=96)  # states, intensities, counts (E and I)
    t_max = check_positive("t_max", t_max)
    dt = check_real("dt", dt, lo=0.0, lo_open=True, hi=t_max)
    seed = check_seed(seed)
    record_dt = check_real("record_dt", record_dt, lo=0.0, lo_open=True)
    check_choice("edges", edges, ("independent", "shared"))
    check_choice("on_loss_of_balance", on_loss_of_balance, ("raise", "warn", "ignore"))
    mE0, mI0, vE0, vI0 = as_state(y0)
    check_steps(t_max, dt, bytes_per_step=64)
    n_steps = int(round(t_max / dt))
    if abs(n_steps * dt - t_max) > 1e-9 * t_max:
        raise ParameterError("dt", dt, f"a divisor of t_max = {t_max:g}")
    stride = max(1, int(round(record_dt / dt)))
    if abs(stride * dt - record_dt) > 1e-9 * record_dt and record_dt > dt:
        raise ParameterError("record_dt", record_dt, f"a multiple of dt = {dt:g}")
    if n_steps % stride:
        raise ParameterError("record_dt", record_dt, f"a divisor of t_max = {t_max:g}")
    snaps = np.atleast_1d(np.asarray(snapshot_times, dtype=float))
    snap_steps = np.rint(snaps / dt).astype(np.int64)
    if snaps.size and (np.any(~np.isfinite(snaps)) or np.any(snaps < 0) or np.any(snaps > t_max)
                       or np.any(np.abs(snap_steps * dt - snaps) > 1e-9 + 1e-9 * t_max)):
        raise ParameterError("snapshot_times", snaps.tolist(), f"multiples of dt in [0, {t_max:g}]")

    model = LimitModel(params)
    D0 = float(model.parts(np.array([mE0, mI0, vE0, vI0]))["D"])
    rule = math.sqrt(n) * abs(D0) * dt
    if rule > STEP_RULE:
        raise ParameterError("dt", dt, f"<= {STEP_RULE / (math.sqrt(n) * abs(D0)):.3g} "
                             f"(step rule sqrt(n) |D| dt <= {STEP_RULE}; here {rule:.3g})")
    balance_lost = not D0 < 0
    if balance_lost:
        msg = (f"loss of balance: D = {D0:.4g} >= 0 at the start; the balanced manifold repels "
               "and the network has no n-independent limit")
        if on_loss_of_balance == "raise":
            raise NumericalError(msg, time=0.0)
        if on_loss_of_balance == "warn":
            warnings.warn(msg, RuntimeWarning, stacklevel=2)

    timer = PhaseTimer()
    st = streams(seed)
    with timer("initial"):
        init = st.generator("initial")
        xE = mE0 + math.sqrt(vE0) * init.standard_normal(n)
        xI = mI0 + math.sqrt(vI0) * init.standard_normal(n)
    pE = np.array(params.population("E"))
    pI = np.array(params.population("I"))
    code = sigmoid_code(params.sigmoid)
    with timer("compile"):
        _compile()
    with timer("simulate"), progress_bar(t_max, "balanced network", enabled=progress) as bar:
        out, snapE, snapI = run_arrays(xE, xI, code, pE, pI, float(params.nu), dt, n_steps,
                                       stride, snap_steps, st.state("network"),
                                       shared=edges == "shared", progress=bar)
    if not np.all(np.isfinite(out)):
        bad = int(np.argmax(~np.all(np.isfinite(out), axis=1)))
        raise NumericalError("network state became non-finite", time=bad * stride * dt)

    t = np.arange(out.shape[0]) * stride * dt
    data: dict[str, Any] = {name: ("time", out[:, i]) for i, name in enumerate(_COLUMNS)}
    coords: dict[str, Any] = {"time": t}
    if snaps.size:
        data["x_E"] = (("snapshot_time", "neuron"), snapE)
        data["x_I"] = (("snapshot_time", "neuron"), snapI)
        coords["snapshot_time"] = snap_steps * dt
    rule_max = float(np.max(np.sqrt(n) * np.abs(out[:, 7]) * dt))
    if rule_max > STEP_RULE and not balance_lost:
        warnings.warn(f"step rule sqrt(n) |D| dt reached {rule_max:.3g} > {STEP_RULE} during "
                      "the run; reduce dt", RuntimeWarning, stacklevel=2)
    ds = make_dataset(data, coords, family="balanced", model="network",
                      params=params.to_dict(), seed=seed, timings=timer, time_units=TIME_UNITS,
                      n=n, dt=dt, edges=edges, y0=[mE0, mI0, vE0, vI0],
                      initial_D=D0, step_rule_initial=rule, step_rule_max=rule_max,
                      balance_lost=int(balance_lost), neuron_steps=2 * n * n_steps)
    for name, (text, units) in DESCRIPTIONS.items():
        if name in ds:
            ds[name].attrs.update(long_name=text.replace("mean ", "empirical mean ", 1),
                                  units=units)
    ds["drift"].attrs.update(long_name="integrated common drift int sqrt(n) G_n dt", units="1")
    ds["D"].attrs.update(long_name="empirical balance stiffness w_E <f_E'> - w_I <f_I'>",
                         units="1/time")
    return ds


def run_arrays(xE: np.ndarray, xI: np.ndarray, code: int, pE: np.ndarray, pI: np.ndarray,
               nu: float, dt: float, n_steps: int, stride: int, snap_steps: np.ndarray,
               rng_state: np.ndarray, *, shared: bool = False, progress: Any = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The time loop on plain arrays (states updated in place), run in chunks.

    pE, pI = (gamma, mu, lam, beta, h, w). Returns the statistics table (rows every ``stride``
    steps, columns ``_COLUMNS``) and the snapshots of E and I states. Any positive or zero gain is
    accepted here (beta = 0 gives constant intensities). ``rng_state`` is the
    generator position (uint64[1]), advanced in place.
    """
    n = xE.shape[0]
    out = np.full((n_steps // stride + 1, len(_COLUMNS)), np.nan)
    snap_steps = np.asarray(snap_steps, dtype=np.int64)
    snapE = np.empty((snap_steps.size, n))
    snapI = np.empty((snap_steps.size, n))
    mu_max = n * max(pE[2], pI[2]) * dt
    cap, gcap = _k.table_size(mu_max), _k.guide_size(mu_max)
    tables = [np.zeros(cap), np.zeros(cap), np.zeros(gcap, dtype=np.int64),
              np.zeros(cap), np.zeros(cap), np.zeros(gcap, dtype=np.int64)]
    fE = np.empty(n)
    fI = np.empty(n)
    drift = np.zeros(1)
    tab = _k.phi_table()
    rs = rng_state
    for a, b in chunk_bounds(n_steps, 50):
        _k.run_chunk(xE, xI, fE, fI, code, tab, np.asarray(pE, float), np.asarray(pI, float),
                     float(nu), dt, a, b, stride, out, snap_steps, snapE, snapI, drift, rs,
                     bool(shared), *tables)
        if progress is not None:
            progress.update(b * dt)
    return out, snapE, snapI


_COMPILED = False


def _compile() -> None:
    """Compile (or load from cache) the kernel on a tiny problem, so timings separate it."""
    global _COMPILED
    if _COMPILED:
        return
    n = 4
    x = np.zeros(n)
    p = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    cap = _k.table_size(1.0)
    tab = _k.phi_table()
    for code in (0, 1):
        _k.run_chunk(x.copy(), x.copy(), np.empty(n), np.empty(n), code, tab, p, p, 0.0, 0.01, 0,
                     1, 1, np.zeros((2, 8)), np.zeros(0, dtype=np.int64), np.empty((0, n)),
                     np.empty((0, n)), np.zeros(1), np.ones(1, np.uint64), False, np.zeros(cap),
                     np.zeros(cap), np.zeros(_k.guide_size(1.0), dtype=np.int64), np.zeros(cap),
                     np.zeros(cap), np.zeros(_k.guide_size(1.0), dtype=np.int64))
    _COMPILED = True
