/* cs2_types - FMI 2.0 co-simulation test fixture with ports of every FMI 2 type:
 *   n_out = k_int*n_in + steps (Integer), flag_out = !flag_in (Boolean), mode_out = mode_in
 *   (Enumeration), label_out = label_in + ":" + n_in (String), y = u*n_in (Real), steps =
 *   completed steps (Integer). */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_CS
#define FX_MODEL_IDENTIFIER "cs2_types"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40201}"

enum { K_INT, N_IN, FLAG_IN, MODE_IN, LABEL_IN, U, N_OUT, FLAG_OUT, MODE_OUT, LABEL_OUT, Y, STEPS, NVARS };
enum { R_U, R_Y, NSLOTS };
#define FX_NSLOTS NSLOTS
#define FX_TYPED 1
typedef struct {
    long long i[8];
    unsigned long long u[1];
    int b[2];
    float f[1];
    char s[2][64];
} FxTyped;
enum { I_K, I_N_IN, I_MODE_IN, I_N_OUT, I_MODE_OUT, I_STEPS };

#include "fixture.h"
#include "typed.h"

static const FxVar variables[] = {
    {K_INT, -1, 1, FX_PARAMETER, "k_int"},
    {N_IN, -1, 1, FX_INPUT, "n_in"},
    {FLAG_IN, -1, 1, FX_INPUT, "flag_in"},
    {MODE_IN, -1, 1, FX_INPUT, "mode_in"},
    {LABEL_IN, -1, 1, FX_INPUT, "label_in"},
    {U, R_U, 1, FX_INPUT, "u"},
    {N_OUT, -1, 1, FX_CALCULATED, "n_out"},
    {FLAG_OUT, -1, 1, FX_CALCULATED, "flag_out"},
    {MODE_OUT, -1, 1, FX_CALCULATED, "mode_out"},
    {LABEL_OUT, -1, 1, FX_CALCULATED, "label_out"},
    {Y, R_Y, 1, FX_CALCULATED, "y"},
    {STEPS, -1, 1, FX_CALCULATED, "steps"},
};

static const FxTypedVar typed[] = {
    {K_INT, TY_I32, I_K},         {N_IN, TY_I32, I_N_IN},       {FLAG_IN, TY_BOOL, 0},
    {MODE_IN, TY_I32, I_MODE_IN}, {LABEL_IN, TY_STR, 0},        {N_OUT, TY_I32, I_N_OUT},
    {FLAG_OUT, TY_BOOL, 1},       {MODE_OUT, TY_I32, I_MODE_OUT}, {LABEL_OUT, TY_STR, 1},
    {STEPS, TY_I32, I_STEPS},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static const FxTypedVar *fx_typed_vars(size_t *n) {
    *n = sizeof typed / sizeof typed[0];
    return typed;
}

static void fx_start(FxData *d) {
    d->x.i[I_K] = 3;
    d->x.i[I_N_IN] = 5;
    d->x.b[0] = 0;
    d->x.i[I_MODE_IN] = 2;
    strcpy(d->x.s[0], "pack");
    d->r[R_U] = 1.5;
    d->x.i[I_STEPS] = 0;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) {
    d->x.i[I_N_OUT] = d->x.i[I_K] * d->x.i[I_N_IN] + d->x.i[I_STEPS];
    d->x.b[1] = !d->x.b[0];
    d->x.i[I_MODE_OUT] = d->x.i[I_MODE_IN];
    snprintf(d->x.s[1], sizeof d->x.s[1], "%.40s:%lld", d->x.s[0], d->x.i[I_N_IN]);
    d->r[R_Y] = d->r[R_U] * (double)d->x.i[I_N_IN];
}

static int fx_do_step(FxInstance *m, double t, double h) {
    m->d.x.i[I_STEPS] += 1;
    m->d.time = t + h;
    return FX_OK;
}
