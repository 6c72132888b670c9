"""Parameter sweeps of any registered run entry on Dask, written point by point to a Zarr store.

A sweep killed at any moment and started again computes only the missing points and ends with
the same numbers as an uninterrupted run. One job per module:

- :mod:`.grid`     the ``--param`` axes, seed replicates and the plan (every point's config);
- :mod:`.store`    the Zarr store: manifest, atomic point writes, markers, verification;
- :mod:`.execute`  running the missing points on Dask (local cluster, scheduler or client);
- :mod:`.read`     reading the finished points back as one Dataset over the grid.
"""

from .execute import SweepInterrupted, SweepResult, run_sweep
from .grid import SweepParam, SweepPlan, grid_points, make_plan, parse_param, point_seed
from .read import open_sweep, sweep_status
from .store import SweepStore

__all__ = ["SweepInterrupted", "SweepParam", "SweepPlan", "SweepResult", "SweepStore",
           "grid_points", "make_plan", "open_sweep", "parse_param", "point_seed", "run_sweep",
           "sweep_status"]
