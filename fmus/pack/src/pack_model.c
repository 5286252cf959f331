/* The pack component of cosim/components/pack.py (Pack._initialize, _do_step, _replay, _step,
 * _limits_of_step, _publish, _near_available; pack_soc of cosim/pack/pack_soc.py) with the
 * thermal network stepped after it, and the API of pack_model.h. */
#include "pack_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -- loading -------------------------------------------------------------------------- */

static int64_t geti(const PmPack *p, const char *name, int *bad)
{
    const PmArray *a = pm_find(p, name);
    if (a == NULL || !a->is_int || a->count < 1) {
        *bad = 1;
        return 0;
    }
    return ((const int64_t *)a->data)[0];
}

static const double *getf(const PmPack *p, const char *name, int64_t count, int *bad)
{
    const PmArray *a = pm_find(p, name);
    if (a == NULL || a->is_int || a->count != count) {
        *bad = 1;
        return NULL;
    }
    return (const double *)a->data;
}

static const int64_t *getiv(const PmPack *p, const char *name, int64_t count, int *bad)
{
    const PmArray *a = pm_find(p, name);
    if (a == NULL || !a->is_int || a->count != count) {
        *bad = 1;
        return NULL;
    }
    return (const int64_t *)a->data;
}

/* the CkCells of the file (the fields of cosim/cell/cell_data.py's CellData, prefixed "cell.") */
static int load_cells(PmPack *p)
{
    CkCells *d = &p->cells;
    int bad = 0;
    const int64_t *v;
    int64_t N, M, nr, n;
    d->N = N = geti(p, "cell.N", &bad);
    d->M = M = geti(p, "cell.M", &bad);
    d->n_r = nr = geti(p, "cell.n_r", &bad);
    d->n = n = geti(p, "cell.n", &bad);
    d->P_ocp = geti(p, "cell.P_ocp", &bad);
    d->P_dUdT = geti(p, "cell.P_dUdT", &bad);
    d->n_tab = geti(p, "cell.n_tab", &bad);
    d->kappa_code = geti(p, "cell.kappa_code", &bad);
    d->De_code = geti(p, "cell.De_code", &bad);
    if (bad || N <= 0 || M <= 0 || nr <= 0 || n < 0) return -1;
    v = getiv(p, "cell.mat_start", 3, &bad);
    if (bad) return -1;
    memcpy(d->mat_start, v, sizeof d->mat_start);
    v = getiv(p, "cell.n_x", 3, &bad);
    if (bad) return -1;
    memcpy(d->n_x, v, sizeof d->n_x);
    d->ocp_code = getiv(p, "cell.ocp_code", M, &bad);
    d->dUdT_code = getiv(p, "cell.dUdT_code", M, &bad);
#define F_(name, count) d->name = getf(p, "cell." #name, count, &bad)
    F_(c_max, M * N); F_(a, M * N); F_(radius, M * N); F_(film, M * N); F_(rate, M * N); F_(D_ref, M * N);
    F_(cap, M * N); F_(sto0, M * N); F_(sto100, M * N); F_(alpha_a, M); F_(alpha_c, M); F_(E_D, M); F_(E_k, M);
    F_(ocp_p, M * d->P_ocp); F_(dUdT_p, M * d->P_dUdT); F_(area, N); F_(L, 3 * N); F_(sigma, 2 * N); F_(eff, 3 * N);
    F_(contact, N); F_(c_e0, N); F_(scalars, 7); F_(dx, N * n); F_(capacity, N * n); F_(tortuosity, N * n);
    F_(total, N); F_(lam, nr); F_(b, nr); F_(w_surf, nr); F_(w_mean, nr);
    F_(phi, nr * nr); F_(face, nr - 1); F_(uH_table, M * d->n_tab * 2);
#undef F_
    {
        const PmArray *k = pm_find(p, "cell.kappa_p"), *D = pm_find(p, "cell.De_p");
        if (k == NULL || D == NULL || k->is_int || D->is_int) return -1;
        d->kappa_p = (const double *)k->data;
        d->De_p = (const double *)D->data;
    }
    return bad ? -1 : 0;
}

static int alloc_all(PmPack *p)
{
    const size_t N = (size_t)p->N, S = (size_t)p->S, MN = (size_t)(p->M * p->N), SK = (size_t)(p->S * p->K);
    int k, bad = 0;
    p->z = (double *)pm_calloc(MN * (size_t)p->nr, sizeof(double));
    p->c = (double *)pm_calloc(N * (size_t)p->n, sizeof(double));
    p->scratch = (double *)pm_calloc(N * 2 + MN * 3 + N * 12 + MN * 2 + S * 10 + SK * 3 + N * 7, sizeof(double));
    if (p->z == NULL || p->c == NULL || p->scratch == NULL) return -1;
    {
        double *b = p->scratch;
        p->hint_I = b; b += N;
        p->hint_j = b; b += MN;
        p->hint_dj = b; b += MN;
        p->out_V = b; b += N;
        p->out_I = b; b += N;
        p->out_ocv = b; b += N;
        for (k = 0; k < 4; k++) { p->out_q[k] = b; b += N; }
        p->out_soc = b; b += N;
        p->out_anode = b; b += N;
        p->out_sto_s = b; b += MN;
        p->out_sto_m = b; b += MN;
        p->guess = b; b += MN;
        p->tmpN = b; b += N;
        p->I_s = b; b += S;
        p->curvature = b; b += S;
        p->trend_I = b; b += S;
        p->I0buf = b; b += S;
        p->tmpS = b; b += S;
        p->tmpS2 = b; b += S;
        p->tmpS3 = b; b += S;
        p->tmpS4 = b; b += S;
        p->y_string_I = b; b += S;
        p->y_layer_V = b; b += N;
        p->y_layer_T = b; b += N;
        p->y_anode = b; b += N;
        p->y_soc = b; b += N;
        p->y_heat = b; b += N;
        p->T_layers = b; b += N;
        p->y_stack_V = b; b += SK;
        p->y_end_heat = b; b += SK;
        p->y_link_heat = b; b += SK;
    }
    bad |= prep_alloc(p, &p->prep) | prep_alloc(p, &p->pulse_prep) | prep_alloc(p, &p->short_prep);
    bad |= res_alloc(p, &p->res_step);
    for (k = 0; k < 6; k++) bad |= res_alloc(p, &p->pr[k].r);
    for (k = 0; k < 3; k++) bad |= pulse_alloc(p, &p->pulses[k]);
    return bad ? -1 : 0;
}

PmPack *pm_load(const char *path, char *err, size_t err_size)
{
    PmPack *p = (PmPack *)pm_calloc(1, sizeof(PmPack));
    const int64_t *lay;
    const double *sc;
    int bad = 0;
    if (p == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (pm_read_file(p, path, err, err_size) != 0) goto fail;
    if (load_cells(p) != 0) {
        snprintf(err, err_size, "%s: the cell data are incomplete or inconsistent", path);
        goto fail;
    }
    lay = getiv(p, "layout", 3, &bad);
    if (bad) goto broken;
    p->S = lay[0];
    p->K = lay[1];
    p->Lay = lay[2];
    p->N = p->cells.N;
    p->M = p->cells.M;
    p->nr = p->cells.n_r;
    p->n = p->cells.n;
    if (p->S <= 0 || p->K <= 0 || p->Lay <= 0 || p->S * p->K * p->Lay != p->N || p->S > 64) {
        snprintf(err, err_size, "%s: the layout does not match the cells (at most 64 strings)", path);
        goto fail;
    }
    p->control = (int)geti(p, "control", &bad);
    p->composite = (int)geti(p, "composite", &bad);
    p->has_thermal = (int)geti(p, "has_thermal", &bad);
    p->on_limit = (int)geti(p, "on_limit", &bad);
    p->available_power = (int)geti(p, "available_power", &bad);
    p->has_min_anode = (int)geti(p, "has_min_anode", &bad);
    p->max_halvings = (int)geti(p, "max_step_halvings", &bad);
    sc = getf(p, "pack_scalars", 13, &bad);
    p->R_series = getf(p, "R_series", p->S, &bad);
    p->conn_R = getf(p, "connection_R", p->K, &bad);
    p->cell_cap = getf(p, "cell_capacity_C", p->N, &bad);
    p->z_file = getf(p, "z0", p->M * p->N * p->nr, &bad);
    p->c_file = getf(p, "c0", p->N * p->n, &bad);
    p->z_uniform = getf(p, "z_uniform", p->nr, &bad);
    if (bad) goto broken;
    p->R_end = sc[0];
    p->one_c = sc[1];
    p->lim_lo = sc[2];
    p->lim_hi = sc[3];
    p->plim_lo = sc[4];
    p->plim_hi = sc[5];
    p->max_layer_T = sc[6];
    p->pulse_s = sc[7];
    p->interval_s = sc[8];
    p->min_anode = sc[9];
    p->temperature_K = sc[10];
    p->initial_soc = sc[11];
    p->init_T = sc[12];
    { /* optional (files before it: 0) */
        const PmArray *tol = pm_find(p, "temperature_cache_K");
        p->T_cache_tol = 0.0;
        if (tol != NULL) {
            if (tol->is_int || tol->count != 1 || !(((const double *)tol->data)[0] >= 0.0)) goto broken;
            p->T_cache_tol = ((const double *)tol->data)[0];
        }
    }
    if (alloc_all(p) != 0) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    if (p->has_thermal && thermal_setup(p, err, err_size) != 0) goto fail;
    p->state_buf = (double *)pm_calloc(pm_state_size(p), sizeof(double)); /* the size counts the network's */
    p->state_buf2 = (double *)pm_calloc(pm_state_size(p), sizeof(double));
    if (p->state_buf == NULL || p->state_buf2 == NULL) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    p->initial_soc = -1.0; /* the file's state */
    return p;
broken:
    snprintf(err, err_size, "%s: a pack array is missing or of the wrong size", path);
fail:
    pm_free(p);
    return NULL;
}

void pm_free(PmPack *p)
{
    int64_t i;
    int k;
    if (p == NULL) return;
    if (p->has_thermal) thermal_free(&p->th);
    free(p->z);
    free(p->c);
    free(p->scratch);
    free(p->prep.buf);
    free(p->pulse_prep.buf);
    free(p->short_prep.buf);
    free(p->prep.reuse);
    free(p->pulse_prep.reuse);
    free(p->short_prep.reuse);
    free(p->res_step.buf);
    for (k = 0; k < 6; k++) free(p->pr[k].r.buf);
    for (k = 0; k < 3; k++) free(p->pulses[k].buf);
    free(p->state_buf);
    free(p->state_buf2);
    for (i = 0; i < p->n_arrays; i++) free(p->arrays[i].data);
    free(p->arrays);
    free(p);
}

int64_t pm_n_strings(const PmPack *p) { return p->S; }
int64_t pm_n_stacks(const PmPack *p) { return p->K; }
int64_t pm_n_layers(const PmPack *p) { return p->Lay; }
int pm_control(const PmPack *p) { return p->control; }
int pm_has_thermal(const PmPack *p) { return p->has_thermal; }
int64_t pm_n_nodes(const PmPack *p) { return p->has_thermal ? p->th.n : 0; }

int pm_set_initial(PmPack *p, double initial_soc, double initial_temperature_K, char *msg, size_t n)
{
    if (initial_soc > 1.0 || !(initial_temperature_K > 0) || !isfinite(initial_temperature_K)) {
        snprintf(msg, n, "initial_soc must lie in [0, 1] (negative: the file's) and the initial temperature be "
                 "positive, got %g and %g K", initial_soc, initial_temperature_K);
        return PM_ERROR;
    }
    p->initial_soc = initial_soc < 0 ? -1.0 : initial_soc;
    p->init_T = initial_temperature_K;
    if (p->has_thermal) p->th.initial_T = initial_temperature_K;
    return PM_OK;
}

int pm_set_layer_temperature(PmPack *p, const double *T_K, char *msg, size_t n)
{
    int64_t i;
    if (p->has_thermal) {
        snprintf(msg, n, "the layer temperatures of a pack with a thermal network come from its nodes");
        return PM_ERROR;
    }
    for (i = 0; i < p->N; i++)
        if (!(T_K[i] > 0) || !isfinite(T_K[i])) {
            char where[96];
            pm_where(p, i, where, sizeof where);
            snprintf(msg, n, "layer temperature %g K at %s is not a positive finite number", T_K[i], where);
            return PM_ERROR;
        }
    memcpy(p->T_layers, T_K, sizeof(double) * (size_t)p->N);
    p->T_given = 1;
    return PM_OK;
}

void pm_set_threads(PmPack *p, int64_t n_threads) { p->cells.n_threads = n_threads > 1 ? n_threads : 1; }

int pm_step_limited(const PmPack *p) { return p->step_limited; }

/* -- outputs ---------------------------------------------------------------------------- */

/* pack_soc.pack_soc */
static double pack_soc(PmPack *p, const double *soc)
{
    const int64_t S = p->S, per = p->N / p->S;
    double qmin[64], cmin[64], *q = p->tmpN;
    int64_t s, i;
    for (i = 0; i < p->N; i++) q[i] = soc[i] * p->cell_cap[i];
    for (s = 0; s < S; s++) {
        qmin[s] = np_min(q + s * per, per);
        cmin[s] = np_min(p->cell_cap + s * per, per);
    }
    return np_sum(qmin, S) / np_sum(cmin, S);
}

static void layer_temperature_outputs(PmPack *p)
{
    memcpy(p->y_layer_T, p->T_layers, sizeof(double) * (size_t)p->N);
    p->y.min_layer_temperature_K = np_min(p->T_layers, p->N);
    p->y.max_layer_temperature_K = np_max(p->T_layers, p->N);
    p->y.mean_layer_temperature_K = np_sum(p->T_layers, p->N) / (double)p->N;
}

/* Pack._near_available */
static int near_available(const PmPack *p, double power_W)
{
    const double available = power_W > 0 ? p->y.available_discharge_power_W : p->y.available_charge_power_W;
    return power_W != 0.0 && fabs(power_W) >= 0.9 * fabs(available);
}

/* Pack._publish(T, t, power) */
static int publish(PmPack *p, const double *T, double t, double power_W)
{
    const int64_t N = p->N, S = p->S, K = p->K, L = p->Lay;
    int64_t i, s, k;
    PmScalars *y = &p->y;
    for (i = 0; i < N; i++) /* total_heat_W: reaction, ohmic, reversible, mixing */
        p->y_heat[i] = ((p->out_q[0][i] + p->out_q[1][i]) + p->out_q[2][i]) + p->out_q[3][i];
    y->voltage_V = p->voltage;
    y->current_A = np_sum(p->I_s, S);
    y->power_W = power_W;
    y->soc = pack_soc(p, p->out_soc);
    y->min_layer_soc = np_min(p->out_soc, N);
    y->max_layer_soc = np_max(p->out_soc, N);
    for (s = 0; s < S; s++) {
        const double I2 = p->I_s[s] * p->I_s[s];
        for (k = 0; k < K; k++) {
            p->y_end_heat[s * K + k] = I2 * p->R_end;
            p->y_link_heat[s * K + k] = I2 * p->conn_R[k];
            p->y_stack_V[s * K + k] = np_sum(p->out_V + (s * K + k) * L, L) - p->I_s[s] * p->R_end;
        }
        p->y_string_I[s] = p->I_s[s];
    }
    y->heat_W = (np_sum(p->y_heat, N) + np_sum(p->y_end_heat, S * K)) + np_sum(p->y_link_heat, S * K);
    memcpy(p->y_layer_V, p->out_V, sizeof(double) * (size_t)N);
    memcpy(p->y_soc, p->out_soc, sizeof(double) * (size_t)N);
    memcpy(p->y_anode, p->out_anode, sizeof(double) * (size_t)N);
    y->min_layer_voltage_V = np_min(p->out_V, N);
    y->max_layer_voltage_V = np_max(p->out_V, N);
    y->mean_layer_voltage_V = np_sum(p->out_V, N) / (double)N;
    y->min_anode_potential_V = np_min(p->out_anode, N);
    y->max_anode_potential_V = np_max(p->out_anode, N);
    y->mean_anode_potential_V = np_sum(p->out_anode, N) / (double)N;
    if (p->available_power && (!p->next_ok || t >= p->next_update - 1e-9 || near_available(p, power_W))) {
        double dis, ch;
        if (battery_available_power(p, T, &dis, &ch) != 0) return -1;
        y->available_discharge_power_W = dis;
        y->available_charge_power_W = ch;
        p->next_ok = 1;
        p->next_update = t + p->interval_s;
    }
    return 0;
}

/* -- state ------------------------------------------------------------------------------ */

/* every double of the state in order; write: instance -> buf, else buf -> instance */
static size_t state_io(PmPack *p, double *buf, int write)
{
    const size_t N = (size_t)p->N, S = (size_t)p->S, MN = (size_t)(p->M * p->N), SK = (size_t)(p->S * p->K);
    size_t pos = 0;
#define ARR(ptr, count)                                                                                       \
    do {                                                                                                      \
        if (buf) {                                                                                            \
            if (write) memcpy(buf + pos, (ptr), sizeof(double) * (count));                                    \
            else memcpy((ptr), buf + pos, sizeof(double) * (count));                                          \
        }                                                                                                     \
        pos += (count);                                                                                       \
    } while (0)
#define NUM(x)                                                                                                \
    do {                                                                                                      \
        if (buf) {                                                                                            \
            if (write) buf[pos] = (double)(x);                                                                \
            else (x) = buf[pos];                                                                              \
        }                                                                                                     \
        pos++;                                                                                                \
    } while (0)
#define FLAG(x)                                                                                               \
    do {                                                                                                      \
        if (buf) {                                                                                            \
            if (write) buf[pos] = (double)(x);                                                                \
            else (x) = (int)buf[pos];                                                                         \
        }                                                                                                     \
        pos++;                                                                                                \
    } while (0)
    ARR(p->z, MN * (size_t)p->nr);
    ARR(p->c, N * (size_t)p->n);
    FLAG(p->hint_ok);
    FLAG(p->hint_has_dj);
    ARR(p->hint_I, N);
    ARR(p->hint_j, MN);
    ARR(p->hint_dj, MN);
    ARR(p->I_s, S);
    NUM(p->voltage);
    ARR(p->curvature, S);
    FLAG(p->trend_ok);
    FLAG(p->trend_power);
    NUM(p->trend_h);
    NUM(p->trend_value);
    ARR(p->trend_I, S);
    FLAG(p->pulse_state[0]);
    FLAG(p->pulse_state[1]);
    NUM(p->pulse_found[0]);
    NUM(p->pulse_found[1]);
    NUM(p->pulse_prev[0]);
    NUM(p->pulse_prev[1]);
    FLAG(p->next_ok);
    NUM(p->next_update);
    FLAG(p->initialized);
    ARR((double *)&p->y, sizeof(PmScalars) / sizeof(double));
    ARR(p->y_layer_V, N);
    ARR(p->y_layer_T, N);
    ARR(p->y_anode, N);
    ARR(p->y_soc, N);
    ARR(p->y_heat, N);
    ARR(p->y_string_I, S);
    ARR(p->y_stack_V, SK);
    ARR(p->y_end_heat, SK);
    ARR(p->y_link_heat, SK);
    ARR(p->T_layers, N);
    if (p->has_thermal) {
        ARR(p->th.T, (size_t)p->th.n);
        NUM(p->th.T_ref);
        NUM(p->th.generated);
        NUM(p->th.stored);
        NUM(p->th.removed[0]);
        NUM(p->th.removed[1]);
    }
#undef ARR
#undef NUM
#undef FLAG
    return pos;
}

size_t pm_state_size(const PmPack *p) { return state_io((PmPack *)p, NULL, 1); }
void pm_get_state(const PmPack *p, double *buf) { state_io((PmPack *)p, buf, 1); }
int pm_set_state(PmPack *p, const double *buf)
{
    state_io(p, (double *)buf, 0);
    return PM_OK;
}

/* -- stepping --------------------------------------------------------------------------- */

int pm_initialize(PmPack *p, double t0, const PmInputs *u, char *msg, size_t n)
{
    const int64_t N = p->N;
    int64_t i;
    int rc;
    (void)u;
    if (p->initial_soc >= 0) {
        model_set_soc(p, p->initial_soc);
    } else {
        memcpy(p->z, p->z_file, sizeof(double) * (size_t)(p->M * N * p->nr));
        memcpy(p->c, p->c_file, sizeof(double) * (size_t)(N * p->n));
    }
    p->hint_ok = p->hint_has_dj = 0;
    p->prep.used = p->pulse_prep.used = p->short_prep.used = 0;
    memset(p->I_s, 0, sizeof(double) * (size_t)p->S);
    for (i = 0; i < p->S; i++) p->curvature[i] = NAN;
    p->voltage = 0.0;
    p->trend_ok = 0;
    p->pulse_state[0] = p->pulse_state[1] = 0;
    p->next_ok = 0;
    p->memo_ok = 0;
    memset(&p->y, 0, sizeof p->y);
    if (!p->T_given)
        for (i = 0; i < N; i++) p->T_layers[i] = p->init_T; /* the pack's input at its initialization */
    rc = battery_step(p, 1e-9, p->T_layers, 0, 0.0, 0, msg, n);
    if (rc != 0) {
        if (rc < 0) snprintf(msg, n, "out of memory");
        return PM_ERROR;
    }
    p->h_macro = 1.0; /* until the first step says the macro step */
    p->y.limited = 0.0;
    p->y.power_limit_W = PM_UNLIMITED_W;
    if (publish(p, p->T_layers, t0, 0.0) != 0) {
        snprintf(msg, n, "out of memory");
        return PM_ERROR;
    }
    if (p->has_thermal) {
        thermal_initialize(p, p->th.initial_T);
        thermal_layers(p, p->T_layers);
    }
    layer_temperature_outputs(p);
    p->y.heat_to_coolant_W = 0.0;
    p->initialized = 1;
    return PM_OK;
}

/* Pack._step: 0, or PM_ERROR (msg set) */
static int pack_step(PmPack *p, double t, double h, double setpoint, const double *T, int depth, char *msg, size_t n)
{
    const int clamp = p->on_limit == PM_ON_LIMIT_CLAMP;
    char why[PM_MSG_LEN];
    int rc = battery_step(p, h, T, p->control == PM_CONTROL_POWER, setpoint, clamp, why, sizeof why);
    if (rc < 0) {
        snprintf(msg, n, "out of memory");
        return PM_ERROR;
    }
    if (rc == 1) { /* no solution: the battery is as it was; retry in halves */
        if (depth >= p->max_halvings) {
            snprintf(msg, n, "no solution even with steps of %g s at set point %g: %s", h, setpoint, why);
            return PM_ERROR;
        }
        if (pack_step(p, t, h / 2, setpoint, T, depth + 1, msg, n) != 0) return PM_ERROR;
        return pack_step(p, t + h / 2, h / 2, setpoint, T, depth + 1, msg, n);
    }
    p->energy_J += p->voltage * np_sum(p->I_s, p->S) * h;
    p->substeps++;
    p->step_limited = p->step_limited || p->limited;
    if (!clamp) {
        const double lo = p->lim_lo, hi = p->lim_hi;
        int64_t k;
        for (k = 0; k < p->N; k++) {
            const double v = p->out_V[k];
            if (v < lo - 1e-9 || v > hi + 1e-9) {
                char where[96];
                pm_where(p, k, where, sizeof where);
                snprintf(p->ending_msg, sizeof p->ending_msg, "%s reached %.4f V at t = %g s, %s layer limit %g V",
                         where, v, t + h, v < lo ? "below the lower" : "above the upper", v < lo ? lo : hi);
                if (p->on_limit == PM_ON_LIMIT_END) {
                    p->ending = 1;
                    return 0;
                }
                snprintf(msg, n, "%s", p->ending_msg);
                return PM_ERROR;
            }
        }
    }
    return 0;
}

/* Pack._replay */
static int pack_replay(PmPack *p, double t, double h, double setpoint, const double *T, double I_pack, char *msg,
                       size_t n)
{
    char why[PM_MSG_LEN];
    double power;
    int rc;
    state_io(p, p->state_buf2, 1);
    rc = battery_step(p, h, T, 0, I_pack, 0, why, sizeof why);
    if (rc < 0) {
        snprintf(msg, n, "out of memory");
        return PM_ERROR;
    }
    power = rc == 0 ? p->voltage * np_sum(p->I_s, p->S) : INFINITY;
    if (fabs(power) <= fabs(setpoint) * (1.0 + 1e-12)) {
        p->energy_J = power * h;
        p->step_limited = 1;
        p->substeps = 1;
        return 0;
    }
    state_io(p, p->state_buf2, 0);
    return pack_step(p, t, h, setpoint, T, 0, msg, n);
}

/* Pack._limits_of_step */
static void limits_of_step(PmPack *p, double t, double h, double power)
{
    int at_limit;
    if (p->step_limited) {
        p->memo_ok = 1;
        p->memo_t = t;
        p->memo_h = h;
        p->memo_p = power;
        p->memo_has_I = p->substeps == 1;
        p->memo_I = p->memo_has_I ? np_sum(p->I_s, p->S) : 0.0;
    }
    at_limit = p->step_limited || (p->memo_ok && p->memo_t == t && p->memo_h == h && power * p->memo_p >= 0.0
                                   && fabs(power) >= fabs(p->memo_p) * (1.0 - 1e-9));
    p->y.limited = at_limit ? 1.0 : 0.0;
    p->y.power_limit_W = at_limit ? power : PM_UNLIMITED_W;
}

int pm_do_step(PmPack *p, double t, double h, const PmInputs *u, char *msg, size_t n)
{
    const int64_t N = p->N;
    const double setpoint = u->setpoint;
    const double *T;
    double power;
    int64_t i;
    int rc;
    if (!p->initialized) {
        snprintf(msg, n, "pm_do_step before pm_initialize");
        return PM_ERROR;
    }
    if (!(h > 0) || !isfinite(h) || !isfinite(setpoint)) {
        snprintf(msg, n, "step %g s or set point %g not allowed", h, setpoint);
        return PM_ERROR;
    }
    for (i = 0; i < N; i++)
        if (p->T_layers[i] > p->max_layer_T) {
            char where[96];
            pm_where(p, i, where, sizeof where);
            snprintf(msg, n, "%s is at %.2f K, above max_layer_temperature_K %g K", where, p->T_layers[i],
                     p->max_layer_T);
            return PM_ERROR;
        }
    state_io(p, p->state_buf, 1);
    T = p->T_layers; /* the layer temperatures of t; the network writes them only after the pack's step */
    p->ending = 0;
    p->energy_J = 0.0;
    p->step_limited = 0;
    p->substeps = 0;
    p->h_macro = h;
    if (p->memo_ok && p->memo_t == t && p->memo_h == h && p->memo_has_I && setpoint * p->memo_p > 0.0
        && fabs(setpoint) >= fabs(p->memo_p) * (1.0 - 1e-9))
        rc = pack_replay(p, t, h, setpoint, T, p->memo_I, msg, n);
    else
        rc = pack_step(p, t, h, setpoint, T, 0, msg, n);
    if (rc != 0) {
        state_io(p, p->state_buf, 0);
        return PM_ERROR;
    }
    power = p->energy_J / h;
    limits_of_step(p, t, h, power);
    if (publish(p, T, t + h, power) != 0) {
        state_io(p, p->state_buf, 0);
        snprintf(msg, n, "out of memory");
        return PM_ERROR;
    }
    if (p->has_thermal) {
        double removed = 0.0;
        PmThermal *th = &p->th;
        if (thermal_step(p, h, p->y_heat, th->series_end ? p->y_end_heat : NULL, th->series_link ? p->y_link_heat : NULL,
                         u->coolant_temperature_K, u->ambient_temperature_K, u->coolant_h_W_m2K, &removed) != 0) {
            state_io(p, p->state_buf, 0);
            snprintf(msg, n, "the thermal network's matrix is not positive definite (coolant h %g W/m2/K)",
                     u->coolant_h_W_m2K);
            return PM_ERROR;
        }
        thermal_layers(p, p->T_layers);
        p->y.heat_to_coolant_W = removed / h;
    }
    layer_temperature_outputs(p);
    if (p->ending) {
        snprintf(msg, n, "%s", p->ending_msg);
        return PM_ENDED;
    }
    return PM_OK;
}

/* -- outputs ---------------------------------------------------------------------------- */
const PmScalars *pm_scalars(const PmPack *p) { return &p->y; }
const double *pm_layer_voltage_V(const PmPack *p) { return p->y_layer_V; }
const double *pm_layer_temperature_K(const PmPack *p) { return p->y_layer_T; }
const double *pm_layer_anode_potential_V(const PmPack *p) { return p->y_anode; }
const double *pm_layer_soc(const PmPack *p) { return p->y_soc; }
const double *pm_layer_heat_W(const PmPack *p) { return p->y_heat; }
const double *pm_string_current_A(const PmPack *p) { return p->y_string_I; }
const double *pm_stack_voltage_V(const PmPack *p) { return p->y_stack_V; }
const double *pm_stack_end_heat_W(const PmPack *p) { return p->y_end_heat; }
const double *pm_interconnect_heat_W(const PmPack *p) { return p->y_link_heat; }
const double *pm_node_temperature_K(const PmPack *p) { return p->has_thermal ? p->th.T : NULL; }
