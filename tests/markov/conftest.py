"""Shared fixtures of the markov tests: default-point runs computed once per session."""

import pytest

from spikereduce.markov import MarkovParams, simulate_dsode, simulate_network


@pytest.fixture(scope="session")
def dsode_code():
    return simulate_dsode(MarkovParams(), 1000.0, refractory="code")


@pytest.fixture(scope="session")
def dsode_clean():
    return simulate_dsode(MarkovParams(), 1000.0, refractory="clean")


@pytest.fixture(scope="session")
def snn_runs():
    """The SNN at the default point, 1000 ms, seeds 1..5 (spec T5)."""
    return [simulate_network(MarkovParams(), 1000.0, seed=s) for s in range(1, 6)]
