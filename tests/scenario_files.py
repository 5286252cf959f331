"""Write small scenario files for the run and CLI tests."""

from pathlib import Path

PROBE_CHAIN = """
description = "probe chain for tests"

[simulation]
stop_time_s = {stop}
step_s = {step}

[output]
flush_every_records = {flush}

[components.src]
type = "profile"
time_s = [0.0, 10.0]
values = {{ power_W = [0.0, 100.0] }}
interpolation = "mean"

[components.sink]
type = "test_probe"
inputs = ["u"]
outputs = ["y", "z"]
unit = "W"
size = {size}
sleep_s = {sleep}
{extra}

[components.layered]
type = "test_probe"
outputs = ["temperature"]
unit = "K"
size = 4

[[connections]]
from = "src.power_W"
to = "sink.u"
"""


def probe_chain(tmp_path: Path, *, stop=10.0, step=1.0, flush=100, sleep=0.0, extra="", name="chain.toml") -> Path:
    path = tmp_path / name
    path.write_text(PROBE_CHAIN.format(stop=stop, step=step, flush=flush, size=0, sleep=sleep, extra=extra))
    return path
