"""Build the C test-fixture FMUs of ``tests/fmus`` (see ``tests/fmus/common/fixture.h``).

==========  =======  ================  ===================================================
name        FMI      interface         what it is for
==========  =======  ================  ===================================================
cs2_gain    2.0      co-simulation     y = k*u (feedthrough), x = integral of u, faults
cs3_array   3.0      co-simulation     cs2_gain with array ports u, y, x[3] and y_sum
me2_decay   2.0      model exchange    der(x) = -lam*(x - u), time event at t_switch
me2_ball    2.0      model exchange    bouncing ball, state event h = 0
me3_ball    3.0      model exchange    the same ball through the FMI 3 API
cs2_bench   2.0      co-simulation     y_i = u_i + time, i = 0..9 (overhead benchmarks)
cs2_types   2.0      co-simulation     Integer, Boolean, Enumeration, String and Real ports
cs3_types   3.0      co-simulation     Int64/UInt64/Int8/UInt16/Boolean/String/Enumeration/
                                       Float32 ports; terminateSimulation and earlyReturn
cs2_stop    2.0      co-simulation     ends the simulation: Discard + fmi2Terminated
me2_vdp     2.0      model exchange    van der Pol oscillator, mu = 1 (non-stiff benchmark)
me2_robe... 2.0      model exchange    me2_robertson: Robertson's stiff kinetics (benchmark)
me3_array   3.0      model exchange    array state x[n], der(x[i]) = -k[i] (x[i] - u), n structural
me2_disc... 2.0      model exchange    me2_discrete: me2_decay with u discrete (settable in event mode only)
me2_tiny    2.0      model exchange    me2_decay at x0 = 1e-9 with the state's nominal 1e-9
me3_disc... 3.0      model exchange    me3_discrete: me3_array with u discrete (settable in event mode only)
me3_flo...  3.0      model exchange    me3_float32: me3_array with u a continuous Float32 input
me2_resc... 2.0      model exchange    me2_rescale: me2_decay whose x and nominal scale by 1e-9 at t = 1 s
==========  =======  ================  ===================================================
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cosim.fmu.build import build_fmu

FMU_SOURCES = Path(__file__).resolve().parent / "fmus"
TEST_FMUS = ("cs2_gain", "cs3_array", "me2_decay", "me2_ball", "me3_ball", "cs2_bench", "cs2_types", "cs3_types",
             "cs2_stop", "me2_vdp", "me2_robertson", "me3_array", "me2_discrete",
             "me2_tiny", "me3_discrete", "me3_float32", "me2_rescale")


def build_test_fmus(out_dir: str | Path) -> dict[str, Path]:
    """Build every fixture FMU into `out_dir` (gcc runs in parallel); returns name -> .fmu path."""
    out_dir = Path(out_dir)
    common = f"-I{FMU_SOURCES / 'common'}"

    def one(name: str) -> Path:
        return build_fmu(FMU_SOURCES / name, out_dir / f"{name}.fmu", cflags=(common,))

    with ThreadPoolExecutor(max_workers=min(len(TEST_FMUS), os.cpu_count() or 1)) as pool:
        return dict(zip(TEST_FMUS, pool.map(one, TEST_FMUS)))
