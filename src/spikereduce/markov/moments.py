"""Moment ODEs of the pending-spike birth–death process.

Per synapse type QQ' (postsynaptic Q): dH/dt = −H/τ + p·r_Q', dΣ/dt = −2Σ/τ + H/τ + p(1−p)·r_Q',
with r_Q' the presynaptic population's spike count rate (spikes/ms) taken as given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ..errors import ParameterError
from ..params import check_real
from .params import SYNAPSES, MarkovParams, check_dt

# Presynaptic population of each synapse type in SYNAPSES order: 0 = E, 1 = I.
_PRE = np.array([0, 1, 0, 1])


@njit(cache=True)
def moment_step(hbar, sig, r_e, r_i, tau, p, dt):
    """One explicit Euler step of the 8 moments, in place (the reference code's scheme)."""
    for k in range(4):
        r = r_e if (k == 0 or k == 2) else r_i
        h_old = hbar[k]
        hbar[k] = h_old + dt * (-h_old / tau[k] + p[k] * r)
        sig[k] = sig[k] + dt * (-2.0 * sig[k] / tau[k] + h_old / tau[k]
                                + p[k] * (1.0 - p[k]) * r)


def steady_moments(params: MarkovParams, r_e: float, r_i: float) -> dict[str, tuple[float, float]]:
    """Stationary (H̄, Σ) per synapse type for constant presynaptic rates (spikes/ms).

    H̄ = p·r·τ and Σ = p·r·τ·(2 − p)/2.
    """
    r_e = check_real("r_e", r_e, lo=0.0)
    r_i = check_real("r_i", r_i, lo=0.0)
    out = {}
    for k, syn in enumerate(SYNAPSES):
        r = (r_e, r_i)[_PRE[k]]
        p, tau = params.p(syn), params.tau(syn)
        out[syn] = (p * r * tau, p * r * tau * (2.0 - p) / 2.0)
    return out


def integrate_moments(params: MarkovParams, r_e: Any, r_i: Any, *, dt: float = 0.1
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Euler-integrate the moments from H̄ = Σ = 0 for rate sequences r_e, r_i (spikes/ms per step).

    Returns (hbar, sigma), each of shape (len(r_e) + 1, 4), columns in SYNAPSES order.
    """
    dt = check_dt(params, dt)
    r_e = np.asarray(r_e, dtype=float)
    r_i = np.asarray(r_i, dtype=float)
    if r_e.shape != r_i.shape or r_e.ndim != 1:
        raise ParameterError("r_i", r_i.shape, f"a 1-D sequence of the shape of r_e {r_e.shape}")
    tau, p, _ = params.synapse_arrays()
    hbar = np.zeros(4)
    sig = np.zeros(4)
    hs = np.zeros((r_e.size + 1, 4))
    ss = np.zeros((r_e.size + 1, 4))
    for n in range(r_e.size):
        moment_step(hbar, sig, r_e[n], r_i[n], tau, p, dt)
        hs[n + 1] = hbar
        ss[n + 1] = sig
    return hs, ss
