"""Parameters of the balanced E/I network and of its Gaussian limit.

The symbols follow MacLaurin & Vilanova (arXiv:2412.17273); the default is reference set B.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..errors import ParameterError
from ..params import Params

SIGMOIDS = ("probit", "logistic")


class BalancedParams(Params):
    """Per-population leak, bias, sigmoidal intensity and jump size.

    Neuron k of population alpha has potentiation x with dx = (-gamma_alpha x + mu_alpha) dt plus
    jumps +w_E/sqrt(n) (E sender) or -w_I/sqrt(n) (I sender) at rate
    f_alpha(x) = lam_alpha * S(beta_alpha (x - h_alpha)); ``nu`` is the common external drive
    (the network receives sqrt(n) nu). Times are in units of the leak time scale (dimensionless);
    rates are per unit time. Defaults are reference set B.
    """

    gamma_E: float = Field(2.0, gt=0, description="leak rate of E potentiation (1/time)")
    gamma_I: float = Field(1.0, gt=0, description="leak rate of I potentiation (1/time)")
    mu_E: float = Field(0.5, description="constant input to E")
    mu_I: float = Field(0.0, description="constant input to I")
    lam_E: float = Field(1.0, gt=0, description="maximal E spike rate (1/time)")
    lam_I: float = Field(1.0, gt=0, description="maximal I spike rate (1/time)")
    beta_E: float = Field(1.0, gt=0, description="gain of the E sigmoid")
    beta_I: float = Field(2.0, gt=0, description="gain of the I sigmoid")
    h_E: float = Field(0.7, description="threshold of the E sigmoid")
    h_I: float = Field(0.0, description="threshold of the I sigmoid")
    w_E: float = Field(1.0, gt=0, description="E jump size (times n^-1/2)")
    w_I: float = Field(1.0, gt=0, description="I jump size (times n^-1/2)")
    sigmoid: Literal["probit", "logistic"] = Field(
        "probit", description="shape S of the intensity lambda S(beta (x - h)): the normal "
        "distribution function or the logistic function")
    nu: float = Field(0.0, description="common external drive (times sqrt(n))")

    @model_validator(mode="after")
    def _non_degenerate(self) -> BalancedParams:
        # Identical populations give G = nu and D = 0 for every state: the balance multiplier is
        # undetermined and the limit is not deterministic.
        same = all(getattr(self, f"{k}_E") == getattr(self, f"{k}_I")
                   for k in ("gamma", "mu", "lam", "beta", "h", "w"))
        if same:
            raise ParameterError(
                "beta_I", self.beta_I,
                "such that E and I differ in at least one of gamma, mu, lam, beta, h, w "
                "(identical populations make D = 0 and the balance multiplier undetermined)")
        return self

    def population(self, alpha: str) -> tuple[float, float, float, float, float, float]:
        """(gamma, mu, lam, beta, h, w) of population ``alpha`` in {"E", "I"}."""
        if alpha not in ("E", "I"):
            raise ParameterError("alpha", alpha, "'E' or 'I'")
        return tuple(float(getattr(self, f"{k}_{alpha}"))  # type: ignore[return-value]
                     for k in ("gamma", "mu", "lam", "beta", "h", "w"))


# The reference sets (chosen here; the paper's body gives none), all started from m_E(0) = 0,
# v_E(0) = 0.5, v_I(0) = 0.1 with m_I(0) solved from balance.
REFERENCE_SETS: dict[str, dict] = {
    "A": dict(gamma_E=1.0, gamma_I=1.0, mu_E=0.5, mu_I=0.0, lam_E=1.0, lam_I=1.0, beta_E=1.0,
              beta_I=2.0, h_E=0.7, h_I=0.0, w_E=1.0, w_I=1.0, sigmoid="probit", nu=0.0),
    "B": dict(gamma_E=2.0, gamma_I=1.0, mu_E=0.5, mu_I=0.0, lam_E=1.0, lam_I=1.0, beta_E=1.0,
              beta_I=2.0, h_E=0.7, h_I=0.0, w_E=1.0, w_I=1.0, sigmoid="probit", nu=0.0),
    "C": dict(gamma_E=2.0, gamma_I=1.0, mu_E=0.5, mu_I=0.0, lam_E=1.0, lam_I=1.0, beta_E=1.6,
              beta_I=3.2, h_E=0.7, h_I=0.0, w_E=1.0, w_I=1.0, sigmoid="logistic", nu=0.0),
}
REFERENCE_START = (0.0, 0.5, 0.1)  # (m_E0, v_E0, v_I0)


def reference_set(name: str) -> BalancedParams:
    """Reference parameter set ``"A"``, ``"B"`` or ``"C"``."""
    if name not in REFERENCE_SETS:
        raise ParameterError("name", name, "one of 'A', 'B', 'C'")
    return BalancedParams(**REFERENCE_SETS[name])
