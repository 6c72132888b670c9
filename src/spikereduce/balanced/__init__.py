"""balanced: the balanced E/I network with n^-1/2 coupling and its Gaussian hydrodynamic limit.

After MacLaurin & Vilanova, "The hydrodynamic limit of neural networks with balanced excitation
and inhibition", arXiv:2412.17273; the network and its limit equations are reconstructed from
the abstract and first principles.
"""

from .fixed_points import FixedPoint, fixed_points
from .limit import balanced_initial, integrated_drift, solve_limit
from .network import simulate_network
from .params import BalancedParams, reference_set

__all__ = ["BalancedParams", "FixedPoint", "balanced_initial", "fixed_points",
           "integrated_drift", "reference_set", "simulate_network", "solve_limit"]
