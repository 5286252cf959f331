/*
 * Reference battery-electric vehicle on a drive cycle: the equations of cosim's native
 * `vehicle` component (cosim/components/vehicle.py, cosim/vehicle/longitudinal.py) in
 * plain C99, for the FMI 2.0 and 3.0 co-simulation wrappers beside this file.
 *
 * Nothing here knows about FMI. A model is one plain struct (VmModel: parameters, inputs,
 * state, outputs; no pointers, so it can be copied and saved byte for byte); the drive
 * cycle is a separate read-only table (VmCycle) loaded from a CSV file.
 *
 * Use:
 *     VmCycle c; VmModel m; char err[VM_MSG_LEN];
 *     vm_cycle_load(&c, "cycle.csv", err, sizeof err);
 *     vm_model_defaults(&m);  ... set m.p fields ...
 *     vm_init(&m, &c, t0, err, sizeof err);          -> outputs at t0 in m.y
 *     m.available_discharge_power_W = ...;           (inputs, held over the step)
 *     m.battery_power_limit_W = ...;                 (the pack's limit of this very step)
 *     vm_do_step(&m, &c, t, h, err, sizeof err);     -> outputs at t + h in m.y
 *     vm_cycle_free(&c);
 * Functions returning int give 0 on success and -1 on failure, with a message in err.
 *
 * Numerics mirror the Python model operation by operation (same formulas, same order of
 * floating-point operations, numpy.interp's interpolation rule, the same Newton/bisection
 * speed solve and the same 60-step bisection of the electrical budget) so that both agree
 * to round-off. Build without floating-point contraction (-ffp-contract=off).
 */
#ifndef VEHICLE_MODEL_H
#define VEHICLE_MODEL_H

#include <stddef.h>

#define VM_MAX_POINTS 64 /* most points of the motor efficiency curve */
#define VM_MAX_PHASES 16 /* most named cycle phases */
#define VM_MSG_LEN 512

/* standard gravity [m/s^2] */
#define VM_G_MPS2 9.80665

/* start value of the limit inputs: no limit (UNLIMITED_W in cosim/components/base.py); the
 * input battery_power_limit_W counts as a limit only below 0.1 of it in magnitude */
#define VM_UNLIMITED_W 1e12

typedef struct {
    size_t n;
    double *time_s;   /* shifted so that the first sample is at 0 */
    double *speed_mps;
    double *grade_rad;
} VmCycle;

/* Parameters: the numbers of a vehicle file (names as its keys) and the structure the
 * FMU was built with (road-load form, motor-efficiency form, cycle phases). */
typedef struct {
    double mass_kg;
    double rotating_inertia_factor;
    int coastdown; /* 0: physical road load (Crr, Cd*A, rho), 1: coast-down A, B, C */
    double rolling_resistance_coefficient;
    double drag_area_m2;
    double air_density_kg_per_m3;
    double A_N;
    double B_N_s_per_m;
    double C_N_s2_per_m2;
    double drivetrain_efficiency;
    double motor_max_power_W;
    double motor_max_regen_power_W;
    int motor_n_points; /* 0: constant motor_efficiency; else the curve's length (>= 2) */
    double motor_efficiency;
    double motor_efficiency_load_fraction[VM_MAX_POINTS];
    double motor_efficiency_curve[VM_MAX_POINTS];
    double regen_max_fraction;
    double regen_fade_start_speed_mps;
    double regen_fade_end_speed_mps;
    double auxiliary_power_W;
    int forward; /* 0: backward (trace followed exactly), 1: forward (power-limited) */
    int n_phases;
    double phase_start_s[VM_MAX_PHASES];
    double phase_end_s[VM_MAX_PHASES];
} VmParams;

/* Derived at vm_init: road load a0 cos(theta) + m g sin(theta) + a1 v + a2 v^2. */
typedef struct {
    double m_eff_kg;
    double a0_N;
    double a1_N_s_per_m;
    double a2_N_s2_per_m2;
    int a0_scales_with_cos;
    double phase_period_s;
} VmDerived;

typedef struct {
    double t0;     /* start time: the cycle's first sample plays at t0 */
    double v_mps;  /* speed at the current time */
    double d_m;    /* distance */
    double E_J;    /* battery energy */
    double phase_E_J[VM_MAX_PHASES];
    double phase_d_m[VM_MAX_PHASES];
    /* backward mode: steps whose discharge demand exceeded battery_power_limit_W, and the
     * worst of them (shortfall, time at its end, demand, limit): the state key "short" */
    long short_n;
    double short_worst_W;
    double short_t_s;
    double short_asked_W;
    double short_limit_W;
} VmState;

typedef struct {
    double battery_power_W;   /* means over the last step */
    double tractive_power_W;
    double braking_power_W;
    double regen_power_W;
    double target_speed_mps;  /* values at the current time */
    double speed_mps;
    double distance_m;
    double trace_miss_mps;
    double energy_per_distance_Wh_km;
    double phase_energy_per_distance_Wh_km[VM_MAX_PHASES];
} VmOutputs;

typedef struct {
    VmParams p;
    double available_discharge_power_W; /* inputs */
    double available_charge_power_W;
    /* the power the battery could deliver over this step when one of its limits bound
     * (from an iterated connection; |value| >= 1e11: no limit). Forward mode: caps the
     * discharge (value >= 0) or the charge (value <= 0) like the available powers, and a
     * step held at it books exactly this power. Backward mode: steps whose discharge
     * demand exceeds it are counted in the state (short_n ...). */
    double battery_power_limit_W;
    VmDerived k;
    VmState s;
    VmOutputs y;
    int initialized;
} VmModel;

/* Ids of the model's variables (the FMUs use them as value references). The elements of an
 * array variable with base id B are B + 1 ... B + n when addressed one by one (FMI 2). */
enum {
    VM_ID_TIME = 0,
    VM_ID_AVAILABLE_DISCHARGE_POWER_W = 1,
    VM_ID_AVAILABLE_CHARGE_POWER_W = 2,
    VM_ID_BATTERY_POWER_LIMIT_W = 3,
    VM_ID_BATTERY_POWER_W = 10,
    VM_ID_TARGET_SPEED_MPS = 11,
    VM_ID_SPEED_MPS = 12,
    VM_ID_DISTANCE_M = 13,
    VM_ID_TRACTIVE_POWER_W = 14,
    VM_ID_BRAKING_POWER_W = 15,
    VM_ID_REGEN_POWER_W = 16,
    VM_ID_TRACE_MISS_MPS = 17,
    VM_ID_ENERGY_PER_DISTANCE_WH_KM = 18,
    VM_ID_PHASE_ENERGY_PER_DISTANCE_WH_KM = 100, /* array of n_phases */
    VM_ID_MASS_KG = 200,
    VM_ID_ROTATING_INERTIA_FACTOR = 201,
    VM_ID_ROLLING_RESISTANCE_COEFFICIENT = 202,
    VM_ID_DRAG_AREA_M2 = 203,
    VM_ID_AIR_DENSITY_KG_PER_M3 = 204,
    VM_ID_A_N = 205,
    VM_ID_B_N_S_PER_M = 206,
    VM_ID_C_N_S2_PER_M2 = 207,
    VM_ID_DRIVETRAIN_EFFICIENCY = 208,
    VM_ID_MOTOR_MAX_POWER_W = 209,
    VM_ID_MOTOR_MAX_REGEN_POWER_W = 210,
    VM_ID_MOTOR_EFFICIENCY = 211,
    VM_ID_REGEN_MAX_FRACTION = 212,
    VM_ID_REGEN_FADE_START_SPEED_MPS = 213,
    VM_ID_REGEN_FADE_END_SPEED_MPS = 214,
    VM_ID_AUXILIARY_POWER_W = 215,
    VM_ID_MOTOR_EFFICIENCY_LOAD_FRACTION = 300, /* array of motor_n_points */
    VM_ID_MOTOR_EFFICIENCY_CURVE = 400,         /* array of motor_n_points */
    VM_ID_FORWARD = 500                         /* the only Boolean */
};

typedef enum { VM_KIND_TIME, VM_KIND_INPUT, VM_KIND_OUTPUT, VM_KIND_PARAMETER } VmKind;

typedef struct {
    double *value; /* first element */
    size_t n;      /* elements at value */
    VmKind kind;
    const char *name;
} VmVariable;

/* The Float64 variable with this id, as declared for the model's structure (the road-load
 * and motor-efficiency forms and the number of phases decide which exist). Arrays are
 * addressed whole by their base id (elementwise = 0) or one element per id
 * (elementwise = 1). Returns 0, or -1 if there is no such variable. VM_ID_FORWARD is not a
 * Float64 and is not found here; the time is found (value NULL: the caller keeps time). */
int vm_variable(VmModel *m, unsigned id, int elementwise, VmVariable *var);

void vm_model_defaults(VmModel *m); /* zero everything; forward = 1; 1e12 / -1e12 / 1e12 limits */

/* Check every parameter (ranges as the vehicle file's validation); the message names the
 * first offending parameter. */
int vm_check_params(const VmParams *p, char *err, size_t errlen);

int vm_cycle_load(VmCycle *c, const char *path, char *err, size_t errlen);
void vm_cycle_free(VmCycle *c);

/* Check the parameters, derive the road-load coefficients and set the state and the
 * outputs at t0 (the vehicle at the cycle's first speed). */
int vm_init(VmModel *m, const VmCycle *c, double t0, char *err, size_t errlen);

/* Advance from t to t + h (h > 0) with the inputs held. */
int vm_do_step(VmModel *m, const VmCycle *c, double t, double h, char *err, size_t errlen);

#endif /* VEHICLE_MODEL_H */
