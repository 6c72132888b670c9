"""markov: the E/I pending-spike network, its Markov approximation and the dsODE reduction.

Chang, Li, Wang, Tao & Xiao (2024/2025), "Minimizing information loss reduces spiking neuronal
networks to differential equations", J. Comput. Phys. 2025 (arXiv:2411.14801).
"""

from .bifurcation import bifurcation, continuation
from .dsode import simulate_dsode
from .moments import integrate_moments, steady_moments
from .network import fixed_connectivity, simulate_network
from .observables import (
    BEAT_EDGES,
    MFEPeaks,
    firing_rates,
    mfe_peaks,
    ssi,
    summary,
    voltage_histogram,
)
from .params import SYNAPSES, MarkovParams
from .transition import transition

__all__ = [
    "BEAT_EDGES",
    "MFEPeaks",
    "MarkovParams",
    "SYNAPSES",
    "bifurcation",
    "continuation",
    "firing_rates",
    "fixed_connectivity",
    "integrate_moments",
    "mfe_peaks",
    "simulate_dsode",
    "simulate_network",
    "ssi",
    "steady_moments",
    "summary",
    "transition",
    "voltage_histogram",
]
