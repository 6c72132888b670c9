"""Running a sweep on Dask: one task per missing point, on a local cluster, a running scheduler
or a caller's client; workers that see the store write their points themselves."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from ..config import RunConfig
from ..errors import ConfigError, NumericalError, ParameterError, SpikeReduceError
from ..params import check_int
from .grid import SweepParam, SweepPlan, make_plan
from .store import SweepStore


def _compute_point(run: Callable[[RunConfig], Any], cfg: RunConfig,
                   write_to: tuple[str, int] | None = None) -> tuple[Any, float]:
    """Runs on a Dask worker: one point of the sweep, with its wall time (s).

    With ``write_to = (store path, index)`` the worker writes the data itself into a temporary
    folder of the store and returns a :class:`_Written` for the client to commit: the data never
    travel through the scheduler, and their encoding costs the worker's core rather than the
    client's. The library's own errors come back as data, not raised: they pickle with their
    fields (field, value, admissible range; time of a numerical failure), and a point's
    failure is part of the sweep's result rather than a worker fault for Dask to log.
    """
    from .. import progress

    t0 = time.perf_counter()
    try:
        with progress.silenced():  # one bar, the sweep's: a point draws none of its own
            ds = run(cfg)
    except SpikeReduceError as exc:
        return exc, 0.0
    if not isinstance(ds, xr.Dataset):
        return ConfigError(f"{cfg.family}/{cfg.model}: the run entry returned "
                           f"{type(ds).__name__}, not an xarray.Dataset; it cannot be swept"), 0.0
    wall = time.perf_counter() - t0
    if write_to is None:
        return ds, wall
    tmp, checksum = SweepStore(write_to[0]).write_temporary(write_to[1], ds)
    return _Written(str(tmp), checksum), wall


@dataclass(frozen=True)
class _Written:
    """A point that its worker wrote into a temporary folder of the store."""

    tmp: str
    checksum: str


def _workers_share_store(client: Any, store: SweepStore) -> bool:
    """Whether every worker of ``client`` sees the store's folder (a local cluster, or a shared
    file system): the client writes a random token there and each worker must read it back."""
    token = uuid.uuid4().hex
    probe = store.points.resolve() / f".probe.{token}.tmp"
    try:
        probe.write_text(token, encoding="utf-8")
        seen = client.run(_read_text, str(probe))
    except Exception:  # no worker yet, a worker that cannot import us: write on the client
        return False
    finally:
        probe.unlink(missing_ok=True)
    return bool(seen) and all(v == token for v in seen.values())


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None


def _where(plan: SweepPlan, index: int, *, seed: bool = True) -> str:
    """A point's swept values (and its seed), as in error messages: ``params.p_ei=0.9, ...``."""
    return ", ".join(f"{k}={v}" for k, v in plan.overrides(index).items()
                     if seed or k != "seed")


def in_context(exc: SpikeReduceError, where: str) -> SpikeReduceError:
    """``exc`` with ``where`` (the sweep point) in front of its message, every field kept."""
    if isinstance(exc, ParameterError):
        return ParameterError(exc.field, exc.value, exc.admissible, message=f"{where}: {exc}")
    if isinstance(exc, NumericalError):
        return NumericalError(f"{where}: {exc.reason}", time=exc.time)
    return ConfigError(f"{where}: {exc}")


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` did: the store, the grid size, how many points it computed, how
    many it reused, and which finished points it found damaged and computed again."""

    store: Path
    n_points: int
    computed: int
    already_done: int
    wall_s: float
    dims: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    damaged: tuple[int, ...] = ()  # finished points whose data failed their checksum: redone


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; finished points are in the store and a rerun completes it."""

    def __init__(self, store: Path, done: int, total: int):
        self.store, self.done, self.total = store, done, total
        super().__init__(f"interrupted: {done} of {total} points are finished in {store}; "
                         "run the same command again to compute the rest")


def _local_client(workers: int) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    # Ctrl-C in a terminal reaches the whole process group: the workers start with SIGINT
    # ignored (inherited), so only this process reacts, cancels the points and closes them.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        # One thread per worker process, and numba pinned to it: the points are the parallelism.
        # Logs below CRITICAL stay quiet: a point's failure reaches the client as its result,
        # and a shutdown after Ctrl-C can race a worker's heartbeat against the closing
        # scheduler, which dask logs as an ERROR with a traceback on the user's terminal.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=50,
                               env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return Client(cluster), cluster


def _remote_client(address: str) -> Any:
    from distributed import Client

    try:
        # Waits as long as dask's distributed.comm.timeouts.connect (30 s unless configured).
        return Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None


def run_sweep(cfg: RunConfig, grid: Sequence[SweepParam | str], store: str | os.PathLike[str],
              *, seeds: int = 1, workers: int | None = None, scheduler: str | None = None,
              client: Any = None, progress: bool | None = None,
              on_point: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run ``cfg``'s model over ``grid`` (and ``seeds`` replicates), one Dask task per point.

    Points already finished in ``store`` are verified against their checksums and kept (a damaged
    one is computed again, see ``SweepResult.damaged``). The cluster is, in
    order of precedence: ``client`` (an existing ``distributed.Client``), ``scheduler`` (address
    of a running Dask scheduler, e.g. ``tcp://host:8786``), or a new local cluster of ``workers``
    single-threaded processes (default: the number of cores). Point ``i`` runs with seed
    :func:`point_seed` ``(cfg.seed, i)``. ``on_point(done, total)`` is called after each write.
    Ctrl-C raises :class:`SweepInterrupted` after cancelling the remaining points.
    """
    from .. import registry

    plan = make_plan(cfg, grid, seeds=seeds)
    entry = registry.get_run(cfg.family, cfg.model)
    # every point's [params] and [run] options, before a store or a cluster exists
    for i in range(plan.n_points):
        point = plan.point_config(i)
        try:
            entry.check_params(point)
            registry.resolve_options(entry.options, point.options, entry.run.where)
        except SpikeReduceError as exc:
            raise in_context(exc, f"sweep point {i} ({_where(plan, i, seed=False)})") from None
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ParameterError("scheduler", scheduler, "a Dask scheduler address, tcp://HOST:PORT")
    sweep_store = SweepStore(store)
    manifest = sweep_store.create_or_check(plan)
    sweep_store.lock()
    try:
        return _run_locked(plan, entry, sweep_store, manifest, workers=workers,
                           scheduler=scheduler, client=client, progress=progress,
                           on_point=on_point)
    finally:
        sweep_store.unlock()


def _run_locked(plan: SweepPlan, entry: Any, sweep_store: SweepStore,
                manifest: Mapping[str, Any], *, workers: int | None, scheduler: str | None,
                client: Any, progress: bool | None,
                on_point: Callable[[int, int], None] | None) -> SweepResult:
    from ..progress import progress_bar

    cfg = plan.config
    done = sweep_store.scan(manifest, clean=True)
    damaged = sweep_store.verify(done)  # reuse only points whose data match their marker
    missing = [i for i in range(plan.n_points) if i not in done]
    t_start = time.perf_counter()
    if not missing:
        return SweepResult(sweep_store.path, plan.n_points, 0, len(done), 0.0, plan.dims,
                           plan.shape, damaged=tuple(damaged))
    configs = {i: plan.point_config(i) for i in missing}

    own_client = own_cluster = None
    if client is None:
        if scheduler is not None:
            client = own_client = _remote_client(scheduler)
        else:
            n = min(workers or os.cpu_count() or 1, len(missing))
            own_client, own_cluster = _local_client(n)
            client = own_client
    from distributed import as_completed

    run_id = uuid.uuid4().hex
    futures = []
    computed = 0
    label = f"sweep {cfg.family}/{cfg.model}" + (f" ({len(done)} already done)" if done else "")
    try:
        # Workers that see the store write their points themselves (see _compute_point).
        root = str(sweep_store.path.resolve()) if _workers_share_store(client, sweep_store) \
            else None
        for i in missing:
            # Lower indices first, so an interrupted sweep leaves a contiguous head of the grid.
            target = (root, i) if root is not None else None
            futures.append(client.submit(_compute_point, entry.run, configs[i], target,
                                         pure=False, key=f"spikereduce-point-{i}-{run_id}",
                                         priority=-i))
        index_of = {f.key: i for f, i in zip(futures, missing, strict=True)}
        with progress_bar(len(missing), label, enabled=progress, unit="points") as bar:
            for future in as_completed(futures):
                i = index_of[future.key]
                ds, wall = future.result()
                future.release()
                if isinstance(ds, SpikeReduceError):
                    raise in_context(ds, f"sweep point {i} ({_where(plan, i)})")
                if isinstance(ds, _Written):
                    sweep_store.commit_point(i, Path(ds.tmp), ds.checksum,
                                             fingerprint=manifest["fingerprint"],
                                             seed=configs[i].seed, wall_s=wall, run_id=run_id)
                else:
                    sweep_store.write_point(i, ds, fingerprint=manifest["fingerprint"],
                                            seed=configs[i].seed, wall_s=wall, run_id=run_id)
                computed += 1
                bar.update(computed)
                if on_point is not None:
                    on_point(len(done) + computed, plan.n_points)
    except KeyboardInterrupt:
        _cancel(client, futures)
        # Count the markers rather than trust ``computed``: the interrupt may land between a
        # point's marker and the count that follows it.
        finished = len(sweep_store.scan(manifest))
        raise SweepInterrupted(sweep_store.path, finished, plan.n_points) from None
    except BaseException:
        _cancel(client, futures)
        raise
    finally:
        if own_client is not None:
            own_client.close(timeout=10)
        if own_cluster is not None:
            own_cluster.close(timeout=10)
    return SweepResult(sweep_store.path, plan.n_points, computed, len(done),
                       time.perf_counter() - t_start, plan.dims, plan.shape,
                       damaged=tuple(damaged))


def _cancel(client: Any, futures: list[Any]) -> None:
    try:
        client.cancel(futures, force=True)
    except Exception:  # the cluster may already be gone; nothing is left to save
        pass
