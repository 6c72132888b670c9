"""EHE avalanche networks with arbitrary non-negative weights and their exact avalanche theory.

After Schünemann, Ernst & Kesseböhmer (arXiv:2202.02520): event simulation, exact assembly,
size and duration distributions, closed forms and exact samplers.
"""

from . import analysis, closed_form, modular, theory, weights
from .analysis import assemblies, assembly_masks, weights_of
from .samplers import sample_avalanches
from .simulate import ResonanceWarning, resonances, simulate
from .theory import (
    assembly_probability,
    assembly_table,
    duration_distribution,
    mean_size,
    size_distribution,
)

__all__ = [
    "ResonanceWarning", "analysis", "assemblies", "assembly_masks", "assembly_probability",
    "assembly_table", "closed_form", "duration_distribution", "mean_size", "modular", "resonances",
    "sample_avalanches", "simulate", "size_distribution", "theory", "weights", "weights_of",
]
