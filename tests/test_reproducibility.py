"""Same seed, same numbers: every stochastic public function gives a bitwise-identical result on
1 or 2 numba threads, and a sweep of every family gives the same store on 1 or 2 workers."""

import numba
import numpy as np
import pytest

from spikereduce import avalanche, balanced, markov, nlif, registry
from spikereduce.balanced.convergence import convergence_study
from spikereduce.config import load_config
from spikereduce.sweep import open_sweep, run_sweep

pytestmark = pytest.mark.numba

CONFIGS = "examples/configs"


def _numbers(result):
    """The numbers of a result: its variables and coordinates (not wall-time attrs)."""
    return {name: result[name].values for name in (*result.data_vars, *result.coords)}


def _assert_bitwise(a, b):
    na, nb = _numbers(a), _numbers(b)
    assert na.keys() == nb.keys()
    for name in na:
        x, y = np.asarray(na[name]), np.asarray(nb[name])
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name} differs"


B = balanced.reference_set("B")
RUNS = {
    "markov snn": lambda: markov.simulate_network(markov.MarkovParams(), 100.0, seed=4),
    "markov snn fixed": lambda: markov.simulate_network(markov.MarkovParams(), 50.0, seed=4,
                                                        connectivity="fixed"),
    "markov sde": lambda: markov.simulate_network(markov.MarkovParams(), 100.0, seed=4,
                                                  model="sde"),
    "avalanche simulate": lambda: avalanche.simulate(avalanche.weights.homogeneous(20, 0.9),
                                                     5000, seed=4),
    "avalanche sampler": lambda: avalanche.sample_avalanches(
        avalanche.weights.ring(8, 0.8), 500, seed=4),
    "nlif particles": lambda: nlif.simulate_particles(
        nlif.NLIFParams(b=0.5), 20_000, 0.3, p0=nlif.gaussian_density(0, 0.25), seed=4),
    "nlif particles threaded": lambda: nlif.simulate_particles(
        nlif.NLIFParams(b=0.5), 20_000, 0.3, p0=nlif.gaussian_density(0, 0.25), seed=4,
        threads=True),
    "nlif multiscale": lambda: nlif.simulate_multiscale(
        nlif.NLIFParams(b=1.5), 10_000, 0.3, p0=nlif.gaussian_density(1.5, 0.005), seed=4),
    "balanced network": lambda: balanced.simulate_network(
        B, 300, 0.5, y0=balanced.balanced_initial(B, 0.0, 0.5, 0.1), seed=4),
    "balanced shared edges": lambda: balanced.simulate_network(
        B, 300, 0.5, y0=balanced.balanced_initial(B, 0.0, 0.5, 0.1), seed=4, edges="shared"),
    "balanced convergence": lambda: convergence_study(
        B, balanced.balanced_initial(B, 0.0, 0.5, 0.1), replicates={100: 2, 200: 1},
        t_max=0.2, times=(0.1, 0.2), seed=4),
    "markov bifurcation": lambda: markov.bifurcation(markov.MarkovParams(), 0.6, 0.8, 2,
                                                     t_max=150.0, seed=4, models=("snn",)),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_same_seed_same_numbers_on_one_or_two_threads(name):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba was started with one thread")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = RUNS[name]()
        numba.set_num_threads(2)
        two = RUNS[name]()
    finally:
        numba.set_num_threads(before)
    _assert_bitwise(one, two)


SWEEPS = {
    "markov": ("markov_snn.toml", {"run.t_max": 50.0}, "params.p_ei=0.6:0.8:2"),
    "avalanche": ("avalanche_homogeneous.toml", {"params.N": 20, "run.n_avalanches": 2000},
                  "params.alpha=0.7:0.9:2"),
    "nlif": ("nlif_particles.toml", {"run.n": 5000, "run.t_max": 0.2}, "params.b=0.3:0.5:2"),
    "balanced": ("balanced_network.toml", {"run.n": 200, "run.t_max": 0.3}, "params.nu=0:0.1:2"),
}


@pytest.fixture(scope="module")
def two_workers():
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                     silence_logs=40)
    client = Client(c)
    yield client
    client.close()
    c.close()


@pytest.mark.slow
@pytest.mark.parametrize("family", list(SWEEPS))
def test_sweep_on_one_or_two_workers_gives_the_same_store(family, tmp_path, two_workers):
    registry.discover()
    name, overrides, grid = SWEEPS[family]
    cfg = load_config(f"{CONFIGS}/{name}").with_overrides(overrides)
    run_sweep(cfg, [grid], tmp_path / "one.zarr", seeds=2, workers=1, progress=False)
    run_sweep(cfg, [grid], tmp_path / "two.zarr", seeds=2, client=two_workers, progress=False)
    one, two = open_sweep(tmp_path / "one.zarr"), open_sweep(tmp_path / "two.zarr")
    assert set(one.data_vars) == set(two.data_vars)
    for var in [*one.data_vars, *one.coords]:
        if var == "point_wall_s" or var.startswith("wall_time"):
            continue  # wall times are measurements, not results
        a, b = one[var].values, two[var].values
        assert a.tobytes() == b.tobytes(), f"{var} differs"
