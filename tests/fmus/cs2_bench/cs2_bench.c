/* cs2_bench - FMI 2.0 co-simulation test fixture for overhead benchmarks: y_i = u_i + time
 * for i = 0..9; a step only advances time. */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_CS
#define FX_MODEL_IDENTIFIER "cs2_bench"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40106}"

#define N 10
enum { U0 = 0, Y0 = N, NSLOTS = 2 * N };
#define FX_NSLOTS NSLOTS

#include "fixture.h"

static const FxVar variables[] = {
    {0, 0, 1, FX_INPUT, "u0"}, {1, 1, 1, FX_INPUT, "u1"}, {2, 2, 1, FX_INPUT, "u2"},
    {3, 3, 1, FX_INPUT, "u3"}, {4, 4, 1, FX_INPUT, "u4"}, {5, 5, 1, FX_INPUT, "u5"},
    {6, 6, 1, FX_INPUT, "u6"}, {7, 7, 1, FX_INPUT, "u7"}, {8, 8, 1, FX_INPUT, "u8"},
    {9, 9, 1, FX_INPUT, "u9"},
    {10, 10, 1, FX_CALCULATED, "y0"}, {11, 11, 1, FX_CALCULATED, "y1"},
    {12, 12, 1, FX_CALCULATED, "y2"}, {13, 13, 1, FX_CALCULATED, "y3"},
    {14, 14, 1, FX_CALCULATED, "y4"}, {15, 15, 1, FX_CALCULATED, "y5"},
    {16, 16, 1, FX_CALCULATED, "y6"}, {17, 17, 1, FX_CALCULATED, "y7"},
    {18, 18, 1, FX_CALCULATED, "y8"}, {19, 19, 1, FX_CALCULATED, "y9"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

static void fx_start(FxData *d) {
    int i;
    for (i = 0; i < N; i++) d->r[U0 + i] = 0.0;
}

static void fx_initialize(FxData *d) { (void)d; }

static void fx_evaluate(FxData *d) {
    int i;
    for (i = 0; i < N; i++) d->r[Y0 + i] = d->r[U0 + i] + d->time;
}

static int fx_do_step(FxInstance *m, double t, double h) {
    m->d.time = t + h;
    return FX_OK;
}
