/* cs3_array - FMI 3.0 co-simulation test fixture with array ports: y = k*u, x = integral of
 * u dt (both arrays of 3), y_sum = sum of y, and the faults on demand of cs2_gain. */
#define FX_FMI_VERSION 3
#define FX_INTERFACE FX_CS
#define FX_MODEL_IDENTIFIER "cs3_array"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40102}"

#define N 3
enum {
    K, MAX_STEP_S, DISCARD_ABOVE, ERROR_AT_S, FATAL_AT_S, NAN_AT_S,
    U, Y = U + N, X = Y + N, Y_SUM = X + N, TIME_S, NSLOTS
};
#define FX_NSLOTS NSLOTS
#define NAN_MODE 0 /* flag: outputs are NaN from nan_at_s on */

#include "fixture.h"

/* value reference 0 is the independent variable time */
static const FxVar variables[] = {
    {0, -1, 1, FX_INDEPENDENT, "time"},
    {1, K, 1, FX_PARAMETER, "k"},
    {2, MAX_STEP_S, 1, FX_PARAMETER, "max_step_s"},
    {3, DISCARD_ABOVE, 1, FX_PARAMETER, "discard_above"},
    {4, ERROR_AT_S, 1, FX_PARAMETER, "error_at_s"},
    {5, FATAL_AT_S, 1, FX_PARAMETER, "fatal_at_s"},
    {6, NAN_AT_S, 1, FX_PARAMETER, "nan_at_s"},
    {7, U, N, FX_INPUT, "u"},
    {8, Y, N, FX_CALCULATED, "y"},
    {9, X, N, FX_CALCULATED, "x"},
    {10, Y_SUM, 1, FX_CALCULATED, "y_sum"},
    {11, TIME_S, 1, FX_CALCULATED, "time_s"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    int i;
    d->r[K] = 2.0;
    d->r[MAX_STEP_S] = d->r[DISCARD_ABOVE] = 1e300;
    d->r[ERROR_AT_S] = d->r[FATAL_AT_S] = d->r[NAN_AT_S] = 1e300;
    for (i = 0; i < N; i++) d->r[U + i] = d->r[X + i] = 0.0;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) {
    int i;
    double sum = 0.0;
    for (i = 0; i < N; i++) {
        d->r[Y + i] = d->flag[NAN_MODE] ? NAN : d->r[K] * d->r[U + i];
        sum += d->r[Y + i];
    }
    d->r[Y_SUM] = sum;
    d->r[TIME_S] = d->time;
}

static int fx_do_step(FxInstance *m, double t, double h) {
    FxData *d = &m->d;
    char a[40], b[40];
    int i;
    if (h > d->r[MAX_STEP_S]) {
        fx_log(m, FX_DISCARD, FX_LOG_DISCARD, "step h=%s exceeds max_step_s=%s", fx_num(h, a),
               fx_num(d->r[MAX_STEP_S], b));
        return FX_DISCARD;
    }
    for (i = 0; i < N; i++) {
        if (fabs(d->r[U + i]) > d->r[DISCARD_ABOVE]) {
            fx_log(m, FX_DISCARD, FX_LOG_DISCARD, "input |u[%d]|=%s exceeds discard_above=%s", i,
                   fx_num(fabs(d->r[U + i]), a), fx_num(d->r[DISCARD_ABOVE], b));
            return FX_DISCARD;
        }
    }
    if (t + h > d->r[ERROR_AT_S]) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "deliberate error at t=%s", fx_num(t + h, a));
        return FX_ERROR;
    }
    if (t + h > d->r[FATAL_AT_S]) {
        fx_log(m, FX_FATAL, FX_LOG_ERROR, "deliberate fatal at t=%s", fx_num(t + h, a));
        return FX_FATAL;
    }
    for (i = 0; i < N; i++) d->r[X + i] += d->r[U + i] * h;
    d->time = t + h;
    if (d->time > d->r[NAN_AT_S] && !d->flag[NAN_MODE]) {
        d->flag[NAN_MODE] = 1;
        fx_log(m, FX_OK, FX_LOG_EVENTS, "outputs are NaN from t=%s on", fx_num(d->time, a));
    }
    if (d->flag[NAN_MODE])
        for (i = 0; i < N; i++) d->r[X + i] = NAN;
    return FX_OK;
}
