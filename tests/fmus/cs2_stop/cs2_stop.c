/* cs2_stop - FMI 2.0 co-simulation test fixture that ends the simulation itself:
 * x = integral of u dt; a step past stop_at_s integrates up to stop_at_s, returns fmi2Discard
 * and from then on reports fmi2Terminated = true and fmi2LastSuccessfulTime = stop_at_s.
 * A step longer than max_step_s is discarded without terminating (an ordinary rejection). */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_CS
#define FX_MODEL_IDENTIFIER "cs2_stop"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40401}"

enum { STOP_AT_S, MAX_STEP_S, U, X, NSLOTS };
#define FX_NSLOTS NSLOTS
#define FX_FLAG_TERMINATED 0

#include "fixture.h"

static const FxVar variables[] = {
    {STOP_AT_S, STOP_AT_S, 1, FX_PARAMETER, "stop_at_s"},
    {MAX_STEP_S, MAX_STEP_S, 1, FX_PARAMETER, "max_step_s"},
    {U, U, 1, FX_INPUT, "u"},
    {X, X, 1, FX_CALCULATED, "x"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    d->r[STOP_AT_S] = d->r[MAX_STEP_S] = 1e300;
    d->r[U] = 1.0;
    d->r[X] = 0.0;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) { (void)d; }

static int fx_do_step(FxInstance *m, double t, double h) {
    FxData *d = &m->d;
    char a[40];
    if (h > d->r[MAX_STEP_S]) {
        fx_log(m, FX_DISCARD, FX_LOG_DISCARD, "step h=%s too long", fx_num(h, a));
        return FX_DISCARD;
    }
    if (t + h > d->r[STOP_AT_S]) {
        double end = d->r[STOP_AT_S] > t ? d->r[STOP_AT_S] : t;
        d->r[X] += d->r[U] * (end - t);
        d->time = end;
        d->flag[FX_FLAG_TERMINATED] = 1;
        fx_log(m, FX_DISCARD, FX_LOG_DISCARD, "the model ends at t=%s", fx_num(end, a));
        return FX_DISCARD;
    }
    d->r[X] += d->r[U] * h;
    d->time = t + h;
    return FX_OK;
}
