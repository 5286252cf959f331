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

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["Dimension", "SweepOutcome", "SweepPlan", "Variant", "load_variant", "plan_sweep", "run_sweep"]

# imported when first used, so that `cosim --help` (which reads cosim.sweep.command) stays fast
_WHERE = {"SweepOutcome": "execute", "run_sweep": "execute", "Dimension": "grid", "SweepPlan": "grid",
          "Variant": "grid", "load_variant": "grid", "plan_sweep": "grid"}

if TYPE_CHECKING:
    from .execute import SweepOutcome, run_sweep
    from .grid import Dimension, SweepPlan, Variant, load_variant, plan_sweep


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
