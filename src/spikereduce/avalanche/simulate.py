"""Event simulation of the EHE avalanche network with arbitrary weights.

``simulate`` validates W, p and delta (conditions A1-A2), warns about resonant constant
amplitudes, starts from the exact stationary law and runs the compiled
dense or sparse kernel; the result is a Dataset (:func:`avalanche_dataset`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import xarray as xr

from ..errors import NumericalError, ParameterError
from ..io import PhaseTimer, make_dataset
from ..params import check_count
from ..progress import chunk_bounds, progress_bar
from ..rng import streams
from . import _kernels_sim as K
from ._checks import as_delta, as_distribution, as_weights, row_sums

#: The most drive steps one simulation takes (a drive too weak to trigger avalanches ends
#: with NumericalError instead of running for ever).
MAX_DRIVE_STEPS = 10**9
#: The most synaptic updates (spikes x targets) the relaxation onto the stationary law may
#: take; it needs about 1 / (1 - max row sum) firings per unit, so a network within ~1e-7 of
#: the conservative limit ends with NumericalError instead of running for hours.
MAX_RELAX_WORK = 10**10

# dense W^T rows are faster than neighbour lists when most entries are non-zero
_DENSE_FILL = 0.25
_DENSE_MAX_N = 2000


class ResonanceWarning(UserWarning):
    """A constant drive amplitude makes the torus translation non-ergodic."""


def avalanche_dataset(W: Any, *, sizes: np.ndarray, durations: np.ndarray,
                      start_units: np.ndarray, units: np.ndarray | None, delta: float,
                      random_amplitude: bool, p: np.ndarray, n_steps: int, seed: int,
                      timings: PhaseTimer, sampler: str, model: str = "network",
                      params: Any = None, u_initial: np.ndarray | None = None) -> xr.Dataset:
    """The result Dataset of a run of avalanches.

    On the ``avalanche`` dimension: ``sizes`` (spikes), ``durations`` (generations),
    ``start_units``. With assemblies: ``spike_unit`` on ``spike`` (the units of all avalanches
    in firing order) and ``assembly_offset`` on ``avalanche_edge`` (avalanche a fired
    spike_unit[offset[a]:offset[a+1]]). The network and its drive are stored so the run can be
    reproduced from the file: the weight matrix as triplets ``W_row``, ``W_col``, ``W_value``
    on ``W_entry`` (W[row, col] = value; :func:`spikereduce.avalanche.analysis.weights_of`
    rebuilds it) and the drive distribution ``p`` on ``unit``; delta, random_amplitude, the
    number of drive steps and the avalanche rate (avalanches per drive step) in attrs.
    """
    Wm = sp.coo_array(W) if sp.issparse(W) else sp.coo_array(np.asarray(W))
    Wm.sum_duplicates()
    data: dict[str, Any] = {
        "sizes": ("avalanche", sizes, {"units": "spikes"}),
        "durations": ("avalanche", durations, {"units": "generations"}),
        "start_units": ("avalanche", start_units, {"long_name": "unit driven over threshold"}),
        "W_row": ("W_entry", Wm.row.astype(np.int32)),
        "W_col": ("W_entry", Wm.col.astype(np.int32)),
        "W_value": ("W_entry", Wm.data.astype(np.float64),
                    {"long_name": "weight W[row, col]: col's spike raises row's potential",
                     "units": "threshold"}),
        "p": ("unit", np.asarray(p, float), {"long_name": "probability that a drive step "
                                                          "picks the unit"}),
    }
    if u_initial is not None:
        data["u_initial"] = ("unit", u_initial, {"long_name": "potentials before the first "
                                                              "drive step", "units": "threshold"})
    if units is not None:
        data["spike_unit"] = ("spike", units, {"description": "units in firing order"})
        data["assembly_offset"] = ("avalanche_edge",
                                   np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))))
    n_av = int(sizes.size)
    return make_dataset(
        data, {"avalanche": np.arange(n_av)}, family="avalanche", model=model, params=params,
        seed=seed, timings=timings, N=int(Wm.shape[0]), delta=float(delta),
        random_amplitude=int(random_amplitude), n_steps=int(n_steps), sampler=sampler,
        avalanche_rate=n_av / n_steps if n_steps else float("nan"))


def resonances(W: Any, delta: float, *, max_m: int = 64, tol: float = 1e-6,
               max_pairs_n: int = 64) -> list[tuple[np.ndarray, float]]:
    """Small integer vectors m with delta G^T m within ``tol`` of Z^N.

    Such an m is a conserved character of the torus translation: with a constant amplitude the
    dynamics is then not ergodic and simulated statistics carry a bias that grows with time. The
    search covers m = q e_i, q (e_i - e_j) and q (e_i + e_j) for q <= max_m (pairs only while
    N <= max_pairs_n, otherwise pairs with unit 0 and the all-ones direction); it is a detector
    for the structured cases (homogeneous, circulant, lattice networks), not a proof of
    ergodicity. Returns (m, distance) pairs, most resonant first.
    """
    Wm = as_weights(W)
    N = Wm.shape[0]
    IWt = (sp.identity(N, format="csc") - Wm.T.tocsc()) if sp.issparse(Wm) else np.eye(N) - Wm.T
    dirs: list[np.ndarray] = []
    if N <= max_pairs_n:
        eye = np.eye(N)
        dirs += [eye[i] for i in range(N)]
        for i in range(N):
            for j in range(i + 1, N):
                dirs += [eye[i] - eye[j], eye[i] + eye[j]]
    else:
        e0 = np.zeros(N)
        e0[0] = 1.0
        dirs.append(e0)
        nb = Wm[:, [0]].nonzero()[0] if sp.issparse(Wm) else np.flatnonzero(Wm[:, 0])
        for j in list(nb[:4]) + [N // 2]:
            if j != 0:
                v = e0.copy()
                v[j] -= 1.0
                dirs.append(v)
        dirs.append(np.ones(N))
    D = np.stack(dirs, axis=1)
    if sp.issparse(IWt):
        from scipy.sparse.linalg import splu

        Y = splu(IWt).solve(D)
    else:
        Y = np.linalg.solve(IWt, D)
    found = []
    for q in range(1, max_m + 1):
        Z = q * delta * Y
        dist = np.abs(Z - np.round(Z)).max(axis=0)
        for c in np.flatnonzero(dist < tol):
            found.append((q * D[:, c], float(dist[c])))
        if found:
            break
    found.sort(key=lambda t: (np.abs(t[0]).sum(), t[1]))
    return found


def _csr_out(Wm: np.ndarray | sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-neighbour lists: CSR of W^T (row k lists the units j receiving W[j, k])."""
    WT = sp.csr_array(Wm.T)
    WT.sum_duplicates()
    WT.eliminate_zeros()
    return (WT.indptr.astype(np.int64), WT.indices.astype(np.int64),
            WT.data.astype(np.float64))


def stationary_state(W: Any, rng: np.random.Generator) -> np.ndarray:
    """A state drawn from the stationary law (uniform on D): Relax((I - W) x + W1), x ~ U[0,1)^N,
    so no burn-in is needed."""
    Wm = as_weights(W)
    N = Wm.shape[0]
    x = rng.random(N)
    u = np.ascontiguousarray(x + Wm @ (1.0 - x), dtype=np.float64)
    dense, WT, indptr, indices, data = _representation(Wm)
    fanout = N if dense else max(1, indices.size // N)
    limit = max(10**6, MAX_RELAX_WORK // fanout)
    if K.relax(dense, WT, indptr, indices, data, u, np.int64(limit)) < 0:
        d = row_sums(Wm)
        raise NumericalError(
            f"relaxation onto the stationary law needed more than {limit:.1e} spikes: the "
            f"network dissipates only 1 - max row sum = {1 - d.max():.2g} per spike, too "
            "close to the conservative limit (lower the weights or pass u0)", time=0.0)
    return u


def _representation(Wm):
    N = Wm.shape[0]
    nnz = Wm.nnz if sp.issparse(Wm) else int(np.count_nonzero(Wm))
    dense = N <= _DENSE_MAX_N and nnz >= _DENSE_FILL * N * N
    if dense:
        Wd = Wm.toarray() if sp.issparse(Wm) else Wm
        WT = np.ascontiguousarray(Wd.T)
        z_i = np.zeros(1, dtype=np.int64)
        return True, WT, z_i, z_i, np.zeros(1)
    indptr, indices, data = _csr_out(Wm)
    return False, np.zeros((1, 1)), indptr, indices, data


def simulate(W: Any, n_avalanches: int, *, delta: float | None = None, p: Any = None,
             random_amplitude: bool = True, seed: int = 0, u0: Any = None,
             record_assemblies: bool = True, check_resonance: bool = True,
             progress: bool | None = None) -> xr.Dataset:
    """Simulate the driven EHE network until ``n_avalanches`` avalanches have occurred.

    Each drive step picks unit i with probability p_i (uniform if None) and adds delta*U(0,1)
    (``random_amplitude``, the default, which guarantees ergodicity) or the constant delta.
    ``delta`` defaults to 1 - max row sum, the largest admissible value (A2). The initial state
    is drawn from the stationary law unless ``u0`` is given. Potentials are in units of the
    threshold (U = 1); sizes count spikes, durations count synchronous generations.

    Returns the Dataset described in :func:`avalanche_dataset`, with the initial potentials
    ``u_initial`` on ``unit``: with W, p, delta and the seed, everything needed to rerun it.
    """
    timer = PhaseTimer()
    with timer("validate"):
        Wm = as_weights(W)
        N = Wm.shape[0]
        # per avalanche: size, duration, start (12 bytes), recorded spikes (~16 x 4 bytes)
        n_av = check_count("n_avalanches", n_avalanches,
                           bytes_per_item=12 + (64 if record_assemblies else 0))
        pv = as_distribution(p, N)
        d = as_delta(delta, Wm)
        st = streams(seed)
        if u0 is None:
            u = stationary_state(Wm, st.generator("initial"))
        else:
            u = np.array(u0, dtype=np.float64).ravel()
            if u.size != N or not np.all(np.isfinite(u)) or np.any(u >= 1.0) or np.any(u < 0):
                raise ParameterError("u0", "out of range", f"N = {N} potentials in [0, 1)")
        if not random_amplitude and check_resonance:
            res = resonances(Wm, d)
            if res:
                m, dist = res[0]
                warnings.warn(
                    f"constant amplitude delta = {d!r} is resonant: delta G^T m is within "
                    f"{dist:.1e} of an integer vector for m = {np.round(m).astype(int).tolist()}"
                    f"{'' if N <= 12 else ' (abridged)'}; the dynamics is not ergodic and "
                    "avalanche statistics will be biased. Use random_amplitude=True.",
                    ResonanceWarning, stacklevel=2)
    dense, WT, indptr, indices, data = _representation(Wm)
    uniform = bool(np.all(pv == pv[0]))
    cum_p = np.cumsum(pv)
    cum_p[-1] = 1.0
    u_initial = u.copy()
    rng = st.state("drive")
    parts = []
    n_steps = 0
    with progress_bar(n_av, "avalanches", enabled=progress, unit="points") as bar:
        done = 0
        for c, (a, b) in enumerate(chunk_bounds(n_av, 20 if n_av >= 200_000 else 1)):
            with timer("simulate" if c else "compile+simulate"):
                out = K.simulate_kernel(dense, WT, indptr, indices, data, u, cum_p, uniform,
                                        d, bool(random_amplitude), b - a,
                                        rng, bool(record_assemblies),
                                        np.int64(MAX_DRIVE_STEPS - n_steps))
            sizes, durs, starts, units, steps, status = out
            if status == K.TOO_MANY_STEPS:
                raise NumericalError(
                    f"{done + sizes.size} of {n_av} avalanches after {MAX_DRIVE_STEPS:.0e} drive "
                    f"steps (MAX_DRIVE_STEPS): the drive delta = {d:g} is too small for this "
                    "network to reach threshold in reasonable time", time=float(MAX_DRIVE_STEPS))
            if status != K.OK:
                raise NumericalError(
                    "a unit fired twice within one avalanche: W and delta violate the "
                    "admissibility conditions A1-A2", time=float(n_steps + steps))
            parts.append((sizes, durs, starts, units))
            n_steps += int(steps)
            done += b - a
            bar.update(done)
    sizes = np.concatenate([q[0] for q in parts])
    return avalanche_dataset(
        Wm, sizes=sizes, durations=np.concatenate([q[1] for q in parts]),
        start_units=np.concatenate([q[2] for q in parts]),
        units=np.concatenate([q[3] for q in parts]) if record_assemblies else None, delta=d,
        random_amplitude=bool(random_amplitude), p=pv, n_steps=n_steps, seed=int(seed),
        timings=timer, sampler="dynamics", u_initial=u_initial)
