"""EHE avalanche networks with arbitrary non-negative weights and their exact avalanche theory.

Spec avalanche.md (Schünemann, Ernst & Kesseböhmer): event simulation (§1.2), exact assembly,
size and duration distributions (§2.4-2.6), closed forms (§2.7) and exact samplers (§2.8).
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
