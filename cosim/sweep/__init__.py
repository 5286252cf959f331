"""Design studies: many variants of one scenario, run in parallel, their KPIs in one dataset.

* :mod:`cosim.sweep.grid`: the variants (``--vary``/``[sweep]``, grid or zip), each validated;
* :mod:`cosim.sweep.execute`: the executors (process pool, Dask), batches, manifest, resume;
* :mod:`cosim.sweep.kpi`: the KPIs of a run and the sweep's ``kpi.nc``;
* :mod:`cosim.sweep.command`: ``cosim sweep`` (the command line's part).

In Python::

    from cosim.sweep import Dimension, plan_sweep, run_sweep
    plan = plan_sweep("scenarios/small_pack_us06.toml",
                      [Dimension("components.thermal.coolant_temperature_K", (273.15, 298.15))])
    outcome = run_sweep(plan, "results/coolant-sweep", workers=2)
    kpi = xarray.open_dataset(outcome.kpi_path)
"""

from typing import TYPE_CHECKING

from ..lazy_names import lazy_names

__all__ = ["Dimension", "SweepOutcome", "SweepPlan", "Variant", "load_variant", "plan_sweep", "run_sweep"]

# imported when first used, so that `cosim --help` (which reads cosim.sweep.command) stays fast
_WHERE = {"SweepOutcome": "execute", "run_sweep": "execute", "Dimension": "grid", "SweepPlan": "grid",
          "Variant": "grid", "load_variant": "grid", "plan_sweep": "grid"}

if TYPE_CHECKING:
    from .execute import SweepOutcome, run_sweep
    from .grid import Dimension, SweepPlan, Variant, load_variant, plan_sweep


__getattr__, __dir__ = lazy_names(__name__, _WHERE, __all__)
