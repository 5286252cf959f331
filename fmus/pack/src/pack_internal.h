/*
 * Internals of the pack FMU's battery (pack_model.h): the instance, shared by
 *   pack_data.c     the resource file (pm_load), numpy-like reductions, allocation
 *   pack_cells.c    the cell model around the kernels (cosim/cell/spme.py: hints, shift, commit)
 *   pack_battery.c  the assembled battery (cosim/pack/assembly.py)
 *   pack_thermal.c  the thermal network (cosim/components/thermal.py, cosim/thermal/network.py)
 *   pack_model.c    the pack component and the API (cosim/components/pack.py)
 * Not part of the API: the FMI wrappers use pack_model.h only.
 */
#ifndef COSIM_PACK_INTERNAL_H
#define COSIM_PACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cell_kernel.h"
#include "pack_model.h"

/* AssembledBattery._solve's tolerance and iteration cap, assembly._SAFETY */
#define PM_SOLVE_TOL 1e-9
#define PM_SOLVE_MAX_ITER 40
#define PM_SAFETY 10.0
#define PM_UNLIMITED_W 1e12 /* components.base.UNLIMITED_W */

enum { PM_ON_LIMIT_STOP = 0, PM_ON_LIMIT_END = 1, PM_ON_LIMIT_CLAMP = 2 };

/* one named array of the resource file */
typedef struct {
    char name[64];
    int is_int;
    int64_t count;
    void *data; /* double or int64_t */
} PmArray;

/* a prepared step (spme._Prep): the kernel's arrays, the temperatures and the hint of the
 * last slope evaluation of this step (currents, j, dj) */
typedef struct {
    double h;
    const double *T;
    CkPrep a;
    double *buf;
    int has_hint;
    double *hint_I, *hint_j, *hint_dj; /* N, M N, M N */
    /* the temperature-only arrays' cache (model_prepare): the step and each cell's
     * temperature they were computed at, whether they were, and which cells reuse them */
    double h_used, *T_used;            /* N */
    int used;
    int64_t *reuse;                    /* N */
} PmPrep;

/* an evaluation and what AssembledBattery._solve returns: (I_strings, V_pack, v, aux,
 * I_cells, dv_dI); aux = (Ic, ev.V, ev.j, ..., derivatives if has_deriv) */
typedef struct {
    double *I_s;   /* S */
    double V_pack;
    double *Ic;    /* N */
    CkEval ev;     /* v = ev.V */
    int has_deriv; /* aux carries the derivatives */
    int has_dv;    /* dv_dI (= -dv/dI per cell) is given */
    double *dv;    /* N */
    double *buf;
} PmRes;

/* AssembledBattery._probe's tuple */
typedef struct {
    PmRes r;
    double m, dm, p, dp;
} PmProbe;

/* a pulse evaluation of available_power's `evaluate` */
typedef struct {
    int ok;
    double *v, *dv; /* N: cell voltages and their slope per pack ampere */
    double V, dV;
    int has_anode;
    double *a, *da; /* N */
    double *buf;
} PmPulse;

/* the thermal network */
typedef struct {
    int64_t n, nnz;
    double *cap;                /* n */
    int64_t *G_ptr, *G_idx;     /* CSR of the symmetric node-to-node conductances */
    double *G_val;
    int64_t *perm;              /* RCM order: perm[new] = old */
    int64_t *inv;               /* inv[old] = new */
    int64_t *layer_node;        /* N */
    int64_t *end_nodes;         /* S K 2 */
    int64_t n_contrib;
    int64_t *c_node, *c_bnd, *c_kind; /* boundary conductance contributions (builder order) */
    double *c_val;
    double r_tim, area, max_step_s, T_ref, initial_T;
    double coolant_T0, ambient_T0, coolant_h0;
    int series_end, series_link; /* stack_end_heat_W / interconnect_heat_W connected */
    /* assembled for the present coolant h */
    double h_cool;
    double *gb;                 /* n 2: conductance to coolant, ambient */
    double *K_val;              /* CSR of K = diag(rowsum G + gb) - G, diagonal in place */
    int64_t *K_ptr, *K_idx;
    int64_t n_bnodes[2];
    int64_t *bnodes[2];         /* nodes connected to each boundary */
    double *bg[2];
    /* envelope Cholesky factors of C/h + K (permuted), cached per step size */
    int64_t *first;             /* per permuted row: its first column in the envelope */
    int64_t *row_start;         /* offset of the row in the envelope storage */
    int64_t env_size;
    double cache_h[4];
    int cache_used[4];
    int64_t cache_age[4];
    int64_t age;
    double *L[4];
    /* state */
    double *T;                  /* n */
    double generated, stored, removed[2];
    /* scratch */
    double *rhs, *work, *q, *q2, *theta;
} PmThermal;

struct PmPack {
    /* data */
    PmArray *arrays;
    int64_t n_arrays;
    CkCells cells;
    int64_t S, K, Lay, N, M, nr, n;
    int control, composite, has_thermal, on_limit, available_power, has_min_anode, max_halvings;
    double R_end, one_c, lim_lo, lim_hi, plim_lo, plim_hi, max_layer_T, pulse_s, interval_s, min_anode;
    double temperature_K, initial_soc, init_T;
    double T_cache_tol; /* temperature_cache_K: 0 reuses only at the very same temperature */
    const double *R_series, *conn_R, *cell_cap, *z_file, *c_file, *z_uniform;
    PmThermal th;
    /* cell model state */
    double *z, *c;
    int hint_ok, hint_has_dj;
    double *hint_I, *hint_j, *hint_dj;
    /* model outputs of the last commit */
    double *out_V, *out_I, *out_ocv, *out_q[4], *out_soc, *out_anode, *out_sto_s, *out_sto_m;
    /* battery state */
    double *I_s, voltage, *curvature;
    int trend_ok, trend_power;
    double trend_h, trend_value, *trend_I;
    int pulse_state[2];   /* per sign (+, -): 0 none, 1 (found, None), 2 (found, previous) */
    double pulse_found[2], pulse_prev[2];
    int limited;
    /* pack component state */
    int next_ok;
    double next_update;
    double h_macro;
    double energy_J;
    int step_limited, substeps;
    int ending;
    char ending_msg[PM_MSG_LEN];
    /* memo of the last limited step (outside the state) */
    int memo_ok, memo_has_I;
    double memo_t, memo_h, memo_p, memo_I;
    /* outputs */
    PmScalars y;
    double *y_layer_V, *y_layer_T, *y_anode, *y_soc, *y_heat, *y_string_I, *y_stack_V, *y_end_heat, *y_link_heat;
    double *T_layers; /* the layer temperatures the next pack step uses */
    int T_given;      /* set by pm_set_layer_temperature (no network): pm_initialize keeps them */
    int initialized;
    /* scratch */
    PmPrep prep, pulse_prep, short_prep;
    PmRes res_step;
    PmProbe pr[6];
    PmPulse pulses[3];
    double *scratch, *I0buf, *guess, *tmpN, *tmpS, *tmpS2, *tmpS3, *tmpS4;
    double *state_buf; /* a saved state (replay, errors) */
    double *state_buf2;
};

/* -- pack_data.c ---------------------------------------------------------------------- */
void *pm_calloc(size_t n, size_t size);
const PmArray *pm_find(const PmPack *p, const char *name);
/* numpy's sum of n contiguous doubles (pairwise, as np.add.reduce) */
double np_sum(const double *a, int64_t n);
double np_sum_strided(const double *a, int64_t n, int64_t stride);
double py_min(double a, double b);
double py_max(double a, double b);
double np_min(const double *a, int64_t n); /* NaN propagates */
double np_max(const double *a, int64_t n);
int all_finite(const double *a, int64_t n);
void pm_where(const PmPack *p, int64_t cell, char *buf, size_t n); /* Layout.where */
int pm_read_file(PmPack *p, const char *path, char *err, size_t err_size);

/* -- pack_cells.c --------------------------------------------------------------------- */
int prep_alloc(PmPack *p, PmPrep *pr);
int res_alloc(PmPack *p, PmRes *r);
void res_copy(const PmPack *p, PmRes *dst, const PmRes *src);
int pulse_alloc(PmPack *p, PmPulse *u);
int model_prepare(PmPack *p, PmPrep *pr, double h, const double *T, int64_t substeps);
int model_evaluate(PmPack *p, PmPrep *pr, const double *I, int slope, PmRes *r);
void model_commit(PmPack *p, PmPrep *pr, const PmRes *r);
void model_set_soc(PmPack *p, double soc);
int model_solve_strings(PmPack *p, PmPrep *pr, const double *I0, int power_mode, double demand, double scale,
                        PmRes *r, int *ok);

/* -- pack_battery.c ------------------------------------------------------------------- */
/* AssembledBattery.step: 0 done, 1 ConvergenceError (message in msg), -1 no memory */
int battery_step(PmPack *p, double h, const double *T, int power_mode, double value, int with_limits,
                 char *msg, size_t n);
int battery_available_power(PmPack *p, const double *T, double *dis, double *ch);

/* -- pack_thermal.c ------------------------------------------------------------------- */
int thermal_setup(PmPack *p, char *err, size_t n);
void thermal_free(PmThermal *th);
void thermal_initialize(PmPack *p, double T0);
int thermal_step(PmPack *p, double h, const double *layer_heat, const double *end_heat, const double *link_heat,
                 double coolant_T, double ambient_T, double coolant_h, double *removed_coolant_J);
void thermal_layers(const PmPack *p, double *T_layers);

#endif
