"""cosim: thermal-electrical co-simulation of bipolar lithium-ion battery packs in vehicles.

Scenario files (TOML) describe components and their connections; the orchestrator couples
them at a fixed macro step and streams every recorded output to a netCDF4 file that
``xarray.open_dataset`` reads.
"""

import os

# The cell kernels' thread pool (numba on OpenMP) spins while idle unless told otherwise;
# next to other busy processes (a sweep, a CI job) that made every run about 4x slower
# (two flagship runs at once: 59 s each instead of 14 s). Idle threads sleep instead; a
# value set by the user wins. Must be set before the first parallel kernel starts OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
