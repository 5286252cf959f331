"""The coupling graph: checks connections, finds algebraic loops, orders components.

Two graphs are built from the components' ports and the scenario's connections:

* the **port graph**: an edge from each connected output to its input, and inside each
  component from every input to the outputs that depend on it directly (``depends_on``,
  FMI's ModelStructure). A cycle in it is an **algebraic loop**: values at one instant that
  depend on themselves. A loop must be broken by marking one of its connections
  ``delayed = true`` (that input then takes its source's value from the previous
  communication point) or ``iterate = true`` (the orchestrator solves the loop within each
  macro step by repeating it, see :mod:`cosim.orchestrator`); otherwise the run is refused
  with the loop spelled out.
* the **component graph**: an edge from each source component to each target component of a
  connection that is not delayed. Gauss-Seidel steps components in a topological order of
  it, so a target sees its source's output at the end of the current step. Cycles that are
  not algebraic loops are cut where the target's input has no direct feedthrough (the
  target then sees the source's previous value, the classic explicit coupling); ties are
  broken by the order in which the scenario lists the components.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .components.base import Causality, Component, same_unit
from .errors import CouplingError


@dataclass(frozen=True)
class Edge:
    """One connection ``source.source_port -> target.target_port``."""

    source: str
    source_port: str
    target: str
    target_port: str
    delayed: bool = False
    where: str = ""  # "file:line" of the connection in the scenario, for messages
    iterate: bool = False  # the target sees the source's value of the same step, found by iteration

    @property
    def breaks_loops(self) -> bool:
        """Whether the connection is left out of the loop and ordering graphs."""
        return self.delayed or self.iterate

    def __str__(self) -> str:
        return f"{self.source}.{self.source_port} -> {self.target}.{self.target_port}"


def _hint(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def check_connections(components: Mapping[str, Component], edges: Sequence[Edge]) -> None:
    """Refuse unknown ports, wrong causality, unit or shape mismatches and inputs fed twice.

    Every problem is reported at once; each names both ends of the connection."""
    problems: list[str] = []
    fed: dict[tuple[str, str], Edge] = {}
    for e in edges:
        first = len(problems)
        ends = []
        for comp_name, port_name, causality in (
            (e.source, e.source_port, Causality.OUTPUT),
            (e.target, e.target_port, Causality.INPUT),
        ):
            comp = components.get(comp_name)
            if comp is None:
                problems.append(f"{e}: no component {comp_name!r}{_hint(comp_name, components)}")
                ends.append(None)
                continue
            port = comp.ports.get(port_name)
            names = [p.name for p in comp.ports.values() if p.causality is causality]
            if port is None or port.causality is not causality:
                what = (f"is {_a(port.causality.value)}, not {_a(causality.value)}" if port
                        else "does not exist")
                problems.append(
                    f"{e}: {comp_name}.{port_name} {what}{_hint(port_name, names)} "
                    f"({comp_name}'s {causality.value}s: {', '.join(names) or 'none'})"
                )
                ends.append(None)
                continue
            ends.append(port)
        src, dst = ends
        if src is not None and dst is not None:
            if not same_unit(src.unit, dst.unit):
                problems.append(
                    f"{e}: unit mismatch: {e.source}.{e.source_port} is in {src.unit!r}, "
                    f"{e.target}.{e.target_port} expects {dst.unit!r}"
                )
            if src.kind != dst.kind:
                problems.append(
                    f"{e}: type mismatch: {e.source}.{e.source_port} carries {src.kind} values ({src.dtype}), "
                    f"{e.target}.{e.target_port} takes {dst.kind} values ({dst.dtype}); no conversion is applied"
                )
            if src.shape != dst.shape:
                problems.append(
                    f"{e}: shape mismatch: {e.source}.{e.source_port} has shape {src.shape}, "
                    f"{e.target}.{e.target_port} expects {dst.shape}"
                )
        key = (e.target, e.target_port)
        if key in fed:
            problems.append(f"{e}: input {e.target}.{e.target_port} is already fed by {fed[key]}")
        fed[key] = e
        if e.where:
            problems[first:] = [f"{e.where}: {p}" for p in problems[first:]]
    if problems:
        raise CouplingError(
            f"{len(problems)} problem(s) in the connections:\n" + "\n".join(f"  {p}" for p in problems)
        )


def _port_graph(components: Mapping[str, Component], edges: Sequence[Edge]) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for name, comp in components.items():
        for port in comp.ports.values():
            graph.setdefault(f"{name}.{port.name}", [])
            for dep in port.depends_on:
                graph.setdefault(f"{name}.{dep}", []).append(f"{name}.{port.name}")
    for e in edges:
        if not e.breaks_loops:
            graph[f"{e.source}.{e.source_port}"].append(f"{e.target}.{e.target_port}")
    return graph


def _strongly_connected(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components with more than one node or a
    self-edge (i.e. those that contain a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                scc = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    scc.append(n)
                    if n == node:
                        break
                if len(scc) > 1 or node in graph[node]:
                    result.append(scc)
    return result


def _cycle_in(graph: Mapping[str, list[str]], members: list[str]) -> list[str]:
    """One simple cycle through the strongly connected set ``members``, as a node list."""
    inside = set(members)
    start = min(members)
    parent: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in graph[node]:
            if child not in inside:
                continue
            if child == start:
                path = [node]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            if child not in parent:
                parent[child] = node
                queue.append(child)
    return sorted(members)  # unreachable for a strongly connected set


def algebraic_loops(components: Mapping[str, Component], edges: Sequence[Edge]) -> list[list[str]]:
    """Every algebraic loop, each as the cycle of ``component.port`` names it runs through."""
    graph = _port_graph(components, edges)
    return [_cycle_in(graph, scc) for scc in _strongly_connected(graph)]


def check_no_algebraic_loops(components: Mapping[str, Component], edges: Sequence[Edge]) -> None:
    loops = algebraic_loops(components, edges)
    if loops:
        lines = [" -> ".join(loop + [loop[0]]) for loop in loops]
        raise CouplingError(
            f"{len(loops)} algebraic loop(s): outputs that depend on themselves within one step:\n"
            + "\n".join(f"  {line}" for line in lines)
            + "\n  Mark one connection of each loop `delayed = true` to take its value from the previous step,"
            + " or `iterate = true` to solve the loop within each step."
        )


def gauss_seidel_order(
    components: Mapping[str, Component],
    edges: Sequence[Edge],
    explicit: Sequence[str] | None = None,
) -> list[str]:
    """The order in which Gauss-Seidel steps the components (see the module docstring).

    ``components`` must be in scenario order (ties are broken by it). With ``explicit``, that
    order is checked to be a permutation of the components and returned as is."""
    names = list(components)
    if explicit is not None:
        if sorted(explicit) != sorted(names):
            raise CouplingError(
                f"simulation.order {list(explicit)} must list every component exactly once: {names}"
            )
        return list(explicit)
    position = {n: i for i, n in enumerate(names)}
    incoming: dict[str, list[Edge]] = {n: [] for n in names}
    for e in edges:
        if not e.breaks_loops and e.source != e.target:
            incoming[e.target].append(e)
    order: list[str] = []
    done: set[str] = set()
    remaining = sorted(names, key=position.__getitem__)
    while remaining:
        ready = [n for n in remaining if all(e.source in done for e in incoming[n])]
        if not ready:
            # a cycle of components that is not an algebraic loop: cut it where the unmet
            # inputs do not feed through to any output
            def lag_is_harmless(n: str) -> bool:
                fed_through = {d for p in components[n].outputs for d in p.depends_on}
                return all(e.source in done or e.target_port not in fed_through for e in incoming[n])

            ready = [n for n in remaining if lag_is_harmless(n)] or remaining
        pick = ready[0]
        order.append(pick)
        done.add(pick)
        remaining.remove(pick)
    return order


def lagged_edges(order: Sequence[str], edges: Sequence[Edge], jacobi: bool) -> list[Edge]:
    """Connections whose target sees the source's value from the previous communication
    point: delayed ones, all under Jacobi, and under Gauss-Seidel those whose source steps
    after (or is) the target. Iterated connections are never lagged."""
    rank = {n: i for i, n in enumerate(order)}
    return [e for e in edges if not e.iterate and (jacobi or e.delayed or rank[e.source] >= rank[e.target])]
