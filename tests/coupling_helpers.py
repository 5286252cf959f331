"""Run an orchestrator over test doubles and collect what it recorded."""

from cosim.coupling import Edge
from cosim.orchestrator import Orchestrator


def run(components, edges, *, stop_s=3.0, step_s=1.0, record=(), **kwargs):
    orch = Orchestrator(
        components,
        [Edge(*e) for e in edges],
        start_s=0.0,
        stop_s=stop_s,
        step_s=step_s,
        recorded=record,
        **kwargs,
    )
    records = []
    orch.run(lambda t, values: records.append((t, values)))
    return orch, records
