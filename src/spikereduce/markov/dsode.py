"""The dsODE: bin-transport reduction of the network (markov spec §2.4), 150 state variables.

Per population: neurons per voltage bin n_m, their mean voltage (stored as W_m = n_m·V̄_m) and
the refractory pool R; shared: the 8 pending-spike moments. A fixed-step map at dt (ms).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from numba import njit

from ..errors import NumericalError
from ..io import PhaseTimer
from ..params import check_choice, check_positive
from ..progress import chunk_bounds, progress_bar
from .moments import _moment_step
from .params import MarkovParams, check_dt, check_params
from .records import build_dataset
from .transition import _closure, _transport

_EPS = 1e-4  # width of the degenerate uniform at a bin edge (reference closure)
_TINY = 1e-10  # reference tolerance: smaller bin counts are set to 0


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def _dsode_chunk(s0, s1, n, w, refr, hbar, sig, r_prev, lost, n_pop, lam, M, Mr, tau_m, tau, p,
                 s, tau_r, dt, code_refractory, edges, m0, out_rate, out_h, out_sig, out_r,
                 out_n, out_lost):
    """Advance the dsODE over steps [s0, s1) in place.

    n, w: (2, J) bin counts and first moments; refr: (2,) refractory pools; hbar, sig: (4,)
    moments; r_prev: (2,) last step's rates (spikes/ms), used by the moment step (reference lag);
    lost: (2,) cumulative mass dropped (below the grid or under the 1e-10 tolerance).
    """
    nb = edges.size - 1
    new_n = np.empty(nb)
    new_w = np.empty(nb)
    inv_span = 1.0 / (M + Mr)
    if tau_m > 0:
        ext_mu = lam / tau_m
        ext_var = lam / (tau_m * tau_m)
        shrink = 1.0 - dt / tau_m
    else:
        ext_mu = lam
        ext_var = lam
        shrink = 1.0
    nf = np.zeros(2)
    for step in range(s0, s1):
        for pop in range(2):
            ke = 2 * pop
            ki = ke + 1
            drive_e = s[ke] * hbar[ke] / tau[ke]
            drive_i = s[ki] * hbar[ki] / tau[ki]
            var_e = s[ke] * s[ke] * sig[ke] / (tau[ke] * tau[ke])
            var_i = s[ki] * s[ki] * sig[ki] / (tau[ki] * tau[ki])
            new_n[:] = 0.0
            new_w[:] = 0.0
            fired = 0.0
            dropped = 0.0
            for m in range(nb):
                nm = n[pop, m]
                if nm < _TINY:
                    dropped += nm
                    continue
                vbar = w[pop, m] / nm
                a, b = _closure(vbar, edges[m], edges[m + 1], _EPS)
                a *= shrink
                b *= shrink
                # inhibitory factor evaluated at the bin mean (closure of §2.4)
                f = (vbar + Mr) * inv_span
                mu = (ext_mu + drive_e - f * drive_i) * dt
                var = (ext_var + var_e + f * f * var_i) * dt
                spike, below, placed = _transport(a, b, mu, math.sqrt(var), edges, nm, new_n,
                                                  new_w)
                fired += nm * spike
                dropped += nm * (1.0 - spike - placed)
            # refractory pool: R' = R + nf, outflow L re-enters the reset bin at v = 0
            r_tmp = refr[pop] + fired
            if tau_r <= 0:
                out = r_tmp
            elif code_refractory:
                out = abs((-r_tmp / tau_r + fired) * dt)
                out = round(out * 1e10) / 1e10
                if out > r_tmp:
                    out = r_tmp
            else:
                out = r_tmp * dt / tau_r
            refr[pop] = r_tmp - out
            new_n[m0] += out
            for d in range(nb):
                n[pop, d] = new_n[d]
                w[pop, d] = new_w[d]
                out_n[step, pop, d] = new_n[d]
            nf[pop] = fired
            lost[pop] += dropped
        # moments: one Euler step with the previous step's rates (one step of extra lag)
        _moment_step(hbar, sig, r_prev[0], r_prev[1], tau, p, dt)
        r_prev[0] = nf[0] / dt
        r_prev[1] = nf[1] / dt
        out_rate[step, 0] = nf[0]
        out_rate[step, 1] = nf[1]
        for k in range(4):
            out_h[step, k] = hbar[k]
            out_sig[step, k] = sig[k]
        out_r[step, 0] = refr[0]
        out_r[step, 1] = refr[1]
        out_lost[step, 0] = lost[0]
        out_lost[step, 1] = lost[1]


def simulate_dsode(params: MarkovParams, t_max: float = 1000.0, *, refractory: str = "code",
                   dt: float = 0.1, progress: bool | None = None) -> xr.Dataset:
    """Run the dsODE for ``t_max`` ms from all neurons at v ≈ 0 and all moments 0.

    ``refractory="code"`` uses the reference code's outflow L = |(−R'/τ_r + nf)·dt| (gives the
    SNN's period-2 beats); ``"clean"`` the textbook L = R'·dt/τ_r. Returns rate_E, rate_I
    (population spikes/ms), H_QQ' and Sigma_QQ' (moments), R_E/R_I, vhist_E/I (n_m per bin) and
    lost_E/lost_I (cumulative mass dropped below the grid or under the 1e-10 tolerance); at every
    step Σ n + R + lost = N_Q.
    """
    check_params(params)
    refractory = check_choice("refractory", refractory, ("code", "clean"))
    t_max = check_positive("t_max", t_max)
    dt = check_dt(params, dt)
    timer = PhaseTimer()
    n_steps = int(round(t_max / dt))
    nb = params.n_bins
    m0 = params.reset_bin
    n = np.zeros((2, nb))
    w = np.zeros((2, nb))
    n[0, m0] = params.n_e
    n[1, m0] = params.n_i
    w[:, m0] = 1e-4
    refr = np.zeros(2)
    hbar = np.zeros(4)
    sig = np.zeros(4)
    r_prev = np.zeros(2)
    lost = np.zeros(2)
    tau, p, s = params.synapse_arrays()
    edges = params.bin_edges.astype(float)
    out_rate = np.zeros((n_steps, 2))
    out_h = np.zeros((n_steps, 4))
    out_sig = np.zeros((n_steps, 4))
    out_r = np.zeros((n_steps, 2))
    out_n = np.zeros((n_steps, 2, nb))
    out_lost = np.zeros((n_steps, 2))
    n_pop = np.array([params.n_e, params.n_i], dtype=float)
    chunks = chunk_bounds(n_steps, 20)
    with progress_bar(t_max, "markov dsODE", enabled=progress) as bar:
        for c, (a, b) in enumerate(chunks):
            # the first chunk carries numba compilation (or the cache load)
            with timer("compile" if c == 0 else "simulate"):
                _dsode_chunk(a, b, n, w, refr, hbar, sig, r_prev, lost, n_pop, params.lam,
                             params.M, params.Mr, params.tau_m, tau, p, s, params.tau_r, dt,
                             refractory == "code", edges, m0, out_rate, out_h, out_sig, out_r,
                             out_n, out_lost)
            if not (np.all(np.isfinite(n)) and np.all(np.isfinite(hbar))
                    and np.all(np.isfinite(sig))):
                raise NumericalError("non-finite dsODE state", time=b * dt)
            bar.update(b * dt)
    extra = {"lost_E": ("time", out_lost[:, 0], {"units": "neurons"}),
             "lost_I": ("time", out_lost[:, 1], {"units": "neurons"})}
    for k, syn in enumerate(("EE", "EI", "IE", "II")):
        extra[f"Sigma_{syn}"] = ("time", out_sig[:, k], {"units": "pending spikes^2"})
    return build_dataset(params, model="dsode", dt=dt, spikes=out_rate, hbar=out_h,
                         refractory=out_r, vhist=out_n, timer=timer, seed=None,
                         extra_vars=extra, refractory_rule=refractory, n_steps=n_steps)
