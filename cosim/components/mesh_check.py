"""``mesh_check``: how converged the answer of a run is, measured while it runs.

With ``mesh_check = true`` a ``cell`` or ``pack`` component runs a sample of its unit cells a
second time, on a mesh ``mesh_check_refinement`` times finer (default 2: every count of the
run's mesh doubled, the particle shells and the electrolyte volumes of each region), and
drives each of them exactly like its counterpart in the run: every sub-step the run's model
took (internal steps, step halvings, a replayed limit step) with the current that cell
was committed with (the string solve's current in a pack; in power, voltage or clamped
control the current the cell took) at its temperature of the step. The difference of the
terminal voltages, run mesh minus refined mesh, is then the discretisation error of the
run's answer at the operating point the run went through (to the part the refined mesh
removes: with a scheme of order p, about ``1 - 1/r^p`` of it). It is recorded every step
as ``mesh_check_voltage_difference_V`` (dims ``<component>_mesh_check_cell``, labelled by
the cells' names) and summarised in the result's attributes (:meth:`MeshCheck.attributes`).

The refined cells are model state like the run's: the component saves and restores them
with its own state, so a repeated step (iterated coupling, a rolled-back step) advances
them once. A refined cell that finds no solution where its run counterpart did (its
particle or electrolyte runs out first: near the end of a discharge on a fine mesh) is
retried in halves of the sub-step; if even that fails it leaves the check (its difference
is held from then on, and the run's notes and attributes say when).

Contract for a component that uses it (numbered):

1. Build :class:`MeshCheck` in ``__init__`` with the parameters of the sampled cells only
   (:meth:`cosim.cell.params.CellParams.take`), the run's mesh and the sampled cells'
   indices and names; declare :meth:`MeshCheck.port` and return :meth:`MeshCheck.coordinates`
   from the component's ``coordinates()``.
2. In ``_initialize``, publish :meth:`MeshCheck.start` (the refined cells at rest at the
   run's temperatures) after the run's model is at rest.
3. At the start of every ``_do_step`` call :meth:`MeshCheck.begin`; after every sub-step the
   run's model committed (and only those: a tried step that is undone is not reported)
   call :meth:`MeshCheck.took` with the sub-step's length, the cells' temperatures and the
   currents they were committed with; before publishing the step's outputs (also a step
   that ends the run) publish :meth:`MeshCheck.finish` with the step's end time and the
   run's cell voltages.
4. Include :meth:`MeshCheck.get_state` in the component's state and restore it with
   :meth:`MeshCheck.set_state`.
5. Return :meth:`MeshCheck.attributes` from ``run_attributes()`` and
   :meth:`MeshCheck.notes` in ``run_notes()``.

When ``mesh_check`` is false the component builds nothing and none of this runs.
"""

from __future__ import annotations

import numpy as np

from ..cell.base import ConvergenceError
from .base import Causality, Port

__all__ = ["MeshCheck", "batch_sample", "pack_sample"]

PORT = "mesh_check_voltage_difference_V"


def batch_sample(n_cells: int) -> list[int]:
    """The default sample of a ``cell`` batch: its first and last cell. The cells of a batch
    share their parameters and differ only by their inputs (per-cell set points, their
    temperatures), which are not known before the run; a batch that spans a range of
    set points or temperatures along its index has its extremes at its ends."""
    return sorted({0, n_cells - 1})


def pack_sample(capacity_C: np.ndarray, spread, n_max: int = 3) -> list[int]:
    """The default sample of a pack (flat cell indices, at most ``n_max``), chosen to bound
    the discretisation error where it matters:

    * the unit cell of the smallest capacity: every cell of a string carries the string's
      current, so it runs at the highest C-rate (the largest gradients in its particles and
      electrolyte) and it is the cell that meets the layer limits first;
    * the cell with the thickest layers (largest thickness factor): the longest diffusion
      path through the electrolyte, whose discretisation drives the error of the SPMe and
      DFN at a given current density;
    * the most nominal cell (spread factors closest to 1), the pack's typical cell.

    The contact-resistance factor counts only there: that resistance is ohmic, the mesh
    does not change its voltage. A criterion without a spread to rank by is skipped; where
    fewer than two cells remain (no spread at all), the first and the last cell are added
    (the two ends of the pack, its thermal extremes next to the end plates). Cells whose temperature makes them the worst (a cold corner) are not known
    before the run: ``mesh_check_cells`` names cells by position."""
    factors = np.stack([spread.capacity, spread.thickness, spread.resistance])
    chosen = [int(np.argmin(capacity_C))] if np.ptp(capacity_C) > 0 else []
    if np.ptp(spread.thickness) > 0:
        chosen.append(int(np.argmax(spread.thickness)))
    if np.ptp(factors) > 0:
        chosen.append(int(np.argmin(((factors - 1.0) ** 2).sum(axis=0))))
    if len(set(chosen)) < 2:
        chosen += [0, len(capacity_C) - 1]
    return list(dict.fromkeys(chosen))[:n_max]


class MeshCheck:
    """The sampled cells on the refined mesh; see the module docstring."""

    def __init__(self, component: str, model_name: str, params, mesh, refinement: int, cells, labels,
                 max_halvings: int):
        from .cell_core import make_model

        self.component = component
        self.cells = np.asarray(cells, dtype=int)
        self.labels = list(labels)
        self.model = make_model(model_name, params.take(self.cells), mesh, refinement)
        self.max_halvings = int(max_halvings)
        n_r, n_x = mesh.particle_shells, list(mesh.electrolyte_volumes)
        electrolyte = "" if model_name == "spm" else (
            f", electrolyte_volumes {n_x} vs {[refinement * n for n in n_x]}")
        self.meshes = (f"{self.model.name}: the run's mesh vs {refinement}x refined: particle_shells {n_r} vs "
                       f"{refinement * n_r}{electrolyte}")
        self.dim = f"{component}_mesh_check_cell"
        self._pending: list[tuple[float, np.ndarray, np.ndarray]] = []
        # (time [s], sum of dV^2 h over steps and cells [V^2 s], cell-seconds [s], max |dV| [V],
        #  (t, cell) of the max, {cell: time it left the check}, last difference): replaced, never mutated
        self._stats = (None, 0.0, 0.0, 0.0, None, {}, np.zeros(self.cells.size))

    # -- ports ------------------------------------------------------------------------------
    def port(self, depends_on: tuple[str, ...]) -> Port:
        return Port(PORT, Causality.OUTPUT, unit="V", shape=(self.cells.size,), dims=(self.dim,),
                    depends_on=depends_on,
                    long_name="terminal voltage of the sampled unit cells on the run's mesh minus the same cells on "
                              f"the refined mesh, driven alike: the discretisation error ({self.meshes})")

    def coordinates(self) -> dict[str, list]:
        return {self.dim: self.labels}

    # -- stepping ---------------------------------------------------------------------------
    def start(self, t0: float, T_cells: np.ndarray, v_cells: np.ndarray) -> np.ndarray:
        """The refined cells at rest (a step of 1e-9 s at zero current, as the run's models
        start) and the difference at ``t0``."""
        self.model.rest_outputs(np.asarray(T_cells, dtype=float)[self.cells])
        dV = np.asarray(v_cells, dtype=float)[self.cells] - self.model.out["voltage_V"]
        self._stats = (t0, 0.0, 0.0, 0.0, None, {}, dV)
        return dV.copy()

    def begin(self) -> None:
        self._pending = []

    def took(self, h: float, T_cells: np.ndarray, I_cells: np.ndarray) -> None:
        self._pending.append((float(h), np.asarray(T_cells, dtype=float)[self.cells].copy(),
                              np.asarray(I_cells, dtype=float)[self.cells].copy()))

    def finish(self, t_end: float, v_cells: np.ndarray) -> np.ndarray:
        """Step the refined cells through the sub-steps the run took since :meth:`begin`;
        the difference run - refined of the sampled cells' voltages ``v_cells`` (all cells)
        at the step's end ``t_end``, weighted by the step's length in the summary."""
        t0, sq, cell_s, worst, where, lost, last = self._stats
        lost, t = dict(lost), t0
        for h, T, I in self._pending:
            self._advance(t, h, T, I, lost, 0)
            t += h
        t, h_step = t_end, t_end - t0
        self._pending = []
        dV = np.asarray(v_cells, dtype=float)[self.cells] - self.model.out["voltage_V"]
        live = np.array([k not in lost for k in range(self.cells.size)])
        dV = np.where(live, dV, last)
        if h_step > 0 and live.any():
            sq += float((dV[live] ** 2).sum()) * h_step
            cell_s += h_step * int(live.sum())
            k = int(np.argmax(np.where(live, np.abs(dV), -1.0)))
            if abs(dV[k]) > worst:
                worst, where = float(abs(dV[k])), (t, k)
        self._stats = (t, sq, cell_s, worst, where, lost, dV)
        return dV.copy()

    def _advance(self, t: float, h: float, T: np.ndarray, I: np.ndarray, lost: dict, depth: int) -> None:
        """One sub-step of the refined cells; in halves where it has no solution; a cell
        without one even then leaves the check (it rests from then on)."""
        held = np.array([k in lost for k in range(self.cells.size)])
        try:
            self.model.step(h, T, current_A=np.where(held, 0.0, I))
        except ConvergenceError as exc:
            if depth < self.max_halvings:
                self._advance(t, h / 2, T, I, lost, depth + 1)
                self._advance(t + h / 2, h / 2, T, I, lost, depth + 1)
                return
            new = [int(k) for k in exc.cells if int(k) not in lost]
            if not new:  # at rest and still no solution: not the mesh's doing
                raise
            lost.update(dict.fromkeys(new, t))
            self._advance(t, h, T, I, lost, depth)

    # -- state and summary ------------------------------------------------------------------
    def get_state(self):
        return self.model.get_state(), self._stats

    def set_state(self, state) -> None:
        self.model.set_state(state[0])
        self._stats = state[1]  # replaced, never mutated, by each step

    def attributes(self) -> dict:
        """Result attributes: the two meshes, the sampled cells, and the RMS (over the run's
        time and the cells still in the check) and largest |difference|."""
        t, sq, cell_s, worst, where, lost, _ = self._stats
        prefix = f"{self.component}_mesh_check"
        attrs = {
            f"{prefix}_meshes": self.meshes,
            f"{prefix}_cells": "; ".join(self.labels),
            f"{prefix}_rms_voltage_difference_V": float(np.sqrt(sq / cell_s)) if cell_s > 0 else float("nan"),
            f"{prefix}_max_abs_voltage_difference_V": worst if cell_s > 0 else float("nan"),
            f"{prefix}_max_abs_voltage_difference_at": (
                f"t = {where[0]:g} s, {self.labels[where[1]]}" if where is not None else "none"),
        }
        if lost:
            attrs[f"{prefix}_lost_cells"] = self._lost_text(lost)
        return attrs

    def notes(self) -> list[str]:
        lost = self._stats[5]
        if not lost:
            return []
        return [f"'{self.component}': mesh check: {self._lost_text(lost)} "
                "(no solution on the refined mesh where the run's mesh had one: the answer there depends on the mesh)"]

    def _lost_text(self, lost: dict) -> str:
        return "; ".join(f"{self.labels[k]} left the check at t = {t:g} s" for k, t in sorted(lost.items()))
