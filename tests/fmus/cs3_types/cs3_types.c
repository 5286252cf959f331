/* cs3_types - FMI 3.0 co-simulation test fixture with ports of the FMI 3 types:
 *   i64_out = i64_in + 1 (Int64), u64_out = u64_in + 1 (UInt64), i8_out = -i8_in (Int8),
 *   u16_out = completed steps (UInt16), b_out = !b_in (Boolean), s_out = s_in + "!"
 *   (String), e_out = e_in (Enumeration), x = integral of u dt (Float64), f32_out = x as
 *   Float32;
 * and the end of a step on demand: a step past terminate_at_s integrates up to it and sets
 * terminateSimulation (status Discard if terminate_discard is true, else OK); a step over
 * early_at_s (the first time) integrates up to it and returns early (earlyReturn). */
#define FX_FMI_VERSION 3
#define FX_INTERFACE FX_CS
#define FX_MODEL_IDENTIFIER "cs3_types"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40301}"

enum { TIME, TERMINATE_AT_S, EARLY_AT_S, TERMINATE_DISCARD, I64_IN, U64_IN, I8_IN, B_IN, S_IN, E_IN, U,
       I64_OUT, U64_OUT, I8_OUT, U16_OUT, B_OUT, S_OUT, E_OUT, X, F32_OUT, NVARS };
enum { R_TERMINATE, R_EARLY, R_U, R_X, NSLOTS };
#define FX_NSLOTS NSLOTS
#define FX_FLAG_TERMINATED 0
#define FX_FLAG_EARLY 1
#define FX_FLAG_EARLY_DONE 2
#define FX_TYPED 1
typedef struct {
    long long i[8];
    unsigned long long u[8];
    unsigned char b[3]; /* fmi3Boolean values */
    float f[1];
    char s[2][64];
} FxTyped;
enum { I_I64_IN, I_I8_IN, I_E_IN, I_I64_OUT, I_I8_OUT, I_E_OUT };
enum { U_U64_IN, U_U64_OUT, U_U16_OUT };

#include "fixture.h"
#include "typed.h"

static const FxVar variables[] = {
    {TIME, -1, 1, FX_INDEPENDENT, "time"},
    {TERMINATE_AT_S, R_TERMINATE, 1, FX_PARAMETER, "terminate_at_s"},
    {EARLY_AT_S, R_EARLY, 1, FX_PARAMETER, "early_at_s"},
    {TERMINATE_DISCARD, -1, 1, FX_PARAMETER, "terminate_discard"},
    {I64_IN, -1, 1, FX_INPUT, "i64_in"},
    {U64_IN, -1, 1, FX_INPUT, "u64_in"},
    {I8_IN, -1, 1, FX_INPUT, "i8_in"},
    {B_IN, -1, 1, FX_INPUT, "b_in"},
    {S_IN, -1, 1, FX_INPUT, "s_in"},
    {E_IN, -1, 1, FX_INPUT, "e_in"},
    {U, R_U, 1, FX_INPUT, "u"},
    {I64_OUT, -1, 1, FX_CALCULATED, "i64_out"},
    {U64_OUT, -1, 1, FX_CALCULATED, "u64_out"},
    {I8_OUT, -1, 1, FX_CALCULATED, "i8_out"},
    {U16_OUT, -1, 1, FX_CALCULATED, "u16_out"},
    {B_OUT, -1, 1, FX_CALCULATED, "b_out"},
    {S_OUT, -1, 1, FX_CALCULATED, "s_out"},
    {E_OUT, -1, 1, FX_CALCULATED, "e_out"},
    {X, R_X, 1, FX_CALCULATED, "x"},
    {F32_OUT, -1, 1, FX_CALCULATED, "f32_out"},
};

static const FxTypedVar typed[] = {
    {TERMINATE_DISCARD, TY_BOOL, 2},
    {I64_IN, TY_I64, I_I64_IN}, {U64_IN, TY_U64, U_U64_IN}, {I8_IN, TY_I8, I_I8_IN},
    {B_IN, TY_BOOL, 0}, {S_IN, TY_STR, 0}, {E_IN, TY_I64, I_E_IN},
    {I64_OUT, TY_I64, I_I64_OUT}, {U64_OUT, TY_U64, U_U64_OUT}, {I8_OUT, TY_I8, I_I8_OUT},
    {U16_OUT, TY_U16, U_U16_OUT}, {B_OUT, TY_BOOL, 1}, {S_OUT, TY_STR, 1}, {E_OUT, TY_I64, I_E_OUT},
    {F32_OUT, TY_F32, 0},
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
    d->r[R_TERMINATE] = d->r[R_EARLY] = 1e300;
    d->x.b[2] = 0;
    d->x.i[I_I64_IN] = 0;
    d->x.u[U_U64_IN] = 0;
    d->x.i[I_I8_IN] = 0;
    d->x.b[0] = 0;
    strcpy(d->x.s[0], "");
    d->x.i[I_E_IN] = 1;
    d->r[R_U] = 0.0;
    d->r[R_X] = 0.0;
    d->x.u[U_U16_OUT] = 0;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) {
    d->x.i[I_I64_OUT] = d->x.i[I_I64_IN] + 1;
    d->x.u[U_U64_OUT] = d->x.u[U_U64_IN] + 1u;
    d->x.i[I_I8_OUT] = -d->x.i[I_I8_IN];
    d->x.b[1] = !d->x.b[0];
    snprintf(d->x.s[1], sizeof d->x.s[1], "%.60s!", d->x.s[0]);
    d->x.i[I_E_OUT] = d->x.i[I_E_IN];
    d->x.f[0] = (float)d->r[R_X];
}

static int fx_do_step(FxInstance *m, double t, double h) {
    FxData *d = &m->d;
    char a[40];
    double end = t + h;
    if (end > d->r[R_TERMINATE]) {
        end = d->r[R_TERMINATE] > t ? d->r[R_TERMINATE] : t;
        d->r[R_X] += d->r[R_U] * (end - t);
        d->time = end;
        d->flag[FX_FLAG_TERMINATED] = 1;
        d->flag[FX_FLAG_EARLY] = end < t + h;
        fx_log(m, d->x.b[2] ? FX_DISCARD : FX_OK, d->x.b[2] ? FX_LOG_DISCARD : FX_LOG_EVENTS,
               "the simulation ends at t=%s", fx_num(end, a));
        return d->x.b[2] ? FX_DISCARD : FX_OK;
    }
    if (t < d->r[R_EARLY] && d->r[R_EARLY] < end && !d->flag[FX_FLAG_EARLY_DONE]) {
        end = d->r[R_EARLY];
        d->flag[FX_FLAG_EARLY] = 1;
        d->flag[FX_FLAG_EARLY_DONE] = 1;
    }
    d->r[R_X] += d->r[R_U] * (end - t);
    d->time = end;
    d->x.u[U_U16_OUT] += 1;
    return FX_OK;
}
