/*
 * The assembled bipolar battery of the pack FMU in plain C99: strings of bipolar stacks of
 * SPM/SPMe unit cells (cell_kernel.h) and, when the scenario couples one, the layer-resolved
 * thermal network, stepped together as cosim's in-process `pack` and `thermal` components are
 * with the flagship's coupling (the pack steps [t, t + h] at the layer temperatures of t and
 * hands that step's heat to the network, which then steps [t, t + h] with it).
 *
 * It mirrors, operation for operation:
 *   cosim/components/pack.py   Pack._do_step, _step (halvings), _replay, _limits_of_step,
 *                              _publish (outputs, available power refresh, _near_available)
 *   cosim/pack/assembly.py     AssembledBattery.step, _solve, _probe, _limit_current,
 *                              _power_point, _within_limits, available_power
 *   cosim/cell/spme.py         SPMe._start/_evaluate/_evaluate_slope/_shift/_commit hints
 *   cosim/pack/pack_soc.py     pack_soc
 *   cosim/components/thermal.py, cosim/thermal/network.py   Thermal._do_step (backward
 *                              Euler; here a Cholesky factorisation of the same matrix)
 * tests/test_pack_c_model.py drives both with the same set points and requires every output
 * to agree (layer voltages within 1e-9 V, temperatures within 1e-9 K). cosim's in-process
 * `pack` component steps its SPM/SPMe battery with this model (no network; see "In-process
 * use" below), tests/test_pack_engine.py compares whole runs of both engines.
 *
 * With temperature_cache_K > 0 in its file (the pack's key; 0 by default) a unit cell
 * reuses its particle propagators and reaction rates while its temperature stays within it
 * of theirs (pack_cells.c model_prepare): then, and only then, it departs from the Python.
 *
 * Data: everything an instance needs (cell data, layout, resistances, limits, spread,
 * thermal matrices) is one resource file written by cosim/pack/export_data.py
 * (`pm_load`); the FMU reads it from its resources folder.
 *
 * Reentrancy: no global or static mutable state; an instance owns all its memory, so any
 * number of instances may live in one process and run in different threads.
 * Only libc and libm are used.
 */
#ifndef COSIM_PACK_MODEL_H
#define COSIM_PACK_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cell_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* results of pm_initialize / pm_do_step */
enum {
    PM_OK = 0,
    PM_ENDED = 1, /* on_limit = "end": a layer reached a limit; the step is complete, the run ends */
    PM_ERROR = 2  /* the step could not be taken (message set); the state is that before the step */
};

#define PM_MSG_LEN 512

/* control modes */
enum { PM_CONTROL_CURRENT = 0, PM_CONTROL_POWER = 1 };

/* Inputs held over a step. */
typedef struct {
    double setpoint;              /* pack current [A] or power [W] by the control mode, > 0 on discharge */
    double coolant_temperature_K; /* boundary 0 of the thermal network */
    double ambient_temperature_K; /* boundary 1 */
    double coolant_h_W_m2K;       /* heat-transfer coefficient of the cooled faces (changes the coolant conductances) */
} PmInputs;

/* Scalar outputs after pm_initialize / the last pm_do_step (names as the FMU variables). */
typedef struct {
    double voltage_V, current_A, power_W, soc, min_layer_soc, max_layer_soc, heat_W;
    double min_layer_voltage_V, mean_layer_voltage_V, max_layer_voltage_V;
    double min_layer_temperature_K, mean_layer_temperature_K, max_layer_temperature_K;
    double min_anode_potential_V, mean_anode_potential_V, max_anode_potential_V;
    double available_discharge_power_W, available_charge_power_W;
    double heat_to_coolant_W; /* mean over the last step */
    double limited, power_limit_W;
} PmScalars;

typedef struct PmPack PmPack; /* opaque */

/* The resource file at `path` read into a new instance (not yet initialized); NULL with
 * the reason in err (err_size bytes) if it cannot be read or is inconsistent. */
CK_EXPORT PmPack *pm_load(const char *path, char *err, size_t err_size);
CK_EXPORT void pm_free(PmPack *p);

/* sizes */
CK_EXPORT int64_t pm_n_strings(const PmPack *p);
CK_EXPORT int64_t pm_n_stacks(const PmPack *p);
CK_EXPORT int64_t pm_n_layers(const PmPack *p);
CK_EXPORT int pm_control(const PmPack *p);
CK_EXPORT int pm_has_thermal(const PmPack *p);

/* Tunable before initialization: the initial SOC of every unit cell (negative: the file's),
 * the initial temperature of every node (or of the layers without a thermal network). */
CK_EXPORT int pm_set_initial(PmPack *p, double initial_soc, double initial_temperature_K, char *msg, size_t n);

/* In-process use (cosim's pack component runs this model when its thermal network is a
 * component of its own):
 * - the layer temperatures (N values, C order) the next pm_initialize / pm_do_step uses, for
 *   an instance without a thermal network (PM_ERROR with one: its nodes give them; without
 *   this call an instance starts at its initial temperature, as the FMU does);
 * - the threads of the cell kernels' loops (cell_kernel.h "Threads"; 0 or 1: serial, the
 *   FMU's); the numbers are the same bit for bit whatever the count;
 * - whether the last pm_do_step cut its set point back at a limit itself (1), where
 *   PmScalars.limited also counts a repeated pass of a step at the limit an earlier pass
 *   found (Pack._limited against the output limited). */
CK_EXPORT int pm_set_layer_temperature(PmPack *p, const double *T_K, char *msg, size_t n);
CK_EXPORT void pm_set_threads(PmPack *p, int64_t n_threads);
CK_EXPORT int pm_step_limited(const PmPack *p);

/* The state at t0 as Pack._initialize and Thermal._initialize make it (outputs published). */
CK_EXPORT int pm_initialize(PmPack *p, double t0, const PmInputs *u, char *msg, size_t n);

/* One step [t, t + h] of the pack and then the network, as the orchestrator steps the two
 * components. PM_ERROR leaves the state as it was before the call. */
CK_EXPORT int pm_do_step(PmPack *p, double t, double h, const PmInputs *u, char *msg, size_t n);

/* outputs */
CK_EXPORT const PmScalars *pm_scalars(const PmPack *p);
/* per unit cell, C order (string, stack, layer): n_strings * n_stacks * n_layers values */
CK_EXPORT const double *pm_layer_voltage_V(const PmPack *p);
CK_EXPORT const double *pm_layer_temperature_K(const PmPack *p);
CK_EXPORT const double *pm_layer_anode_potential_V(const PmPack *p);
CK_EXPORT const double *pm_layer_soc(const PmPack *p);
CK_EXPORT const double *pm_layer_heat_W(const PmPack *p);
CK_EXPORT const double *pm_string_current_A(const PmPack *p); /* n_strings */
/* per stack, C order (string, stack): n_strings * n_stacks values */
CK_EXPORT const double *pm_stack_voltage_V(const PmPack *p);
CK_EXPORT const double *pm_stack_end_heat_W(const PmPack *p);
CK_EXPORT const double *pm_interconnect_heat_W(const PmPack *p);
/* the thermal network's node temperatures (pm_n_nodes values; NULL without a network) */
CK_EXPORT int64_t pm_n_nodes(const PmPack *p);
CK_EXPORT const double *pm_node_temperature_K(const PmPack *p);

/* FMU state: everything a later step depends on, as doubles (what Pack._get_state and
 * Thermal._get_state hold, plus the outputs); pm_state_size gives the count. The memo of the
 * last limited step (Pack._step_limit) is kept outside the state, as in Python. */
CK_EXPORT size_t pm_state_size(const PmPack *p);
CK_EXPORT void pm_get_state(const PmPack *p, double *buf);
CK_EXPORT int pm_set_state(PmPack *p, const double *buf);

#ifdef __cplusplus
}
#endif

#endif
