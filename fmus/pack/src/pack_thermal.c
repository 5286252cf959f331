/* The thermal network of the pack (cosim/components/thermal.py Thermal._do_step,
 * _series_heat; cosim/thermal/network.py ThermalNetwork.step; the coolant conductances of
 * cosim/thermal/builder.py build_pack_network). Backward Euler on the increments from the
 * reference temperature as network.py, with the matrix C/h + K factorised by Cholesky in
 * envelope (skyline) storage in the reverse Cuthill-McKee order of the export (SuperLU in
 * Python: the results agree to round-off, not bit for bit). */
#include "pack_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double *farr(const PmPack *p, const char *name, int64_t count, int *bad)
{
    const PmArray *a = pm_find(p, name);
    if (a == NULL || a->is_int || (count >= 0 && a->count != count)) {
        *bad = 1;
        return NULL;
    }
    return (const double *)a->data;
}

static const int64_t *iarr(const PmPack *p, const char *name, int64_t count, int *bad)
{
    const PmArray *a = pm_find(p, name);
    if (a == NULL || !a->is_int || (count >= 0 && a->count != count)) {
        *bad = 1;
        return NULL;
    }
    return (const int64_t *)a->data;
}

/* builder: the conductances to the boundaries at coolant h, K = diag(rowsum G + gb) - G
 * (network._assemble) and the boundary node lists; drops the factorisations */
static void assemble(PmThermal *th, double h_cool)
{
    const int64_t n = th->n;
    int64_t i, jj, c, k, pos;
    memset(th->gb, 0, sizeof(double) * (size_t)(2 * n));
    for (c = 0; c < th->n_contrib; c++) {
        double g;
        if (th->c_kind[c] == 0) {
            g = th->c_val[c];
        } else { /* 1 / (r_face + r_cool), r_cool = r_TIM + 1 / (h A) (air: 1 / (h A)) */
            double r_cool = th->r_tim + 1.0 / (h_cool * th->area);
            g = 1.0 / (th->c_val[c] + r_cool);
        }
        th->gb[th->c_node[c] * 2 + th->c_bnd[c]] += g;
    }
    pos = 0;
    for (i = 0; i < n; i++) {
        double rowsum = 0.0, diag;
        int placed = 0;
        for (jj = th->G_ptr[i]; jj < th->G_ptr[i + 1]; jj++) rowsum += th->G_val[jj] * 1.0;
        diag = rowsum + (th->gb[2 * i] + th->gb[2 * i + 1]);
        th->K_ptr[i] = pos;
        for (jj = th->G_ptr[i]; jj < th->G_ptr[i + 1]; jj++) {
            if (!placed && th->G_idx[jj] > i) {
                th->K_idx[pos] = i;
                th->K_val[pos++] = diag;
                placed = 1;
            }
            th->K_idx[pos] = th->G_idx[jj];
            th->K_val[pos++] = -th->G_val[jj];
        }
        if (!placed) {
            th->K_idx[pos] = i;
            th->K_val[pos++] = diag;
        }
    }
    th->K_ptr[n] = pos;
    for (k = 0; k < 2; k++) {
        th->n_bnodes[k] = 0;
        for (i = 0; i < n; i++)
            if (th->gb[2 * i + k] != 0) {
                th->bnodes[k][th->n_bnodes[k]] = i;
                th->bg[k][th->n_bnodes[k]++] = th->gb[2 * i + k];
            }
    }
    th->h_cool = h_cool;
    for (k = 0; k < 4; k++) th->cache_used[k] = 0;
}

int thermal_setup(PmPack *p, char *err, size_t n_err)
{
    PmThermal *th = &p->th;
    int bad = 0;
    int64_t n, i, r, jj, k;
    const double *sc;
    n = th->n = iarr(p, "th_n", 1, &bad) ? iarr(p, "th_n", 1, &bad)[0] : 0;
    if (bad || n <= 0) {
        snprintf(err, n_err, "thermal network: th_n missing");
        return -1;
    }
    th->cap = (double *)farr(p, "th_capacity", n, &bad);
    th->G_ptr = (int64_t *)iarr(p, "th_G_indptr", n + 1, &bad);
    if (bad) {
        snprintf(err, n_err, "thermal network: capacities or conductances missing");
        return -1;
    }
    th->nnz = th->G_ptr[n];
    th->G_idx = (int64_t *)iarr(p, "th_G_indices", th->nnz, &bad);
    th->G_val = (double *)farr(p, "th_G_data", th->nnz, &bad);
    th->perm = (int64_t *)iarr(p, "th_perm", n, &bad);
    th->layer_node = (int64_t *)iarr(p, "th_layer_node", p->N, &bad);
    th->end_nodes = (int64_t *)iarr(p, "th_stack_end_nodes", p->S * p->K * 2, &bad);
    th->c_node = (int64_t *)iarr(p, "th_contrib_node", -1, &bad);
    if (bad) {
        snprintf(err, n_err, "thermal network: arrays missing or of the wrong size");
        return -1;
    }
    th->n_contrib = pm_find(p, "th_contrib_node")->count;
    th->c_bnd = (int64_t *)iarr(p, "th_contrib_boundary", th->n_contrib, &bad);
    th->c_kind = (int64_t *)iarr(p, "th_contrib_kind", th->n_contrib, &bad);
    th->c_val = (double *)farr(p, "th_contrib_value", th->n_contrib, &bad);
    sc = farr(p, "th_scalars", 8, &bad);
    {
        const int64_t *ser = iarr(p, "th_series", 2, &bad);
        if (bad) {
            snprintf(err, n_err, "thermal network: arrays missing or of the wrong size");
            return -1;
        }
        th->series_end = (int)ser[0];
        th->series_link = (int)ser[1];
    }
    th->r_tim = sc[0];
    th->area = sc[1];
    th->coolant_h0 = sc[2];
    th->initial_T = sc[3];
    th->max_step_s = sc[4];
    th->coolant_T0 = sc[5];
    th->ambient_T0 = sc[6];
    for (i = 0; i < p->N; i++)
        if (th->layer_node[i] < 0 || th->layer_node[i] >= n) bad = 1;
    for (i = 0; i < th->nnz; i++)
        if (th->G_idx[i] < 0 || th->G_idx[i] >= n) bad = 1;
    for (i = 0; i < th->n_contrib; i++)
        if (th->c_node[i] < 0 || th->c_node[i] >= n || th->c_bnd[i] < 0 || th->c_bnd[i] > 1) bad = 1;
    for (i = 0; i < 2 * p->S * p->K; i++)
        if (th->end_nodes[i] < 0 || th->end_nodes[i] >= n) bad = 1;
    if (bad) {
        snprintf(err, n_err, "thermal network: a node index is out of range");
        return -1;
    }
    th->inv = (int64_t *)pm_calloc((size_t)n, sizeof(int64_t));
    th->first = (int64_t *)pm_calloc((size_t)n, sizeof(int64_t));
    th->row_start = (int64_t *)pm_calloc((size_t)n + 1, sizeof(int64_t));
    th->gb = (double *)pm_calloc((size_t)(2 * n), sizeof(double));
    th->K_val = (double *)pm_calloc((size_t)(th->nnz + n), sizeof(double));
    th->K_ptr = (int64_t *)pm_calloc((size_t)n + 1, sizeof(int64_t));
    th->K_idx = (int64_t *)pm_calloc((size_t)(th->nnz + n), sizeof(int64_t));
    for (k = 0; k < 2; k++) {
        th->bnodes[k] = (int64_t *)pm_calloc((size_t)n, sizeof(int64_t));
        th->bg[k] = (double *)pm_calloc((size_t)n, sizeof(double));
    }
    th->T = (double *)pm_calloc((size_t)n, sizeof(double));
    th->rhs = (double *)pm_calloc((size_t)n, sizeof(double));
    th->work = (double *)pm_calloc((size_t)n, sizeof(double));
    th->q = (double *)pm_calloc((size_t)n, sizeof(double));
    th->q2 = (double *)pm_calloc((size_t)n, sizeof(double));
    th->theta = (double *)pm_calloc((size_t)n, sizeof(double));
    if (!th->inv || !th->first || !th->row_start || !th->gb || !th->K_val || !th->K_ptr || !th->K_idx || !th->bnodes[0]
        || !th->bnodes[1] || !th->bg[0] || !th->bg[1] || !th->T || !th->rhs || !th->work || !th->q || !th->q2
        || !th->theta) {
        snprintf(err, n_err, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) th->inv[i] = -1;
    for (r = 0; r < n; r++) {
        if (th->perm[r] < 0 || th->perm[r] >= n || th->inv[th->perm[r]] >= 0) {
            snprintf(err, n_err, "thermal network: th_perm is not a permutation");
            return -1;
        }
        th->inv[th->perm[r]] = r;
    }
    /* the envelope of the permuted matrix: the first column of every row */
    for (r = 0; r < n; r++) th->first[r] = r;
    for (i = 0; i < n; i++)
        for (jj = th->G_ptr[i]; jj < th->G_ptr[i + 1]; jj++) {
            int64_t a = th->inv[i], b = th->inv[th->G_idx[jj]];
            if (b < a && b < th->first[a]) th->first[a] = b;
        }
    th->row_start[0] = 0;
    for (r = 0; r < n; r++) th->row_start[r + 1] = th->row_start[r] + (r - th->first[r] + 1);
    th->env_size = th->row_start[n];
    for (k = 0; k < 4; k++) {
        th->L[k] = (double *)pm_calloc((size_t)th->env_size, sizeof(double));
        if (th->L[k] == NULL) {
            snprintf(err, n_err, "out of memory");
            return -1;
        }
    }
    assemble(th, th->coolant_h0);
    return 0;
}

void thermal_free(PmThermal *th)
{
    int k;
    free(th->inv);
    free(th->first);
    free(th->row_start);
    free(th->gb);
    free(th->K_val);
    free(th->K_ptr);
    free(th->K_idx);
    for (k = 0; k < 2; k++) {
        free(th->bnodes[k]);
        free(th->bg[k]);
    }
    for (k = 0; k < 4; k++) free(th->L[k]);
    free(th->T);
    free(th->rhs);
    free(th->work);
    free(th->q);
    free(th->q2);
    free(th->theta);
}

/* network.set_temperature + reset_ledger (Thermal._initialize); the reference temperature is
 * the mean of the initial temperatures (ThermalNetwork.__init__) */
void thermal_initialize(PmPack *p, double T0)
{
    PmThermal *th = &p->th;
    int64_t i;
    for (i = 0; i < th->n; i++) th->T[i] = T0;
    th->T_ref = np_sum(th->T, th->n) / (double)th->n;
    th->generated = th->stored = th->removed[0] = th->removed[1] = 0.0;
}

/* the Cholesky factor of C/h + K (permuted, envelope storage) into L; 0, or -1 if not SPD */
static int factorize(PmThermal *th, double h, double *L)
{
    const int64_t n = th->n;
    int64_t i, jj, r, c, k;
    memset(L, 0, sizeof(double) * (size_t)th->env_size);
    for (i = 0; i < n; i++) {
        const int64_t a = th->inv[i];
        for (jj = th->K_ptr[i]; jj < th->K_ptr[i + 1]; jj++) {
            const int64_t b = th->inv[th->K_idx[jj]];
            if (b <= a) L[th->row_start[a] + (b - th->first[a])] += th->K_val[jj];
        }
        L[th->row_start[a] + (a - th->first[a])] += th->cap[i] / h;
    }
    for (r = 0; r < n; r++) {
        double *Lr = L + th->row_start[r] - th->first[r]; /* Lr[c] = L[r][c] */
        for (c = th->first[r]; c <= r; c++) {
            const double *Lc = L + th->row_start[c] - th->first[c];
            const int64_t k0 = th->first[r] > th->first[c] ? th->first[r] : th->first[c];
            double s = Lr[c];
            for (k = k0; k < c; k++) s -= Lr[k] * Lc[k];
            if (c < r) {
                Lr[c] = s / Lc[c];
            } else {
                if (!(s > 0)) return -1;
                Lr[r] = sqrt(s);
            }
        }
    }
    return 0;
}

/* ThermalNetwork.factorization: the factor for step h (4 cached, least recently used out) */
static const double *factorization(PmThermal *th, double h)
{
    int k, slot = -1;
    for (k = 0; k < 4; k++)
        if (th->cache_used[k] && th->cache_h[k] == h) {
            th->cache_age[k] = ++th->age;
            return th->L[k];
        }
    for (k = 0; k < 4; k++)
        if (!th->cache_used[k]) {
            slot = k;
            break;
        }
    if (slot < 0) {
        slot = 0;
        for (k = 1; k < 4; k++)
            if (th->cache_age[k] < th->cache_age[slot]) slot = k;
    }
    th->cache_used[slot] = 0;
    if (factorize(th, h, th->L[slot]) != 0) return NULL;
    th->cache_used[slot] = 1;
    th->cache_h[slot] = h;
    th->cache_age[slot] = ++th->age;
    return th->L[slot];
}

/* solve (C/h + K) x = b in place (b in node order) with the factor L */
static void solve_factored(PmThermal *th, const double *L, double *b)
{
    const int64_t n = th->n;
    double *y = th->work;
    int64_t r, c;
    for (r = 0; r < n; r++) y[r] = b[th->perm[r]];
    for (r = 0; r < n; r++) {
        const double *Lr = L + th->row_start[r] - th->first[r];
        double s = y[r];
        for (c = th->first[r]; c < r; c++) s -= Lr[c] * y[c];
        y[r] = s / Lr[r];
    }
    for (r = n - 1; r >= 0; r--) {
        const double *Lr = L + th->row_start[r] - th->first[r];
        y[r] /= Lr[r];
        for (c = th->first[r]; c < r; c++) y[c] -= Lr[c] * y[r];
    }
    for (r = 0; r < n; r++) b[th->perm[r]] = y[r];
}

/* ThermalNetwork.step(h, q, Tb): -1 if the matrix cannot be factorised */
static int network_step(PmThermal *th, double h, const double *q, const double *Tb)
{
    const int64_t n = th->n;
    const double Tref = th->T_ref;
    double theta_b[2], *rhs = th->rhs, *theta = th->theta, *tmp = th->q2;
    const double *L;
    int64_t i, jj, k;
    for (i = 0; i < n; i++) theta[i] = th->T[i] - Tref;
    theta_b[0] = Tb[0] - Tref;
    theta_b[1] = Tb[1] - Tref;
    for (i = 0; i < n; i++) { /* q - K @ theta (csr_matvec) */
        double s = 0.0;
        for (jj = th->K_ptr[i]; jj < th->K_ptr[i + 1]; jj++) s += th->K_val[jj] * theta[th->K_idx[jj]];
        rhs[i] = q[i] - s;
    }
    for (k = 0; k < 2; k++)
        for (i = 0; i < th->n_bnodes[k]; i++) rhs[th->bnodes[k][i]] += th->bg[k][i] * theta_b[k];
    L = factorization(th, h);
    if (L == NULL) return -1;
    solve_factored(th, L, rhs); /* rhs = dT */
    for (i = 0; i < n; i++) {
        double theta_new = theta[i] + rhs[i];
        th->T[i] = theta_new + Tref;
        theta[i] = theta_new;
    }
    th->generated += h * np_sum(q, n);
    for (i = 0; i < n; i++) tmp[i] = th->cap[i] * rhs[i];
    th->stored += np_sum(tmp, n);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < th->n_bnodes[k]; i++) tmp[i] = th->bg[k][i] * (theta[th->bnodes[k][i]] - theta_b[k]);
        th->removed[k] += h * np_sum(tmp, th->n_bnodes[k]);
    }
    return 0;
}

/* Thermal._do_step with the pack's heat (end_heat / link_heat: S K, NULL when unconnected) */
int thermal_step(PmPack *p, double h, const double *layer_heat, const double *end_heat, const double *link_heat,
                 double coolant_T, double ambient_T, double coolant_h, double *removed_coolant_J)
{
    PmThermal *th = &p->th;
    const int64_t n = th->n, S = p->S, K = p->K;
    double *q = th->q, Tb[2], before = th->removed[0];
    int64_t i, s, k, sub, n_sub = 1;
    int any = 0;
    if (coolant_h != th->h_cool) assemble(th, coolant_h);
    memset(q, 0, sizeof(double) * (size_t)n);
    for (i = 0; i < p->N; i++) q[th->layer_node[i]] += layer_heat[i]; /* node_heat: np.bincount */
    for (i = 0; i < S * K; i++) any = any || (end_heat && end_heat[i] != 0) || (link_heat && link_heat[i] != 0);
    if (any) { /* _series_heat: half of each stack's end heat onto each end, each connection's onto its two ends */
        double *q2 = th->work;
        memset(q2, 0, sizeof(double) * (size_t)n);
        for (s = 0; s < S; s++)
            for (k = 0; k < K; k++) {
                const double end = end_heat ? end_heat[s * K + k] : 0.0;
                const double link = link_heat ? link_heat[s * K + k] : 0.0;
                const double prev = link_heat ? link_heat[s * K + (k + K - 1) % K] : 0.0;
                const double low = 0.5 * end + 0.5 * prev;
                const double high = 0.5 * end + 0.5 * link;
                q2[th->end_nodes[(s * K + k) * 2]] += low;
                q2[th->end_nodes[(s * K + k) * 2 + 1]] += high;
            }
        for (i = 0; i < n; i++) q[i] = q[i] + q2[i];
    }
    Tb[0] = coolant_T;
    Tb[1] = ambient_T;
    if (th->max_step_s > 0) {
        double m = ceil(h / th->max_step_s - 1e-9);
        n_sub = m > 1 ? (int64_t)m : 1;
    }
    for (sub = 0; sub < n_sub; sub++)
        if (network_step(th, h / (double)n_sub, q, Tb) != 0) return -1;
    *removed_coolant_J = th->removed[0] - before;
    return 0;
}

/* network.temperature_K[layer_node] */
void thermal_layers(const PmPack *p, double *T_layers)
{
    int64_t i;
    for (i = 0; i < p->N; i++) T_layers[i] = p->th.T[p->th.layer_node[i]];
}
