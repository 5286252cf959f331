"""cosim: thermal-electrical co-simulation of bipolar lithium-ion battery packs in vehicles.

Scenario files (TOML) describe components and their connections; the orchestrator couples
them at a fixed macro step and streams every recorded output to a netCDF4 file that
``xarray.open_dataset`` reads.
"""

__version__ = "0.1.0"
