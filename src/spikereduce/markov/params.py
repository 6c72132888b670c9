"""Parameters of the E/I pending-spike network and its reductions.

Field names are the reference code's names (``tau_ee``, ``p_ei``, ``s_ii`` ...); voltages are in
"MIF units" (threshold M = 100), times in ms, rates in spikes per ms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from ..errors import ParameterError
from ..params import Params, check_int, check_positive

#: The four synapse types, postsynaptic population first (EI = I -> E).
SYNAPSES = ("EE", "EI", "IE", "II")


class MarkovParams(Params):
    """The E/I pending-spike network with the defaults of the authors' code.

    ``p_QQ'`` and ``s_QQ'`` name the postsynaptic population first: ``p_ei`` is the probability
    that an E neuron receives a given I spike, ``s_ei`` the I->E strength at v = M.
    """

    # at most 1e9 per population: the dsODE's cost does not grow with N, but counts beyond
    # 2^63 have no fixed-width integer type to be stored in
    n_e: int = Field(300, ge=1, le=10**9, description="number of E neurons")
    n_i: int = Field(100, ge=1, le=10**9, description="number of I neurons")
    M: float = Field(100.0, gt=0, description="spike threshold (voltage units; reset is 0)")
    Mr: float = Field(66.0, gt=0, description="inhibitory reversal is -Mr (voltage units)")
    lam: float = Field(7.0, gt=0, description="external kick rate per neuron (1/ms), kick size 1")
    tau_ee: float = Field(1.4, gt=0, description="E->E pending-spike lifetime (ms)")
    tau_ie: float = Field(1.2, gt=0, description="E->I pending-spike lifetime (ms)")
    tau_i: float = Field(4.5, gt=0, description="I->E and I->I pending-spike lifetime (ms)")
    tau_r: float = Field(4.0, ge=0, description="mean refractory time (ms, exponential)")
    tau_m: float = Field(0.0, ge=0, description="membrane leak time (ms); 0 = no leak")
    p_ee: float = Field(0.8, ge=0, le=1, description="probability that an E neuron receives a "
                        "given E spike (annealed)")
    p_ei: float = Field(0.8, ge=0, le=1, description="probability that an E neuron receives a "
                        "given I spike")
    p_ie: float = Field(0.8, ge=0, le=1, description="probability that an I neuron receives a "
                        "given E spike")
    p_ii: float = Field(0.8, ge=0, le=1, description="probability that an I neuron receives a "
                        "given I spike")
    s_ee: float = Field(0.95, ge=0, description="E->E strength (voltage units per spike)")
    s_ei: float = Field(2.71, ge=0, description="I->E strength at v = M")
    s_ie: float = Field(1.25, ge=0, description="E->I strength")
    s_ii: float = Field(2.45, ge=0, description="I->I strength at v = M")
    v_bin: float = Field(4.0, gt=0, description="dsODE voltage bin width (voltage units)")
    v_bin_min: int = Field(-10, le=0, description="lowest dsODE bin offset (bins below 0)")

    @model_validator(mode="after")
    def _grid_fits(self) -> MarkovParams:
        ratio = self.M / self.v_bin
        if abs(ratio - round(ratio)) > 1e-9:
            raise ParameterError("v_bin", self.v_bin, f"a divisor of M = {self.M:g}")
        return self

    # --- derived quantities -------------------------------------------------------------------

    @property
    def n_bins(self) -> int:
        """J = M/ΔV − B_min bins of the dsODE voltage grid (35 by default)."""
        return int(round(self.M / self.v_bin)) - self.v_bin_min

    @property
    def bin_edges(self) -> np.ndarray:
        """The J+1 edges e_0 < ... < e_J = M of the dsODE grid (−40, −36, ..., 100 by default)."""
        j = np.arange(self.n_bins + 1)
        return self.v_bin * (j + self.v_bin_min)

    @property
    def reset_bin(self) -> int:
        """0-based index of the reset bin (0, ΔV] (m0 = 1 − B_min in 1-based counting)."""
        return -self.v_bin_min

    def tau(self, syn: str) -> float:
        """Pending-spike lifetime of synapse type ``syn`` ('EE', 'EI', 'IE', 'II'), in ms."""
        return {"EE": self.tau_ee, "IE": self.tau_ie, "EI": self.tau_i, "II": self.tau_i}[syn]

    def p(self, syn: str) -> float:
        return getattr(self, "p_" + syn.lower())

    def s(self, syn: str) -> float:
        return getattr(self, "s_" + syn.lower())

    def synapse_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tau, p, s) as float arrays in the order of :data:`SYNAPSES` (for the kernels)."""
        return (np.array([self.tau(k) for k in SYNAPSES]),
                np.array([self.p(k) for k in SYNAPSES]),
                np.array([self.s(k) for k in SYNAPSES]))

    def scaled(self, size: int) -> MarkovParams:
        """The size-scaled network: N_E = 3·size, N_I = size, every S × n_i/size.

        From the defaults (n_i = 100) this is the reference code's factor k = 100/size, so
        ``MarkovParams().scaled(800)`` is the N = 3200 network with S/8.
        """
        size = check_int("size", size, lo=1)
        k = self.n_i / size
        changes: dict[str, Any] = {"n_e": 3 * size, "n_i": size}
        for syn in SYNAPSES:
            changes["s_" + syn.lower()] = self.s(syn) * k
        return self.replace(**changes)


def check_dt(params: MarkovParams, dt: Any) -> float:
    """Validate the time step (ms).

    Rule: dt ≤ min(tau_ee, tau_ie, tau_i)/4 and dt ≤ tau_r/4 when tau_r > 0 (and ≤ tau_m/4 when
    leaky), so that the explicit Euler steps of the moment ODEs stay positive and contracting
    (2·dt/τ ≤ 1/2) and the per-step decay/exit probabilities stay small.
    """
    dt = check_positive("dt", dt)
    taus = [params.tau_ee, params.tau_ie, params.tau_i]
    if params.tau_r > 0:
        taus.append(params.tau_r)
    if params.tau_m > 0:
        taus.append(params.tau_m)
    limit = min(taus) / 4.0
    if dt > limit:
        raise ParameterError("dt", dt, f"> 0 and <= min(time constants)/4 = {limit:g} ms")
    return dt

