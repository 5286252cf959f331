/* me2_robertson - FMI 2.0 model exchange test fixture: Robertson's stiff chemical kinetics
 * der(y1) = -k1*y1 + k3*y2*y3, der(y2) = k1*y1 - k3*y2*y3 - k2*y2^2, der(y3) = k2*y2^2
 * with k1 = 0.04, k2 = 3e7, k3 = 1e4; y(0) = (1, 0, 0); no events. */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_ME
#define FX_MODEL_IDENTIFIER "me2_robertson"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40108}"
#define FX_NSTATES 3
#define FX_NINDICATORS 0

enum { Y1, DER_Y1, Y2, DER_Y2, Y3, DER_Y3, K1, K2, K3, NSLOTS };
#define FX_NSLOTS NSLOTS

#include "fixture.h"

static const FxVar variables[] = {
    {Y1, Y1, 1, FX_EXACT_STATE, "y1"},
    {DER_Y1, DER_Y1, 1, FX_CALCULATED, "der(y1)"},
    {Y2, Y2, 1, FX_EXACT_STATE, "y2"},
    {DER_Y2, DER_Y2, 1, FX_CALCULATED, "der(y2)"},
    {Y3, Y3, 1, FX_EXACT_STATE, "y3"},
    {DER_Y3, DER_Y3, 1, FX_CALCULATED, "der(y3)"},
    {K1, K1, 1, FX_PARAMETER, "k1"},
    {K2, K2, 1, FX_PARAMETER, "k2"},
    {K3, K3, 1, FX_PARAMETER, "k3"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    d->r[Y1] = 1.0;
    d->r[Y2] = 0.0;
    d->r[Y3] = 0.0;
    d->r[K1] = 0.04;
    d->r[K2] = 3e7;
    d->r[K3] = 1e4;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) {
    double r1 = d->r[K1] * d->r[Y1], r2 = d->r[K2] * d->r[Y2] * d->r[Y2], r3 = d->r[K3] * d->r[Y2] * d->r[Y3];
    d->r[DER_Y1] = -r1 + r3;
    d->r[DER_Y2] = r1 - r3 - r2;
    d->r[DER_Y3] = r2;
}

static void fx_get_states(const FxData *d, double x[]) {
    x[0] = d->r[Y1];
    x[1] = d->r[Y2];
    x[2] = d->r[Y3];
}

static void fx_set_states(FxData *d, const double x[]) {
    d->r[Y1] = x[0];
    d->r[Y2] = x[1];
    d->r[Y3] = x[2];
}

static void fx_derivatives(FxData *d, double dx[]) {
    fx_evaluate(d);
    dx[0] = d->r[DER_Y1];
    dx[1] = d->r[DER_Y2];
    dx[2] = d->r[DER_Y3];
}

static void fx_indicators(FxData *d, double z[]) { (void)d; (void)z; }

static void fx_event_update(FxInstance *m, FxEvent *ev) {
    (void)ev;
    fx_evaluate(&m->d);
}
