/* cs2_gain - FMI 2.0 co-simulation test fixture: y = k*u, x = integral of u dt, and faults
 * on demand (discard above a step size or input magnitude, error/fatal/NaN after a time). */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_CS
#define FX_MODEL_IDENTIFIER "cs2_gain"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40101}"

enum { K, MAX_STEP_S, DISCARD_ABOVE, ERROR_AT_S, FATAL_AT_S, NAN_AT_S, U, Y, X, TIME_S, NSLOTS };
#define FX_NSLOTS NSLOTS
#define NAN_MODE 0 /* flag: outputs are NaN from nan_at_s on */

#include "fixture.h"

static const FxVar variables[] = {
    {K, K, 1, FX_PARAMETER, "k"},
    {MAX_STEP_S, MAX_STEP_S, 1, FX_PARAMETER, "max_step_s"},
    {DISCARD_ABOVE, DISCARD_ABOVE, 1, FX_PARAMETER, "discard_above"},
    {ERROR_AT_S, ERROR_AT_S, 1, FX_PARAMETER, "error_at_s"},
    {FATAL_AT_S, FATAL_AT_S, 1, FX_PARAMETER, "fatal_at_s"},
    {NAN_AT_S, NAN_AT_S, 1, FX_PARAMETER, "nan_at_s"},
    {U, U, 1, FX_INPUT, "u"},
    {Y, Y, 1, FX_CALCULATED, "y"},
    {X, X, 1, FX_CALCULATED, "x"},
    {TIME_S, TIME_S, 1, FX_CALCULATED, "time_s"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    d->r[K] = 2.0;
    d->r[MAX_STEP_S] = d->r[DISCARD_ABOVE] = 1e300;
    d->r[ERROR_AT_S] = d->r[FATAL_AT_S] = d->r[NAN_AT_S] = 1e300;
    d->r[U] = 0.0;
    d->r[X] = 0.0;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) {
    d->r[Y] = d->flag[NAN_MODE] ? NAN : d->r[K] * d->r[U];
    d->r[TIME_S] = d->time;
}

static int fx_do_step(FxInstance *m, double t, double h) {
    FxData *d = &m->d;
    char a[40], b[40];
    if (h > d->r[MAX_STEP_S]) {
        fx_log(m, FX_DISCARD, FX_LOG_DISCARD, "step h=%s exceeds max_step_s=%s", fx_num(h, a),
               fx_num(d->r[MAX_STEP_S], b));
        return FX_DISCARD;
    }
    if (fabs(d->r[U]) > d->r[DISCARD_ABOVE]) {
        fx_log(m, FX_DISCARD, FX_LOG_DISCARD, "input |u|=%s exceeds discard_above=%s",
               fx_num(fabs(d->r[U]), a), fx_num(d->r[DISCARD_ABOVE], b));
        return FX_DISCARD;
    }
    if (t + h > d->r[ERROR_AT_S]) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "deliberate error at t=%s", fx_num(t + h, a));
        return FX_ERROR;
    }
    if (t + h > d->r[FATAL_AT_S]) {
        fx_log(m, FX_FATAL, FX_LOG_ERROR, "deliberate fatal at t=%s", fx_num(t + h, a));
        return FX_FATAL;
    }
    d->r[X] += d->r[U] * h;
    d->time = t + h;
    if (d->time > d->r[NAN_AT_S] && !d->flag[NAN_MODE]) {
        d->flag[NAN_MODE] = 1;
        fx_log(m, FX_OK, FX_LOG_EVENTS, "outputs are NaN from t=%s on", fx_num(d->time, a));
    }
    if (d->flag[NAN_MODE]) d->r[X] = NAN;
    return FX_OK;
}
