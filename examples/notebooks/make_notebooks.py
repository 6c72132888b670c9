"""Write the example notebooks (one per family) without outputs; ``tests/test_notebooks.py``
executes them. Edit the cells here and rerun: ``python examples/notebooks/make_notebooks.py``."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

MARKOV = [
    ("md", """# markov: the pending-spike network against its dsODE reduction

The E/I network of Chang, Li, Wang, Tao & Xiao (J. Comput. Phys. 2025) runs beside the dsODE, a
150-variable bin-transport reduction whose cost does not grow with the network. A progress bar
shows while a model runs."""),
    ("code", """import matplotlib.pyplot as plt

from spikereduce.markov import (
    MarkovParams,
    firing_rates,
    mfe_peaks,
    simulate_dsode,
    simulate_network,
    ssi,
)

p = MarkovParams()
snn = simulate_network(p, 600.0, seed=1, progress=True)
dso = simulate_dsode(p, 600.0, progress=True)
print("SNN   nu_E, nu_I (Hz):", firing_rates(snn), " SSI:", ssi(snn))
print("dsODE nu_E, nu_I (Hz):", firing_rates(dso), " SSI:", ssi(dso))"""),
    ("code", """fig, ax = plt.subplots(figsize=(8, 3))
for ds, label in ((snn, "SNN"), (dso, "dsODE")):
    ax.plot(ds.time, ds.rate_E, lw=0.8, label=label)
ax.set_xlim(300, 600)
ax.set_xlabel("time (ms)")
ax.set_ylabel("E spikes per ms")
ax.legend()
mfe_peaks(dso).pattern"""),
    ("md", """The finite-size dsODE makes the reduction stochastic (same seed, same run); near
p_EI = 1 the deterministic map and the network part ways."""),
    ("code", """for p_ei in (0.8, 0.98):
    q = MarkovParams(p_ei=p_ei)
    net = firing_rates(simulate_network(q, 800.0, seed=2))[0]
    det = firing_rates(simulate_dsode(q, 800.0))[0]
    fs = firing_rates(simulate_dsode(q, 800.0, finite_size=True, seed=2))[0]
    print(f"p_EI = {p_ei}: nu_E SNN {net:.1f}, dsODE {det:.1f}, finite-size {fs:.1f} Hz")"""),
]

AVALANCHE = [
    ("md", """# avalanche: exact statistics of EHE networks

Schünemann, Ernst & Kesseböhmer give the probability of every avalanche assembly as a product
of two determinants; spikereduce sums it over all 2^N assemblies and checks it against event
simulation."""),
    ("code", """import matplotlib.pyplot as plt
import numpy as np

from spikereduce.avalanche import modular, simulate, size_distribution, weights
from spikereduce.avalanche.analysis import size_histogram, total_variation

W = weights.ring(16, 0.75)
P = size_distribution(W)
ds = simulate(W, 100_000, seed=1, progress=True)
s, P_sim = size_histogram(ds["sizes"].values, 16)
print("total variation, simulation vs exact:", total_variation(P_sim, P))"""),
    ("code", """fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(np.arange(1, 17), P, "k-", label="exact")
ax.semilogy(s, P_sim, "o", ms=4, label="simulation")
ax.set_xlabel("avalanche size s (spikes)")
ax.set_ylabel("P(s)")
ax.legend()"""),
    ("md", """Modular networks are summed over population counts instead of subsets: a routing
circuit of 210 units is exact in about a millisecond."""),
    ("code", """sizes = (100, 100, 10)
W_pop = [[0.0081, 0, 0], [0, 0.0081, 0.0095], [0, 0, 0.0684]]
print("mean size", modular.mean_size(sizes, W_pop))
modular.size_distribution(sizes, W_pop)[:5]"""),
]

NLIF = [
    ("md", """# nlif: particles, Fokker–Planck, and the solvers that go through blow-ups

Noisy LIF neurons with all-to-all excitation b/N against the nonlinear Fokker–Planck equation;
for strong coupling the equation blows up where the particles fire a multiple firing event."""),
    ("code", """import matplotlib.pyplot as plt

from spikereduce import nlif

params, p0 = nlif.NLIFParams(b=0.5), nlif.gaussian_density(0.0, 0.25)
micro = nlif.simulate_particles(params, 20_000, 2.0, p0=p0, seed=1, progress=True)
macro = nlif.solve_fokker_planck(params, p0, 2.0, progress=True)
print("spikes per neuron by t = 2:", float(micro.cumulative_spikes[-1]),
      float(macro.cumulative_spikes[-1]))
print("steady rate", nlif.steady_states(params), " b_c", nlif.critical_coupling(params))"""),
    ("code", """td = nlif.solve_time_dilated(nlif.NLIFParams(b=3.0), nlif.point_mass(1.0), 1.0,
                             h=0.005, window=0.02)
print("MFE times", td["mfe_time"].values, "sizes", td["mfe_size"].values)
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(td.time, td.cumulative_spikes)
ax.set_xlabel("time (membrane time constants)")
ax.set_ylabel("spikes per neuron")"""),
]

BALANCED = [
    ("md", """# balanced: a balanced E/I network and its Gaussian limit

2n neurons with n^-1/2 coupling (after MacLaurin & Vilanova); as n grows the populations become
Gaussian, with means and variances following four ODEs under the balance constraint."""),
    ("code", """import matplotlib.pyplot as plt

from spikereduce import balanced as bal

p = bal.BalancedParams()
y0 = bal.balanced_initial(p, 0.0, 0.5, 0.5)
limit = bal.solve_limit(p, y0, 2.0)
net = bal.simulate_network(p, 1000, 2.0, y0=y0, seed=1, progress=True)
print("v_I at t = 2: network", float(net.v_I[-1]), " limit", float(limit.v_I[-1]))"""),
    ("code", """fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(limit.time, limit.m_E, "k-", label="limit m_E")
ax.plot(net.time, net.m_E, lw=0.8, label="network m_E, n = 1000")
ax.set_xlabel("time")
ax.set_ylabel("mean potentiation")
ax.legend()"""),
]

NOTEBOOKS = {"markov.ipynb": MARKOV, "avalanche.ipynb": AVALANCHE, "nlif.ipynb": NLIF,
             "balanced.ipynb": BALANCED}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                                 for kind, src in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
