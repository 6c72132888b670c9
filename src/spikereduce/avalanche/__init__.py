"""EHE avalanche networks with arbitrary non-negative weights and their exact avalanche theory.

Spec avalanche.md (Schünemann, Ernst & Kesseböhmer): event simulation (§1.2), exact assembly,
size and duration distributions (§2.4-2.6), closed forms (§2.7) and exact samplers (§2.8).
"""

from . import analysis, closed_form, theory, weights
from .samplers import sample_avalanches
from .simulate import AvalancheRecord, ResonanceWarning, resonances, simulate
from .theory import (
    assembly_probability,
    assembly_table,
    duration_distribution,
    mean_size,
    size_distribution,
)

__all__ = [
    "AvalancheRecord", "ResonanceWarning", "analysis", "assembly_probability", "assembly_table",
    "closed_form", "duration_distribution", "mean_size", "resonances", "sample_avalanches",
    "simulate", "size_distribution", "theory", "weights",
]
