"""Where the shared reference material lives (beside the repository, in CI too)."""

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
CHEN2020 = SHARED / "reference" / "pybamm-chen2020"


#: PyBaMM's Chen2020 discharges on meshes refined up to 16x (tests/data/pybamm_chen2020_fine/README.md)
CHEN2020_FINE = Path(__file__).resolve().parent / "data" / "pybamm_chen2020_fine"


def pybamm_curve(name: str, folder: Path = CHEN2020) -> dict[str, np.ndarray]:
    """A PyBaMM reference discharge (time_s, current_A, voltage_V, discharge_capacity_Ah): of
    the shared 20-point curves, or from ``folder`` (e.g. :data:`CHEN2020_FINE`)."""
    path = folder / name
    if not path.is_file():
        pytest.skip(f"reference data not found: {path}")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return {"time_s": data[:, 0], "current_A": data[:, 1], "voltage_V": data[:, 2], "capacity_Ah": data[:, 3]}
