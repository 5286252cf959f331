/*
 * The single particle models (SPM, SPMe) of cosim in plain C99: their one implementation.
 * cosim's Python cells (cosim/cell/spme.py) call these kernels through ctypes
 * (cosim/pack/c_kernel.py builds the library with gcc), the pack FMU runs them in its
 * battery (pack_*.c), and cosim/cell/functions.py evaluates the material functions with them.
 *
 * The physics is described in the docstrings of cosim/cell/spme.py (the model and how a step
 * is split into prepare / evaluate / commit / outputs), cosim/cell/particle.py (the exact
 * modal particle step), cosim/cell/electrolyte1d.py (the salt step) and cosim/cell/energy.py
 * (the heats); the parameters are packed by SPMe._cell_data into cosim/cell/cell_data.py's
 * CellData. Build without floating-point contraction (-ffp-contract=off; the default of gcc
 * in ISO C mode) so that no multiply-add is fused: the Python cells (built by
 * cosim/pack/c_kernel.py) and the pack FMU then round alike, and the pack FMU's battery gives
 * the Python pack's numbers (tests/test_pack_c_model.py).
 *
 * Data layout. All arrays are C-ordered (row-major) float64 / int64, owned by the caller:
 *   CkCells   the parameters of a batch of N cells with M active materials in all (the
 *             fields of cell_data.CellData, same names, same shapes);
 *   CkPrep    what ck_prepare computes for a step;
 *   CkEval    what ck_evaluate computes;
 *   CkOutputs what ck_outputs computes.
 * States: particle modes z (M, N, n_r) and salt c (N, n) (n = 0 for the SPM).
 * Index conventions: (M, N) arrays at [k * N + i], (N, n) at [i * n + m], (M, N, n_r) at
 * [(k * N + i) * n_r + q].
 *
 * Reentrancy: no global or static mutable state; every function works only on its
 * arguments (and scratch memory it allocates with malloc and frees), so several FMU
 * instances (or Python threads) may use the kernel at once. Only libc and libm are used.
 *
 * Threads: built with OpenMP (gcc -fopenmp: the in-process library of cosim/pack/c_kernel.py
 * on Linux), the loops over the cells of ck_prepare, ck_evaluate, ck_solve_strings,
 * ck_commit, ck_outputs and ck_anode_potential run on CkCells.n_threads threads once a batch
 * has CK_PARALLEL_MIN_CELLS cells. Each cell is computed by one thread from its own inputs
 * into its own outputs, and every sum over cells (the string sums of ck_solve_strings) stays
 * serial, so the numbers are the same bit for bit whatever the thread count. Built without
 * OpenMP (the pack FMU) the pragmas are left out and every loop is serial.
 */
#ifndef COSIM_CELL_KERNEL_H
#define COSIM_CELL_KERNEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* exported from the kernel library; an FMU build defines CK_EXPORT empty (only fmi* exported) */
#ifndef CK_EXPORT
#if defined(_WIN32)
#define CK_EXPORT __declspec(dllexport)
#else
#define CK_EXPORT __attribute__((visibility("default")))
#endif
#endif

/* Material function codes of cosim/cell/functions.py (a function is (code, parameter vector)). */
enum {
    CK_CONSTANT = 0,
    CK_TABLE = 1,
    CK_POLYNOMIAL = 2,
    CK_TANH_STAIRCASE = 3,
    CK_CHEN2020_GRAPHITE = 4,
    CK_CHEN2020_NMC811 = 5,
    CK_NYMAN2008_KAPPA = 6,
    CK_NYMAN2008_D = 7,
    CK_DOYLE1996_COKE = 8,
    CK_DOYLE1996_SPINEL = 9,
    CK_MARQUIS2019_LICO2 = 10,
    CK_KIM2011_NCA = 11
};

/* Faraday and gas constants of cosim/cell/params.py (CODATA 2018). */
#define CK_F 96485.33212
#define CK_R 8.314462618

/* Parameters of N cells (cell_data.CellData; shapes in the comments). */
typedef struct {
    int64_t N;        /* cells */
    int64_t M;        /* active materials of both electrodes, negative first */
    int64_t n_r;      /* particle shells (= modes) */
    int64_t n;        /* salt nodes through the cell (0: SPM) */
    int64_t P_ocp;    /* row width of ocp_p */
    int64_t P_dUdT;   /* row width of dUdT_p */
    int64_t n_tab;    /* rows of each enthalpy table (intervals + 1) */
    int64_t mat_start[3]; /* materials of electrode e are mat_start[e] .. mat_start[e + 1] - 1 */
    int64_t n_x[3];   /* salt nodes per region: negative, separator, positive */
    int64_t kappa_code;
    int64_t De_code;
    const int64_t *ocp_code;  /* (M) */
    const int64_t *dUdT_code; /* (M) */
    const double *c_max;      /* (M, N) mol/m^3 */
    const double *a;          /* (M, N) 1/m */
    const double *radius;     /* (M, N) m */
    const double *film;       /* (M, N) Ohm m^2 */
    const double *rate;       /* (M, N) */
    const double *D_ref;      /* (M, N) m^2/s */
    const double *cap;        /* (M, N) eps_s c_max */
    const double *sto0;       /* (M, N) */
    const double *sto100;     /* (M, N) */
    const double *alpha_a;    /* (M) */
    const double *alpha_c;    /* (M) */
    const double *E_D;        /* (M) J/mol */
    const double *E_k;        /* (M) J/mol */
    const double *ocp_p;      /* (M, P_ocp) */
    const double *dUdT_p;     /* (M, P_dUdT) */
    const double *area;       /* (N) m^2 */
    const double *L;          /* (3, N) m */
    const double *sigma;      /* (2, N) S/m */
    const double *eff;        /* (3, N) */
    const double *contact;    /* (N) Ohm */
    const double *c_e0;       /* (N) mol/m^3 */
    const double *scalars;    /* (7) T_ref, chi, 1 - t+, kappa E, kappa T_ref, D_e E, D_e T_ref */
    const double *kappa_p;    /* parameter vector of the conductivity */
    const double *De_p;       /* parameter vector of the salt diffusivity */
    const double *dx;         /* (N, n) */
    const double *capacity;   /* (N, n) */
    const double *tortuosity; /* (N, n) */
    const double *total;      /* (N) */
    const double *lam;        /* (n_r) */
    const double *b;          /* (n_r) */
    const double *w_surf;     /* (n_r) */
    const double *w_mean;     /* (n_r) */
    const double *phi;        /* (n_r, n_r) */
    const double *face;       /* (n_r - 1) */
    const double *uH_table;   /* (M, n_tab, 2) */
    int64_t n_threads;        /* threads for the loops over the cells (0 or 1: serial); see "Threads" */
} CkCells;

/* the fewest cells for which the loops over the cells are shared between threads */
#define CK_PARALLEL_MIN_CELLS 64

/* A prepared step (the tuple CKernel.prepare returns, same order). */
typedef struct {
    double *E;      /* (M, N, n_r) modal decay */
    double *G;      /* (M, N, n_r) modal flux gain */
    double *s0;     /* (M, N) end-of-step surface concentration at j = 0 ... */
    double *s1;     /* (M, N) ... and per unit j */
    double *k_eff;  /* (M, N) rate constants at the cell temperatures */
    double *kfac;   /* (N) Arrhenius factor of the conductivity (1 for the SPM) */
    double *c_free; /* (N, n) end-of-step salt at I = 0 ... */
    double *c_unit; /* (N, n) ... and per ampere */
} CkPrep;

/* End-of-step results of an evaluation (the tuple CKernel.evaluate returns, same order). The
 * derivative arrays (dj .. dterms) are written only with `slope`. */
typedef struct {
    double *V;      /* (N) terminal voltage */
    double *dV;     /* (N) dV/dI */
    double *j;      /* (M, N) interfacial current density A/m^2 */
    double *eta;    /* (M, N) overpotential */
    double *cs;     /* (M, N) surface concentration */
    double *dphi;   /* (2, N) solid-electrolyte potential difference per electrode */
    double *terms;  /* (3, N) eta_c, dphi_e, dphi_s */
    double *dj;     /* (M, N) */
    double *deta;   /* (M, N) */
    double *dcs;    /* (M, N) */
    double *ddphi;  /* (2, N) */
    double *dterms; /* (3, N) */
} CkEval;

/* Outputs after a step (the tuple CKernel.outputs returns, same order). */
typedef struct {
    double *ocv;        /* (N) V */
    double *q_rxn;      /* (N) W */
    double *q_ohm;      /* (N) W */
    double *q_rev;      /* (N) W */
    double *q_mix;      /* (N) W */
    double *soc;        /* (N) */
    double *anode;      /* (N) V vs Li/Li+ */
    double *sto_surf;   /* (M, N) */
    double *sto_mean;   /* (M, N) */
} CkOutputs;

/* -- material functions (the formulas of cosim/cell/functions.py's classes) -------------- */

/* Value *v and derivative *d of the function (code, p) at x (a stoichiometry, or a salt
 * concentration in mol/m^3); NaN in, NaN out; NaN for an unknown code. */
CK_EXPORT void ck_value_slope(int64_t code, const double *p, double x, double *v, double *d);

/* ck_value_slope at the n points x: values into value_out, slopes into slope_out unless
 * it is NULL (functions.py's __call__ and value_slope). */
CK_EXPORT void ck_values(int64_t code, const double *p, const double *x, int64_t n, double *value_out,
                         double *slope_out);

/* exp(E / R (1 / T_ref - 1 / T)), 1 when E = 0 (cosim.cell.params.arrhenius). */
CK_EXPORT double ck_arrhenius_factor(double E, double T, double T_ref);

/* -- enthalpy potential tables (heat of mixing; cosim/cell/mixing_kernels.py) ------------ */

/* The table tab (n + 1, 2) of U_H = U - T_ref dU/dT of a material (ocp and dUdT functions):
 * U_H at sto = i / n and its slope times 1 / n, read by a cubic Hermite interpolant. An
 * interval where the interpolant misses the function at a quarter point by more than
 * value_tol or its slope by more than slope_tol (relative, plus value_tol) has the slopes
 * at both its ends set to NaN: U_H is then evaluated from the functions there. n >= 1. */
CK_EXPORT void ck_enthalpy_table(int64_t ocp_code, const double *ocp_p, int64_t dUdT_code, const double *dUdT_p,
                                 double T_ref, int64_t n, double value_tol, double slope_tol, double *tab);

/* U_H at the n stoichiometries sto from the table tab (n_tab rows) of ck_enthalpy_table,
 * or from the functions outside [0, 1], at NaN and in the intervals the table marks. */
CK_EXPORT void ck_enthalpy_potentials(const double *tab, int64_t n_tab, int64_t ocp_code, const double *ocp_p,
                                      int64_t dUdT_code, const double *dUdT_p, double T_ref, const double *sto,
                                      int64_t n, double *out);

/* U_H of material k at sto, from its table in d->uH_table (as ck_enthalpy_potentials). */
CK_EXPORT double ck_enthalpy_potential(const CkCells *d, int64_t k, double sto);

/* -- the kernels (called by cosim/cell/spme.py through cosim/pack/c_kernel.py) ------------ */

/* prepare: everything of a step of h s at temperatures T (N) that does not depend on the
 * current, from the modes z and the salt c, with the salt in n_sub backward-Euler sub-steps.
 * Returns 0, or -1 if scratch memory could not be allocated. */
CK_EXPORT int ck_prepare(const CkCells *d, double h, const double *T, const double *z, const double *c,
                         int64_t n_sub, const CkPrep *out);

/* ck_prepare, except that each cell with reuse[i] != 0 keeps the temperature-only arrays of
 * `out` (E, G, s1, k_eff of its materials: the particles' propagators and reaction rates) as
 * an earlier call for it with the same h left them, and only s0 (from its modes) and the
 * salt's arrays are computed. With reuse NULL it is ck_prepare. The caller decides at which
 * temperature those arrays may be reused (pack_cells.c: model_prepare). */
CK_EXPORT int ck_prepare_reusing(const CkCells *d, double h, const double *T, const double *z, const double *c,
                                 int64_t n_sub, const CkPrep *out, const int64_t *reuse);

/* evaluate: end-of-step voltage of every cell for currents I (N) held over the step, and
 * with `slope` the derivatives; `guess` (M, N) is where composite splits start if
 * has_guess. Sets `out` first: V to NaN, the rest to zero (the derivative arrays only
 * with slope). Returns 0, or -1 without scratch memory. */
CK_EXPORT int ck_evaluate(const CkCells *d, const CkPrep *prep, const double *T, const double *I,
                          const double *guess, int has_guess, int slope, const CkEval *out);

/* commit: advance the modes z and the salt c in place with currents I and splits j. */
CK_EXPORT void ck_commit(const CkCells *d, const CkPrep *prep, const double *I, const double *j, double *z,
                         double *c);

/* outputs: heats, OCV, SOC, stoichiometries, anode potential after a committed step. */
CK_EXPORT void ck_outputs(const CkCells *d, const double *T, const double *I, const double *j,
                          const double *eta, const double *cs, const double *dphi, const double *terms,
                          const double *z, const double *c, const CkOutputs *out);

/* anode_potential: end-of-step anode potential a (N) for currents I from the negative's
 * dphi0 (N), and with `slope` its derivative da (N) from ddphi0 (zeros without). */
CK_EXPORT void ck_anode_potential(const CkCells *d, const CkPrep *prep, const double *T, const double *I,
                                  const double *dphi0, const double *ddphi0, int slope, double *a, double *da);

/* solve_strings: the pack's Newton on its S string currents (cells of string s are
 * s*per .. (s+1)*per - 1, per = N / S) for a pack current `demand` or, with power_mode, a
 * pack power. I0 (S) is the start; I (S) receives the string currents, *V_pack the pack
 * voltage (NaN on failure), Ic (N) the cell currents, out the evaluation (with derivatives
 * unless *slope_out is 0: one string at a given current is evaluated without);
 * curvature (S) is updated in place. Returns 1 (solved), 0 (no solution), -1 (no memory). */
CK_EXPORT int ck_solve_strings(const CkCells *d, const CkPrep *prep, const double *T, const double *guess,
                               int has_guess, int64_t S, const double *I0, int power_mode, double demand,
                               const double *R_series, double scale, int64_t max_iter, double *curvature,
                               double safety, double *I, double *V_pack, double *Ic, const CkEval *out,
                               int *slope_out);

#ifdef __cplusplus
}
#endif

#endif
