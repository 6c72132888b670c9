"""balanced: the balanced E/I network with n^-1/2 coupling and its Gaussian hydrodynamic limit.

Spec balanced.md (MacLaurin & Vilanova, arXiv:2412.17273, reconstructed): network §1, limit §2.
"""

from .fixed_points import FixedPoint, fixed_points
from .limit import balanced_initial, integrated_drift, solve_limit
from .network import simulate_network
from .params import BalancedParams, reference_set

__all__ = ["BalancedParams", "FixedPoint", "balanced_initial", "fixed_points",
           "integrated_drift", "reference_set", "simulate_network", "solve_limit"]
