"""nlif: noisy LIF particle network with in-step cascades, and its nonlinear Fokker–Planck equation.

Particles, the Fokker–Planck equation, steady states and blow-up criteria; the step-level
objects ``ParticleSystem`` and ``FokkerPlanckStepper`` are what the multi-scale solver builds
on.
"""

from typing import Any

from .fokker_planck import FokkerPlanckStepper, PositivityWarning, solve_fokker_planck
from .initial import GaussianDensity, PointMass, gaussian_density, point_mass
from .params import NLIFParams, Periodic, Pulse, current_at, step_currents
from .particles import ParticleSystem, simulate_particles
from .steady import (
    BlowupCertificate,
    blowup_certificate,
    critical_coupling,
    psi,
    stationary_density,
    steady_states,
    synchronous_jump,
)

__all__ = [
    "NLIFParams", "Pulse", "Periodic", "current_at", "step_currents",
    "GaussianDensity", "gaussian_density", "PointMass", "point_mass",
    "simulate_particles", "ParticleSystem",
    "solve_fokker_planck", "FokkerPlanckStepper", "PositivityWarning",
    "steady_states", "critical_coupling", "blowup_certificate", "BlowupCertificate", "psi",
    "stationary_density", "synchronous_jump", "simulate_multiscale", "solve_time_dilated",
]


def __getattr__(name: str) -> Any:
    # The multi-scale solver couples the two solvers above; it is loaded on first use,
    # so a particle or Fokker–Planck run does not import it.
    if name == "simulate_multiscale":
        from .multiscale import simulate_multiscale

        return simulate_multiscale
    if name == "solve_time_dilated":
        from .time_dilated import solve_time_dilated

        return solve_time_dilated
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
