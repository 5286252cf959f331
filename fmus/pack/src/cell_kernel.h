/*
 * Cell core of the pack FMU: the single particle models (SPM, SPMe) of cosim in plain C99,
 * one-to-one with the numba kernels of cosim/cell/spme_kernels.py (and the material
 * functions of cosim/cell/functions.py, the heat of mixing of cosim/cell/mixing_kernels.py).
 *
 * The physics is described in the docstrings of cosim/cell/spme.py and
 * cosim/cell/spme_kernels.py; this file only mirrors them. Every function here names the
 * Python function it mirrors and repeats its floating-point operations in the same order
 * (Python's min/max rules for NaN, numba's integer powers as products), so both agree to
 * round-off; tests/test_pack_c_kernel.py checks that. Build without floating-point
 * contraction (-ffp-contract=off; the default of gcc in ISO C mode) so that no multiply-add
 * is fused.
 *
 * Data layout. All arrays are C-ordered (row-major) float64 / int64, owned by the caller:
 *   CkCells   the parameters of a batch of N cells with M active materials in all (the
 *             fields of spme_kernels.CellData, same names, same shapes);
 *   CkPrep    what ck_prepare computes for a step (spme_kernels.prepare's tuple);
 *   CkEval    what ck_evaluate computes (spme_kernels.evaluate's tuple);
 *   CkOutputs what ck_outputs computes (spme_kernels.outputs's tuple).
 * States: particle modes z (M, N, n_r) and salt c (N, n) (n = 0 for the SPM).
 * Index conventions: (M, N) arrays at [k * N + i], (N, n) at [i * n + m], (M, N, n_r) at
 * [(k * N + i) * n_r + q].
 *
 * Reentrancy: no global or static mutable state; every function works only on its
 * arguments (and scratch memory it allocates with malloc and frees), so several FMU
 * instances may use the kernel at once from different threads. The loops over the cells
 * are serial. Only libc and libm are used.
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

/* Parameters of N cells (spme_kernels.CellData; shapes in the comments). */
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
    const double *d_centres;  /* (N, n - 1) */
    const double *total;      /* (N) */
    const double *lam;        /* (n_r) */
    const double *b;          /* (n_r) */
    const double *w_surf;     /* (n_r) */
    const double *w_mean;     /* (n_r) */
    const double *phi;        /* (n_r, n_r) */
    const double *face;       /* (n_r - 1) */
    const double *uH_table;   /* (M, n_tab, 2) */
} CkCells;

/* A prepared step (spme_kernels.prepare's tuple, same order). */
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

/* End-of-step results of an evaluation (spme_kernels.evaluate's tuple, same order). The
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

/* Outputs after a step (spme_kernels.outputs's tuple, same order). */
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

/* -- material functions (cosim/cell/functions.py) ---------------------------------------- */

/* value_slope: value *v and derivative *d of the function (code, p) at x. */
CK_EXPORT void ck_value_slope(int64_t code, const double *p, double x, double *v, double *d);

/* arrhenius_factor: exp(E / R (1 / T_ref - 1 / T)), 1 when E = 0. */
CK_EXPORT double ck_arrhenius_factor(double E, double T, double T_ref);

/* mixing_kernels.enthalpy_potential: U_H of material k at sto from its table. */
CK_EXPORT double ck_enthalpy_potential(const CkCells *d, int64_t k, double sto);

/* -- the kernels (cosim/cell/spme_kernels.py) -------------------------------------------- */

/* prepare: everything of a step of h s at temperatures T (N) that does not depend on the
 * current, from the modes z and the salt c, with the salt in n_sub backward-Euler sub-steps.
 * Returns 0, or -1 if scratch memory could not be allocated. */
CK_EXPORT int ck_prepare(const CkCells *d, double h, const double *T, const double *z, const double *c,
                         int64_t n_sub, const CkPrep *out);

/* evaluate: end-of-step voltage of every cell for currents I (N) held over the step, and
 * with `slope` the derivatives; `guess` (M, N) is where composite splits start if
 * has_guess. Zeroes `out` first as spme_kernels._alloc does (the derivative arrays only
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
