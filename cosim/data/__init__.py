"""Data shipped with cosim: cell parameter sets in ``parameters/*.toml`` (see
``parameters/README.md`` and :mod:`cosim.cell.parameter_set`)."""

from pathlib import Path

#: folder of the shipped cell parameter sets
PARAMETERS_DIR = Path(__file__).resolve().parent / "parameters"
