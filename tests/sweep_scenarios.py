"""Small scenarios for the sweep and plot tests: the flagship car with a tiny pack, short."""

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

THICKNESS = 'components.pack.overrides."negative.thickness_m"'
POSITIVE = 'components.pack.overrides."positive.thickness_m"'
COOLANT = "components.thermal.coolant_temperature_K"
INITIAL = "components.thermal.initial_temperature_K"


def small_pack(tmp_path: Path, *, stop_s: float = 30.0, layers: int = 4, extra: str = "",
               name: str = "small.toml") -> Path:
    """The flagship (vehicle, pack, thermal network) with 1 x 1 x ``layers`` unit cells of
    2 m^2, ``stop_s`` of WLTC 3b, recorded every 5 s."""
    path = tmp_path / name
    path.write_text(f"""
extends = "{SCENARIOS / 'flagship_bev_wltc3b.toml'}"
description = "small sweep test scenario"

[simulation]
stop_time_s = {stop_s}

[output]
interval_s = 5

[components.pack]
n_strings = 1
n_stacks = 1
n_layers = {layers}

[components.thermal]
n_strings = 1
n_stacks = 1
n_layers = {layers}
{extra}
""")
    return path
