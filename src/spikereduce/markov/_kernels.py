"""Compiled time loops of the markov models: the pending-spike SNN, the
Markov-approximated SDE network and the dsODE, with their
shared draws and records.

Every random number comes from the caller's generator position (spikereduce.rng.generators).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..rng.generators import (
    binomial,
    binomial_small,
    normal,
    poisson,
    poisson_from_uniform,
    uniform,
)
from .moments import moment_step
from .transition import closure, transport, transport_sample

_EPS = 1e-4  # dsODE: width of the degenerate uniform at a bin edge (reference closure)
_TINY = 1e-10  # dsODE: reference tolerance, smaller bin counts are set to 0


@njit(cache=True)
def binomial_cdf(count, p, cdf, row):
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
def draw_binomial(rng, count, p, cdf, k, ok):
    """Binomial(count, p) by inversion on the step's table cdf[k] (binary search); without a
    table (``ok`` false: (1 − p)^count underflows) by the shared exact sampler."""
    if count == 0:
        return 0
    if not ok:
        return binomial(rng, 0, count, p)
    u = uniform(rng, 0)
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
def draw_poisson(rng, h, decay_pow, k, lam_unit):
    """Poisson(h·dt/τ_k) by inversion, with e^{−λ} = decay_pow[k, h] tabulated per count h."""
    if h == 0:
        return 0
    lam = h * lam_unit
    if lam > 30.0 or h >= decay_pow.shape[1]:
        return poisson(rng, 0, lam)
    return poisson_from_uniform(uniform(rng, 0), lam, decay_pow[k, h])


@njit(cache=True)
def exits_and_histogram(rng, step, n_e, v, ref, p_exit, e0, inv_bin, vhist):
    """Refractory exits with probability p_exit per step, then the voltage histogram of the
    non-refractory neurons on the dsODE bins; returns the refractory counts (E, I) that remain.
    Shared by the SNN and the SDE network.
    """
    nb = vhist.shape[2]
    r_e = 0
    r_i = 0
    for i in range(v.size):
        if ref[i]:
            if p_exit >= 1.0 or uniform(rng, 0) < p_exit:
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


@njit(cache=True, inline="always")
def _fire(i, step, n_e, v, ref, counts, sp_step, sp_id, n_sp):
    """Neuron i spikes in ``step``: reset to 0, refractory, counted by population (counts[0] E,
    counts[1] I) and recorded in the raster; returns the raster's new length."""
    v[i] = 0.0
    ref[i] = True
    counts[0 if i < n_e else 1] += 1
    sp_step[n_sp] = step
    sp_id[n_sp] = i
    return n_sp + 1


@njit(cache=True)
def snn_chunk(s0, s1, rng, spare, n_e, v, ref, h_e, h_i, conn, fixed, lam, M,
               Mr, tau_m, tau, p, s, tau_r, dt, poisson_ext, e0, v_bin, spikes, hbar, refr, vhist,
               sp_step, sp_id):
    """Advance the network over steps [s0, s1) in place; returns the number of spikes recorded.

    Per-neuron state: v, ref (refractory flag), h_e / h_i (pending E / I spikes). Synapse index
    k: 0 = EE, 1 = EI, 2 = IE, 3 = II. Records population spike counts, mean H, refractory counts,
    the voltage histogram of non-refractory neurons, and the raster (step, neuron id).
    All draws are exact and come from the generator position ``rng`` (uint64[1]; ``spare``
    holds the second normal of a Box–Muller pair between calls): Gaussian increments, Poisson
    deaths and Binomial births by inversion (tables per step).
    """
    n = v.size
    p_exit = 1.0 - math.exp(-dt / tau_r) if tau_r > 0 else 1.0
    spiked = np.empty(n, np.int64)
    n_sp = 0
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
    counts = np.zeros(2, np.int64)  # spikes of this step: E, I
    for step in range(s0, s1):
        # the external kick rate of this step (lam[step], 1/ms; constant unless a drive is given)
        ext_mean = lam[step] * dt
        ext_sd = math.sqrt(lam[step] * dt)
        counts[:] = 0
        n_spiked = 0
        # 1-4: external drive, currents from v(n) and H(n), voltage update, threshold
        for i in range(n):
            if ref[i]:
                continue  # held at 0; its external input is discarded
            if poisson_ext:
                ext = float(poisson(rng, 0, ext_mean))
            else:
                ext = ext_mean + ext_sd * normal(rng, 0, spare)
            ke = 0 if i < n_e else 2
            ki = ke + 1
            dv = (gain[ke] * h_e[i] - gain[ki] * inv_span * (v[i] + Mr) * h_i[i]) * dt
            if tau_m > 0:
                dv += ext / tau_m - v[i] / tau_m * dt
            else:
                dv += ext
            v[i] += dv
            if v[i] > M:
                spiked[n_spiked] = i
                n_spiked += 1
                n_sp = _fire(i, step, n_e, v, ref, counts, sp_step, sp_id, n_sp)
        count_e = counts[0]
        count_i = counts[1]
        # 5: pending spikes: births from this step's spikes, deaths Poisson(H·dt/τ) from H(n)
        if not fixed:
            for k in range(4):
                c = count_e if (k == 0 or k == 2) else count_i
                if c > 0:
                    ok[k] = binomial_cdf(c, p[k], cdf, k)
        sum_h = np.zeros(4)
        for i in range(n):
            ke = 0 if i < n_e else 2
            ki = ke + 1
            he = h_e[i]
            hi = h_i[i]
            de = draw_poisson(rng, he, decay_pow, ke, lam_unit[ke])
            di = draw_poisson(rng, hi, decay_pow, ki, lam_unit[ki])
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
                be = draw_binomial(rng, count_e, p[ke], cdf, ke, ok[ke])
                bi = draw_binomial(rng, count_i, p[ki], cdf, ki, ok[ki])
            he = he + be - de
            hi = hi + bi - di
            h_e[i] = he if he > 0 else 0
            h_i[i] = hi if hi > 0 else 0
            sum_h[ke] += h_e[i]
            sum_h[ki] += h_i[i]
        # 6: refractory exits (already possible in the step of the spike, as in the reference)
        r_e, r_i = exits_and_histogram(rng, step, n_e, v, ref, p_exit, e0, inv_bin, vhist)
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


@njit(cache=True, inline="always")
def record_step(step, counts, dt, r_prev, spikes, hbar, out_h):
    """Store a step's spike counts (E, I) and mean pending spikes H; the rates (spikes per ms)
    drive the next moment step of the SDE network and the dsODE."""
    r_prev[0] = counts[0] / dt
    r_prev[1] = counts[1] / dt
    spikes[step, 0] = counts[0]
    spikes[step, 1] = counts[1]
    for k in range(4):
        out_h[step, k] = hbar[k]


@njit(cache=True, inline="always")
def external_moments(lam, tau_m):
    """Drift and variance per unit time of the external kicks at rate ``lam`` (unit kicks,
    divided by tau_m when the membrane leaks)."""
    if tau_m > 0:
        return lam / tau_m, lam / (tau_m * tau_m)
    return lam, lam


@njit(cache=True)
def sde_chunk(s0, s1, rng, spare, n_e, v, ref, hbar, sig, r_prev, lam, M, Mr, tau_m, tau, p, s,
              tau_r, dt, e0, v_bin, spikes, out_h, refr, vhist, sp_step, sp_id):
    """Advance the SDE network over steps [s0, s1) in place; returns the
    spikes recorded.

    As in the reference, the moments are stepped first (with the previous step's rates) and the
    currents of step n use H(n+1).
    """
    n = v.size
    p_exit = 1.0 - math.exp(-dt / tau_r) if tau_r > 0 else 1.0
    inv_span = 1.0 / (M + Mr)
    n_sp = 0
    counts = np.zeros(2, np.int64)  # spikes of this step: E, I
    for step in range(s0, s1):
        ext_mu, ext_var = external_moments(lam[step], tau_m)
        moment_step(hbar, sig, r_prev[0], r_prev[1], tau, p, dt)
        counts[:] = 0
        for i in range(n):
            if ref[i]:
                continue
            xi = normal(rng, 0, spare)
            ke = 0 if i < n_e else 2
            ki = ke + 1
            f = (v[i] + Mr) * inv_span
            mu = ext_mu + s[ke] * hbar[ke] / tau[ke] - s[ki] * f * hbar[ki] / tau[ki]
            var = (ext_var + s[ke] * s[ke] * sig[ke] / (tau[ke] * tau[ke])
                   + s[ki] * s[ki] * f * f * sig[ki] / (tau[ki] * tau[ki]))
            if tau_m > 0:
                mu -= v[i] / tau_m
            v[i] += mu * dt + math.sqrt(max(var, 0.0) * dt) * xi
            if v[i] > M:
                n_sp = _fire(i, step, n_e, v, ref, counts, sp_step, sp_id, n_sp)
        r_e, r_i = exits_and_histogram(rng, step, n_e, v, ref, p_exit, e0, 1.0 / v_bin, vhist)
        record_step(step, counts, dt, r_prev, spikes, hbar, out_h)
        refr[step, 0] = r_e
        refr[step, 1] = r_i
    return n_sp


VARIANCE_REFERENCE = 0
VARIANCE_SHOT = 1
VARIANCE_COLORED = 2
NOISE_AUTHORS = 1
NOISE_MULTINOMIAL = 2


@njit(cache=True, fastmath={"contract", "arcp", "nsz"})
def dsode_chunk(s0, s1, n, w, refr, hbar, sig, r_prev, lost, n_pop, lam, M, Mr, tau_m, tau, p,
                s, tau_r, dt, code_refractory, edges, m0, out_rate, out_h, out_sig, out_r,
                out_n, out_lost, noise, rng, spare, variance_rule):
    """Advance the dsODE over steps [s0, s1) in place.

    n, w: (2, J) bin counts and first moments; refr: (2,) refractory pools; hbar, sig: (4,)
    moments; r_prev: (2,) last step's rates (spikes/ms), used by the moment step (reference lag);
    lost: (2,) cumulative mass dropped (below the grid or under the 1e-10 tolerance).

    ``noise``: 0 the deterministic map; NOISE_AUTHORS the finite-size noise of the reference
    code (each bin's step mean and variance perturbed by their sampling errors, the rate by
    N(0, r)); NOISE_MULTINOMIAL integer neurons moved between bins, to a spike and out of the
    refractory pool by exact binomial draws (multinomial transport).
    ``rng`` (uint64[1]) and ``spare`` (float64[2]) are the generator state. ``variance_rule``:
    the variance per unit time of the synaptic input, VARIANCE_REFERENCE s^2 Sigma / tau^2,
    VARIANCE_SHOT s^2 H / tau + s^2 Sigma dt / tau^2 (pending spikes consumed one kick at a
    time), VARIANCE_COLORED 2 s^2 Sigma / tau (the long-time diffusion of a current whose spread
    across neurons relaxes over tau).
    """
    nb = edges.size - 1
    new_n = np.empty(nb)
    new_w = np.empty(nb)
    inv_span = 1.0 / (M + Mr)
    shrink = 1.0 - dt / tau_m if tau_m > 0 else 1.0
    nf = np.zeros(2)
    for step in range(s0, s1):
        ext_mu, ext_var = external_moments(lam[step], tau_m)
        for pop in range(2):
            ke = 2 * pop
            ki = ke + 1
            drive_e = s[ke] * hbar[ke] / tau[ke]
            drive_i = s[ki] * hbar[ki] / tau[ki]
            var_e = s[ke] * s[ke] * sig[ke] / (tau[ke] * tau[ke])
            var_i = s[ki] * s[ki] * sig[ki] / (tau[ki] * tau[ki])
            if variance_rule == VARIANCE_SHOT:
                # each pending spike is consumed at rate 1/tau with a kick s: the Poisson shot
                # noise s^2 H/tau per unit time, plus the spread of H across neurons over dt
                var_e = s[ke] * s[ke] * hbar[ke] / tau[ke] + var_e * dt
                var_i = s[ki] * s[ki] * hbar[ki] / tau[ki] + var_i * dt
            elif variance_rule == VARIANCE_COLORED:
                # a neuron's excess of pending spikes relaxes over tau, so its current, of
                # variance s^2 Sigma/tau^2 across neurons, has correlation time tau: over times
                # beyond tau its voltage spreads with diffusion 2 s^2 Sigma/tau
                var_e *= 2.0 * tau[ke]
                var_i *= 2.0 * tau[ki]
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
                a, b = closure(vbar, edges[m], edges[m + 1], _EPS)
                a *= shrink
                b *= shrink
                # inhibitory factor evaluated at the bin mean (the reduction's closure)
                f = (vbar + Mr) * inv_span
                mu = (ext_mu + drive_e - f * drive_i) * dt
                var = (ext_var + var_e + f * f * var_i) * dt
                if noise == NOISE_MULTINOMIAL:
                    fired_m, dropped_m = transport_sample(a, b, mu, math.sqrt(var), edges,
                                                          int(round(nm)), new_n, new_w, rng)
                    fired += fired_m
                    dropped += dropped_m
                    continue
                if noise == NOISE_AUTHORS:
                    mu += math.sqrt(var / n_pop[pop]) * normal(rng, 0, spare)
                    var += math.sqrt(2.0 * var * var / max(n_pop[pop] - 1.0, 1.0)) * normal(
                        rng, 0, spare)
                    if var < 1e-12:
                        var = 1e-12
                spike, below, placed = transport(a, b, mu, math.sqrt(var), edges, nm, new_n,
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
            if noise == NOISE_MULTINOMIAL and 0.0 < out < r_tmp:
                out = float(binomial_small(rng, 0, int(round(r_tmp)), out / r_tmp))
            refr[pop] = r_tmp - out
            new_n[m0] += out
            for d in range(nb):
                n[pop, d] = new_n[d]
                w[pop, d] = new_w[d]
                out_n[step, pop, d] = new_n[d]
            nf[pop] = fired
            if noise == NOISE_AUTHORS and fired > 0.0:
                # r <- r + N(0, r) on the rate in spikes/ms; the bins keep their mass
                r = fired / dt
                r += math.sqrt(r) * normal(rng, 0, spare)
                nf[pop] = max(r, 0.0) * dt
            lost[pop] += dropped
        # moments: one Euler step with the previous step's rates (one step of extra lag)
        moment_step(hbar, sig, r_prev[0], r_prev[1], tau, p, dt)
        record_step(step, nf, dt, r_prev, out_rate, hbar, out_h)
        for k in range(4):
            out_sig[step, k] = sig[k]
        out_r[step, 0] = refr[0]
        out_r[step, 1] = refr[1]
        out_lost[step, 0] = lost[0]
        out_lost[step, 1] = lost[1]
