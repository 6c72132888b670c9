"""The E/I pending-spike network (markov spec §1.3–1.4) and the public ``simulate_network``.

Continuous voltage, no leak by default, voltage-dependent inhibition, pending spikes born
Binomial per presynaptic spike and consumed at rate 1/τ, exponential refractory exits.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from numba import njit

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer
from ..params import check_choice, check_positive, check_seed
from ..progress import chunk_bounds, progress_bar
from ..rng import normal, seed_state, uniform
from ..seeding import streams
from ._result import NetworkRecords
from .params import MarkovParams, check_dt, check_params


@njit(cache=True)
def _binomial_cdf(count, p, cdf, row):
    """Fill cdf[row, 0..count] of Binomial(count, p); False if (1 − p)^count underflows."""
    if p >= 1.0 or p <= 0.0:
        for k in range(count + 1):
            cdf[row, k] = 0.0 if (p >= 1.0 and k < count) else 1.0
        return True
    log_q = count * math.log1p(-p)
    if log_q < -700.0:
        return False
    pk = math.exp(log_q)
    acc = pk
    cdf[row, 0] = acc
    ratio = p / (1.0 - p)
    for k in range(count):
        pk *= (count - k) / (k + 1.0) * ratio
        acc += pk
        cdf[row, k + 1] = acc
    return True


@njit(cache=True)
def _draw_binomial(rng, count, p, cdf, k, ok):
    """Binomial(count, p) by inversion on the step's table cdf[k] (binary search)."""
    if count == 0:
        return 0
    if not ok:
        return np.random.binomial(count, p)
    u = uniform(rng)
    lo = 0
    hi = count
    while lo < hi:  # smallest j with cdf[j] > u (u in [0, 1), so p = 1 gives count)
        mid = (lo + hi) // 2
        if cdf[k, mid] <= u:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _draw_poisson(rng, h, decay_pow, k, lam_unit):
    """Poisson(h·dt/τ_k) by inversion, with e^{−λ} = decay_pow[k, h] tabulated per count h."""
    if h == 0:
        return 0
    lam = h * lam_unit
    if lam > 30.0 or h >= decay_pow.shape[1]:
        return np.random.poisson(lam)
    u = uniform(rng)
    pk = decay_pow[k, h]
    acc = pk
    j = 0
    while u > acc and j < 1000:
        j += 1
        pk *= lam / j
        acc += pk
    return j


@njit(cache=True)
def _exits_and_histogram(rng, step, n_e, v, ref, p_exit, e0, inv_bin, vhist):
    """Refractory exits with probability p_exit per step, then the voltage histogram of the
    non-refractory neurons on the dsODE bins; returns the refractory counts (E, I) that remain.
    Shared by the SNN and the SDE network.
    """
    nb = vhist.shape[2]
    r_e = 0
    r_i = 0
    for i in range(v.size):
        if ref[i]:
            if p_exit >= 1.0 or uniform(rng) < p_exit:
                ref[i] = False
            elif i < n_e:
                r_e += 1
            else:
                r_i += 1
        else:
            pop = 0 if i < n_e else 1
            b = int(math.ceil((v[i] - e0) * inv_bin)) - 1
            if 0 <= b < nb:
                vhist[step, pop, b] += 1
    return r_e, r_i


@njit(cache=True)
def _snn_chunk(s0, s1, seed, reseed, rng, spare, n_e, v, ref, h_e, h_i, conn, fixed, lam, M,
               Mr, tau_m, tau, p, s, tau_r, dt, poisson_ext, e0, v_bin, spikes, hbar, refr, vhist,
               sp_step, sp_id):
    """Advance the network over steps [s0, s1) in place; returns the number of spikes recorded.

    Per-neuron state: v, ref (refractory flag), h_e / h_i (pending E / I spikes). Synapse index
    k: 0 = EE, 1 = EI, 2 = IE, 3 = II. Records population spike counts, mean H, refractory counts,
    the voltage histogram of non-refractory neurons, and the raster (step, neuron id).
    All draws are exact: Gaussian increments by Marsaglia's polar method, Poisson deaths and
    Binomial births by inversion (tables per step), all from the xoshiro256+ uniforms of ``rng``
    (numba's generator, seeded by ``seed``, only serves the rare large-mean fallbacks).
    """
    if reseed:
        np.random.seed(seed)
    n = v.size
    p_exit = 1.0 - math.exp(-dt / tau_r) if tau_r > 0 else 1.0
    spiked = np.empty(n, np.int64)
    n_sp = 0
    ext_mean = lam * dt
    ext_sd = math.sqrt(lam * dt)
    inv_span = 1.0 / (M + Mr)
    inv_bin = 1.0 / v_bin
    gain = s / tau  # voltage per ms per pending spike
    # e^{-h·dt/τ_k} for h < 4096, per synapse type (deaths are Poisson(h·dt/τ))
    n_tab = 4096
    decay_pow = np.empty((4, n_tab))
    lam_unit = np.empty(4)
    for k in range(4):
        lam_unit[k] = dt / tau[k]
        for h in range(n_tab):
            decay_pow[k, h] = math.exp(-h * lam_unit[k])
    cdf = np.empty((4, n + 1))
    ok = np.zeros(4, np.bool_)
    for step in range(s0, s1):
        count_e = 0
        count_i = 0
        n_spiked = 0
        # 1-4: external drive, currents from v(n) and H(n), voltage update, threshold
        for i in range(n):
            if ref[i]:
                continue  # held at 0; its external input is discarded
            if poisson_ext:
                ext = float(np.random.poisson(ext_mean))
            else:
                ext = ext_mean + ext_sd * normal(rng, spare)
            ke = 0 if i < n_e else 2
            ki = ke + 1
            dv = (gain[ke] * h_e[i] - gain[ki] * inv_span * (v[i] + Mr) * h_i[i]) * dt
            if tau_m > 0:
                dv += ext / tau_m - v[i] / tau_m * dt
            else:
                dv += ext
            v[i] += dv
            if v[i] > M:
                v[i] = 0.0
                ref[i] = True
                spiked[n_spiked] = i
                n_spiked += 1
                if i < n_e:
                    count_e += 1
                else:
                    count_i += 1
                sp_step[n_sp] = step
                sp_id[n_sp] = i
                n_sp += 1
        # 5: pending spikes: births from this step's spikes, deaths Poisson(H·dt/τ) from H(n)
        if not fixed:
            for k in range(4):
                c = count_e if (k == 0 or k == 2) else count_i
                if c > 0:
                    ok[k] = _binomial_cdf(c, p[k], cdf, k)
        sum_h = np.zeros(4)
        for i in range(n):
            ke = 0 if i < n_e else 2
            ki = ke + 1
            he = h_e[i]
            hi = h_i[i]
            de = _draw_poisson(rng, he, decay_pow, ke, lam_unit[ke])
            di = _draw_poisson(rng, hi, decay_pow, ki, lam_unit[ki])
            if fixed:
                be = 0
                bi = 0
                for k in range(n_spiked):
                    j = spiked[k]
                    if conn[i, j]:
                        if j < n_e:
                            be += 1
                        else:
                            bi += 1
            else:
                be = _draw_binomial(rng, count_e, p[ke], cdf, ke, ok[ke])
                bi = _draw_binomial(rng, count_i, p[ki], cdf, ki, ok[ki])
            he = he + be - de
            hi = hi + bi - di
            h_e[i] = he if he > 0 else 0
            h_i[i] = hi if hi > 0 else 0
            sum_h[ke] += h_e[i]
            sum_h[ki] += h_i[i]
        # 6: refractory exits (already possible in the step of the spike, as in the reference)
        r_e, r_i = _exits_and_histogram(rng, step, n_e, v, ref, p_exit, e0, inv_bin, vhist)
        spikes[step, 0] = count_e
        spikes[step, 1] = count_i
        n_i = n - n_e
        hbar[step, 0] = sum_h[0] / n_e
        hbar[step, 1] = sum_h[1] / n_e
        hbar[step, 2] = sum_h[2] / n_i
        hbar[step, 3] = sum_h[3] / n_i
        refr[step, 0] = r_e
        refr[step, 1] = r_i
    return n_sp


def fixed_connectivity(params: MarkovParams, rng: np.random.Generator) -> np.ndarray:
    """Erdős–Rényi matrix conn[post, pre] with probability p_QQ' (self-connections kept, §1.1)."""
    n_e, n = params.n_e, params.n_e + params.n_i
    post_e = np.arange(n) < n_e
    prob = np.empty((n, n))
    prob[np.ix_(post_e, post_e)] = params.p_ee
    prob[np.ix_(post_e, ~post_e)] = params.p_ei
    prob[np.ix_(~post_e, post_e)] = params.p_ie
    prob[np.ix_(~post_e, ~post_e)] = params.p_ii
    return rng.random((n, n)) < prob


def simulate_network(params: MarkovParams, t_max: float = 1000.0, *, seed: int = 0,
                     model: str = "snn", connectivity: str = "annealed", dt: float = 0.1,
                     external: str = "gaussian", progress: bool | None = None) -> xr.Dataset:
    """Simulate the spiking network for ``t_max`` ms.

    ``model="snn"`` is the pending-spike network (spec §1.3–1.4); ``model="sde"`` the
    Markov-approximated network (spec §2.3, level b; see :mod:`spikereduce.markov.sde`).
    ``connectivity`` is "annealed" (postsynaptic sets redrawn per spike) or "fixed" (seeded
    Erdős–Rényi); ``external`` is "gaussian" (reference) or "poisson" (exact unit kicks).
    Returns rate_E, rate_I (population spikes/ms per step), H_EE/H_EI/H_IE/H_II (mean pending
    spikes per neuron), R_E, R_I, vhist_E/I on the dsODE bins and the raster (spike_time in ms,
    spike_neuron: ids < n_e are E).
    """
    check_params(params)
    model = check_choice("model", model, ("snn", "sde"))
    connectivity = check_choice("connectivity", connectivity, ("annealed", "fixed"))
    external = check_choice("external", external, ("gaussian", "poisson"))
    t_max = check_positive("t_max", t_max)
    dt = check_dt(params, dt)
    seed = check_seed(seed)
    if model == "sde":
        from .sde import _simulate_sde
        if connectivity != "annealed":
            raise ParameterError("connectivity", connectivity,
                                 "'annealed' for model 'sde' (it has no graph)")
        return _simulate_sde(params, t_max, seed=seed, dt=dt, external=external,
                             progress=progress)
    return _simulate_snn(params, t_max, seed=seed, dt=dt, connectivity=connectivity,
                         external=external, progress=progress)


def _simulate_snn(params: MarkovParams, t_max: float, *, seed: int, dt: float,
                  connectivity: str, external: str, progress: bool | None) -> xr.Dataset:
    timer = PhaseTimer()
    n_steps = int(round(t_max / dt))
    st = streams(seed)
    n = params.n_e + params.n_i
    fixed = connectivity == "fixed"
    with timer("setup"):
        conn = (fixed_connectivity(params, st.numpy) if fixed
                else np.zeros((1, 1), dtype=np.bool_))
    tau, p, s = params.synapse_arrays()
    v = np.zeros(n)
    ref = np.zeros(n, dtype=np.bool_)
    h_e = np.zeros(n, dtype=np.int64)
    h_i = np.zeros(n, dtype=np.int64)
    rec = NetworkRecords(n_steps, params.n_bins, n)
    rng = seed_state(st.kernel_seed)
    spare = np.zeros(2)  # cached second normal of the polar method, carried between chunks
    chunks = chunk_bounds(n_steps, 50)
    with progress_bar(t_max, "markov SNN", enabled=progress) as bar:
        for c, (a, b) in enumerate(chunks):
            sp_step, sp_id = rec.raster_buffers(a, b)
            # the first chunk's time includes numba compilation (or the cache load); the phases
            # are kept apart so users see the steady simulation speed
            with timer("compile" if c == 0 else "simulate"):
                k = _snn_chunk(a, b, st.kernel_seed, c == 0, rng, spare, params.n_e, v, ref,
                               h_e, h_i, conn, fixed, params.lam, params.M, params.Mr, params.tau_m,
                               tau, p, s, params.tau_r, dt, external == "poisson",
                               float(params.bin_edges[0]), params.v_bin, rec.spikes, rec.hbar,
                               rec.refractory, rec.vhist, sp_step, sp_id)
            rec.keep(sp_step, sp_id, k)
            if not np.all(np.isfinite(v)):
                raise NumericalError("non-finite membrane voltage in the SNN", time=b * dt)
            bar.update(b * dt)
    return rec.dataset(params, model="snn", dt=dt, timer=timer, seed=seed,
                       connectivity=connectivity, external=external)
