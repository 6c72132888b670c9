"""Named EHE networks for configs, the CLI and the demo: parameters, weights and their theory.

The parameter values of the paper's experiments and their closed forms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..params import Params
from . import closed_form, modular, weights
from .theory import size_distribution

# a_c of the two-population experiments: (1 - 1/sqrt(200)) / 200
A_C = (1.0 - 1.0 / np.sqrt(200.0)) / 200.0


class HomogeneousParams(Params):
    """All-to-all network, row sum alpha (EHE 2002 with self-coupling)."""

    N: int = Field(100, ge=2, description="number of units")
    alpha: float = Field(0.9, ge=0.0, lt=1.0, description="row sum of W (alpha/N per edge)")
    self_coupling: bool = Field(True, description="whether a unit's spike also acts on itself")


class RingParams(Params):
    """Ring (or line) with neighbour weights alpha/2."""

    N: int = Field(16, ge=3, description="number of units")
    alpha: float = Field(0.75, gt=0.0, lt=1.0, description="row sum of W (alpha/2 to each "
                         "neighbour)")


class TorusParams(Params):
    """l x l periodic grid, Moore radius k, row sum alpha."""

    l: int = Field(50, ge=3, description="side of the l x l periodic grid (N = l^2 units)")
    k: int = Field(1, ge=1, description="Moore radius of the neighbourhood")
    alpha: float = Field(0.9875, ge=0.0, lt=1.0, description="row sum of W, spread evenly over "
                         "the neighbours")


class TwoPopulationParams(Params):
    """Two populations of n_s units: weight a within (self included), b between."""

    n_s: int = Field(100, ge=1, description="units per population")
    a: float = Field(A_C * (2 - 2 * 0.05 / 1.05), ge=0.0, description="weight within a "
                     "population (self included)")
    b: float = Field(A_C * 2 * 0.05 / 1.05, gt=0.0, description="weight between populations")


class WattsStrogatzParams(Params):
    """Watts-Strogatz graph (networkx, seeded), rows normalised to alpha."""

    N: int = Field(16, ge=4, le=24, description="number of units")
    k: int = Field(4, ge=2, description="neighbours of each unit in the starting ring")
    p_rewire: float = Field(0.3, ge=0.0, le=1.0, description="rewiring probability per edge")
    alpha: float = Field(0.75, gt=0.0, lt=1.0, description="row sum of W")
    graph_seed: int = Field(0, ge=0, description="seed of the random graph")


class ModularParams(Params):
    """K homogeneous populations (self-coupled blocks): sizes N_k, per-unit weights
    W_pop[k][l] onto a unit of population k from a spike in population l, and the drive
    probability of each population (default N_k / N: uniform per unit). The default is a
    three-population routing circuit: two populations of 100 units and a 10-unit relay that
    drives the second."""

    sizes: list[int] = Field(default_factory=lambda: [100, 100, 10],
                             description="units per population, N_k")
    W_pop: list[list[float]] = Field(default_factory=lambda: [
        [0.0081, 0.0, 0.0], [0.0, 0.0081, 0.0095], [0.0, 0.0, 0.0684]],
        description="W_pop[k][l]: weight onto a unit of population k from a spike in l")
    p_pop: list[float] | None = Field(None, description="drive probability per population "
                                      "(None: N_k / N, uniform per unit)")

    @field_validator("sizes", "W_pop", "p_pop", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        # tuples and arrays from Python are lists here, as they are in a config
        if isinstance(value, (tuple, np.ndarray)):
            value = np.asarray(value).tolist() if isinstance(value, np.ndarray) else list(value)
        if isinstance(value, list):
            value = [list(v) if isinstance(v, (tuple, np.ndarray)) else v for v in value]
            value = [v.item() if isinstance(v, np.generic) else v for v in value]
        return value

    @model_validator(mode="after")
    def _network(self) -> ModularParams:
        modular.check_network(self.sizes, self.W_pop, self.p_pop)
        return self

    def unit_drive(self) -> np.ndarray | None:
        """The drive probability of every unit (None: uniform per unit)."""
        if self.p_pop is None:
            return None
        return np.repeat(np.array(self.p_pop) / np.array(self.sizes), self.sizes)


@dataclass(frozen=True)
class Model:
    """How to build a named network and what exact theory exists for it."""

    params: type[Params]
    build: Callable[[Any], Any]
    # exact P(s) for s = 1..N, or None where only the mean size is exact (torus)
    theory: Callable[[Any], np.ndarray] | None
    theory_name: str
    description: str
    # the drive distribution over units (None: uniform) and the exact mean size, where the
    # network has them in closed form
    drive: Callable[[Any], Any] | None = None
    mean: Callable[[Any], float] | None = None


def _ws(pr: WattsStrogatzParams) -> np.ndarray:
    import networkx as nx

    g = nx.watts_strogatz_graph(pr.N, pr.k, pr.p_rewire, seed=pr.graph_seed)
    return weights.from_graph(g, pr.alpha)


MODELS: dict[str, Model] = {
    "homogeneous": Model(
        HomogeneousParams, lambda q: weights.homogeneous(q.N, q.alpha, q.self_coupling),
        lambda q: closed_form.homogeneous(q.N, q.alpha, q.self_coupling),
        "closed form", "all-to-all EHE network"),
    "ring": Model(RingParams, lambda q: weights.ring(q.N, q.alpha),
                  lambda q: closed_form.ring(q.N, q.alpha), "closed form",
                  "nearest-neighbour ring"),
    "line": Model(RingParams, lambda q: weights.line(q.N, q.alpha),
                  lambda q: closed_form.line(q.N, q.alpha), "closed form",
                  "ring with one edge removed"),
    "two_population": Model(
        TwoPopulationParams, lambda q: weights.two_population(q.n_s, q.a, q.b),
        lambda q: closed_form.two_population(q.n_s, q.a, q.b), "closed form",
        "two coupled homogeneous populations"),
    "torus": Model(TorusParams, lambda q: weights.torus(q.l, q.k, q.alpha), None,
                   "FFT mean size", "2-D periodic grid, Moore neighbourhood"),
    "watts_strogatz": Model(WattsStrogatzParams, _ws,
                            lambda q: size_distribution(_ws(q)),
                            "determinant formula", "seeded Watts-Strogatz graph"),
    "modular": Model(
        ModularParams, lambda q: weights.modular(q.sizes, q.W_pop),
        lambda q: modular.size_distribution(q.sizes, q.W_pop, q.p_pop),
        "exact modular theory", "K homogeneous populations",
        drive=lambda q: q.unit_drive(),
        mean=lambda q: modular.mean_size(q.sizes, q.W_pop, q.p_pop)),
}
