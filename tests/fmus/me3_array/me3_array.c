/* me3_array - FMI 3.0 model exchange test fixture with an array state: x[3] with
 * der(x[i]) = -k[i]*(x[i] - u), x(start) = x_start[i], input u, and an array event indicator
 * z[i] = x[i] - x_ref (each element crosses x_ref once; crossings are counted). */
#define FX_FMI_VERSION 3
#define FX_INTERFACE FX_ME
#ifndef FX_MODEL_IDENTIFIER
#define FX_MODEL_IDENTIFIER "me3_array"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40109}"
#endif
/* variants (me3_discrete, me3_float32): ARRAY_U_KIND the kind of input u (FX_INPUT: continuous,
 * FX_DISCRETE_INPUT: settable only in event mode); ARRAY_U_FLOAT32: u is a Float32 input */
#ifndef ARRAY_U_KIND
#define ARRAY_U_KIND FX_INPUT
#endif
#define N 3
#define FX_NSTATES N
#define FX_NINDICATORS N

enum { X = 0, DER_X = X + N, K = DER_X + N, X_START = K + N, X_REF = X_START + N, CROSSINGS, U, Z, NSLOTS = Z + N };
#define FX_NSLOTS NSLOTS

#ifdef ARRAY_U_FLOAT32
#define FX_TYPED 1
typedef struct {
    long long i[1];
    unsigned long long u[1];
    unsigned char b[1];
    float f[1];
    char s[1][64];
} FxTyped;
#define U_SLOT -1
#define U_VALUE(d) ((double)(d)->x.f[0])
#else
#define U_SLOT U
#define U_VALUE(d) ((d)->r[U])
#endif

#include "fixture.h"
#ifdef ARRAY_U_FLOAT32
#include "typed.h"
static const FxTypedVar typed[] = {{9, TY_F32, 0}};
static const FxTypedVar *fx_typed_vars(size_t *n) {
    *n = sizeof typed / sizeof typed[0];
    return typed;
}
#endif

/* value reference 0 is the independent variable time, 1 the structural parameter n */
static const FxVar variables[] = {
    {0, -1, 1, FX_INDEPENDENT, "time"},
    {1, -1, 1, FX_INDEPENDENT, "n"},
    {2, X, N, FX_CALCULATED, "x"},
    {3, DER_X, N, FX_CALCULATED, "der(x)"},
    {4, K, N, FX_PARAMETER, "k"},
    {5, X_START, N, FX_PARAMETER, "x_start"},
    {6, X_REF, 1, FX_PARAMETER, "x_ref"},
    {7, CROSSINGS, 1, FX_CALCULATED, "crossings"},
    {8, Z, N, FX_CALCULATED, "z"},
    {9, U_SLOT, 1, ARRAY_U_KIND, "u"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    int i;
    for (i = 0; i < N; i++) {
        d->r[K + i] = 1.0 + i;
        d->r[X_START + i] = 1.0;
    }
    d->r[X_REF] = 0.5;
#ifdef ARRAY_U_FLOAT32
    d->x.f[0] = 0.0f;
#else
    d->r[U] = 0.0;
#endif
}

static void fx_initialize(FxData *d) {
    int i;
    for (i = 0; i < N; i++) d->r[X + i] = d->r[X_START + i];
    d->r[CROSSINGS] = 0.0;
}

static void fx_evaluate(FxData *d) {
    int i;
    for (i = 0; i < N; i++) {
        d->r[DER_X + i] = -d->r[K + i] * (d->r[X + i] - U_VALUE(d));
        d->r[Z + i] = d->r[X + i] - d->r[X_REF];
    }
}

static void fx_get_states(const FxData *d, double x[]) { memcpy(x, d->r + X, N * sizeof(double)); }
static void fx_set_states(FxData *d, const double x[]) { memcpy(d->r + X, x, N * sizeof(double)); }

static void fx_derivatives(FxData *d, double dx[]) {
    fx_evaluate(d);
    memcpy(dx, d->r + DER_X, N * sizeof(double));
}

static void fx_indicators(FxData *d, double z[]) {
    int i;
    fx_evaluate(d);
    memcpy(z, d->r + Z, N * sizeof(double));
}

static void fx_event_update(FxInstance *m, FxEvent *ev) {
    FxData *d = &m->d;
    int i, below = 0;
    (void)ev;
    for (i = 0; i < N; i++) below += d->r[X + i] <= d->r[X_REF] + 1e-9;
    d->r[CROSSINGS] = below;
    fx_evaluate(d);
}
