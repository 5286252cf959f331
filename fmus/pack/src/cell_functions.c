/* The material functions of cosim (the formulas of cosim/cell/functions.py's classes, which
 * describe them and cite their sources), evaluated from the integer code and parameter vector
 * of a function's spec; the Arrhenius factor; the enthalpy potential tables of the heat of
 * mixing (cosim/cell/mixing_kernels.py). */
#include "cell_kernel.h"

#include <math.h>
#include <stddef.h>

/* tanh(y) rounds to exactly +-1.0 for |y| >= 19.07 */
#define TANH_IS_ONE 19.1
/* the spinel fit's power term is singular at this stoichiometry; Dualfoil caps its OCP at 6 V
 * (functions.SPINEL_SINGULAR_STO, SPINEL_OCP_CAP_V) */
#define SPINEL_SINGULAR_STO 0.998432
#define SPINEL_OCP_CAP_V 6.0

/* the NCA polynomial of Kim et al. 2011, ascending powers */
static const double KIM2011_NCA_POLY[11] = {
    11.8058, -66.3691, 264.427, -554.774, 621.3475, -344.566,
    81.246, -23.488, 15.056, -2.222, 1.638,
};

/* min(a, b) with Python's NaN rule: b if b < a else a. */
static double py_min(double a, double b) { return b < a ? b : a; }

/* sum_k c[k] x^k (k < n) and its derivative, highest power first (as numpy's polyval). */
static void horner(const double *c, int64_t n, double x, double *v_out, double *d_out)
{
    double v = c[n - 1];
    double d = 0.0;
    int64_t k;
    for (k = n - 2; k >= 0; k--) {
        d = v + d * x;
        v = c[k] + v * x;
    }
    *v_out = v;
    *d_out = d;
}

/* see cell_kernel.h */
void ck_value_slope(int64_t code, const double *p, double x, double *v_out, double *d_out)
{
    switch (code) {
    case CK_CONSTANT:
        *v_out = p[0];
        *d_out = 0.0;
        return;
    case CK_TABLE: { /* as np.interp: linear inside, end values held outside */
        int64_t n = (int64_t)p[0];
        const double *xs = p + 1, *ys = p + 1 + n;
        int64_t lo, hi, j;
        double slope;
        if (x != x) {
            *v_out = x;
            *d_out = x;
            return;
        }
        if (x < xs[0]) {
            *v_out = ys[0];
            *d_out = 0.0;
            return;
        }
        if (x > xs[n - 1]) {
            *v_out = ys[n - 1];
            *d_out = 0.0;
            return;
        }
        /* np.searchsorted(xs, x, side="right") - 1: the last j with xs[j] <= x */
        lo = 0;
        hi = n;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (xs[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
        j = lo - 1;
        if (j >= n - 1) {
            *v_out = ys[n - 1];
            *d_out = (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]);
            return;
        }
        slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
        *d_out = slope;
        *v_out = xs[j] == x ? ys[j] : slope * (x - xs[j]) + ys[j];
        return;
    }
    case CK_POLYNOMIAL: { /* p = [n, c_scale, value_scale, coefficients...] */
        int64_t n = (int64_t)p[0];
        double v, d;
        horner(p + 3, n, x / p[1], &v, &d);
        *v_out = p[2] * v;
        *d_out = p[2] * d / p[1];
        return;
    }
    case CK_TANH_STAIRCASE: { /* p = [n_steps, 1 / width, top, steps..., drops...] */
        int64_t n = (int64_t)p[0], k;
        double v = 0.0, d = 0.0;
        for (k = 0; k < n; k++) {
            double y = (x - p[3 + k]) * p[1];
            double t;
            if (fabs(y) >= TANH_IS_ONE) {
                v += copysign(p[3 + n + k], y);
                continue;
            }
            t = tanh(y);
            v += t * p[3 + n + k];
            d += (1.0 - t * t) * p[1] * p[3 + n + k];
        }
        *v_out = p[2] - 0.5 * v;
        *d_out = -0.5 * d;
        return;
    }
    case CK_CHEN2020_GRAPHITE: {
        double e = 1.9793 * exp(-39.3631 * x);
        double t1 = tanh(29.8538 * (x - 0.1234));
        double t2 = tanh(14.9159 * (x - 0.2769));
        double t3 = tanh(30.4444 * (x - 0.6103));
        *v_out = e + 0.2482 - 0.0909 * t1 - 0.04478 * t2 - 0.0205 * t3;
        *d_out = (-39.3631 * e - 0.0909 * 29.8538 * (1 - t1 * t1) - 0.04478 * 14.9159 * (1 - t2 * t2)
                  - 0.0205 * 30.4444 * (1 - t3 * t3));
        return;
    }
    case CK_CHEN2020_NMC811: {
        double t1 = tanh(18.5138 * (x - 0.5542));
        double t2 = tanh(15.7890 * (x - 0.3117));
        double t3 = tanh(15.9308 * (x - 0.3120));
        *v_out = -0.8090 * x + 4.4875 - 0.0428 * t1 - 17.7326 * t2 + 17.5842 * t3;
        *d_out = (-0.8090 - 0.0428 * 18.5138 * (1 - t1 * t1) - 17.7326 * 15.7890 * (1 - t2 * t2)
                  + 17.5842 * 15.9308 * (1 - t3 * t3));
        return;
    }
    case CK_NYMAN2008_KAPPA: {
        double c, r;
        if (x <= 0.0) {
            *v_out = 0.0;
            *d_out = 0.0;
            return;
        }
        c = x / 1000.0;
        r = pow(c, 1.5);
        *v_out = 0.1297 * (c * (c * c)) - 2.51 * r + 3.329 * c; /* c^3 as a product */
        *d_out = (3 * 0.1297 * c * c - 1.5 * 2.51 * sqrt(c) + 3.329) / 1000.0;
        return;
    }
    case CK_NYMAN2008_D: {
        double c = x / 1000.0;
        *v_out = 8.794e-11 * (c * c) - 3.972e-10 * c + 4.862e-10;
        *d_out = (2 * 8.794e-11 * c - 3.972e-10) / 1000.0;
        return;
    }
    case CK_DOYLE1996_COKE: {
        double e1 = 1.32 * exp(-3.0 * x), e2 = 10.0 * exp(-2000.0 * x);
        *v_out = -0.16 + e1 + e2;
        *d_out = -3.0 * e1 - 2000.0 * e2;
        return;
    }
    case CK_DOYLE1996_SPINEL: {
        double power = 0.0, dpower = 0.0, t, x2, x7, e1, arg, e2, u;
        if (x < SPINEL_SINGULAR_STO) {
            double gap = SPINEL_SINGULAR_STO - x;
            double g = pow(gap, -0.492465);
            power = -0.0275479 * (g - 1.90111);
            dpower = -0.0275479 * 0.492465 * g / gap;
        }
        t = tanh(-14.5546 * x + 8.60942);
        x2 = x * x;
        x7 = (x * x2) * (x2 * x2); /* x^7 by squaring */
        e1 = 0.157123 * exp(-0.04738 * (x7 * x));
        arg = -40.0 * (x - 0.133875);
        e2 = 0.810239 * exp(py_min(arg, 700.0));
        u = 4.19829 + 0.0565661 * t + power - e1 + e2;
        if (u > SPINEL_OCP_CAP_V) {
            *v_out = SPINEL_OCP_CAP_V;
            *d_out = 0.0;
            return;
        }
        *v_out = u;
        *d_out = (-14.5546 * 0.0565661 * (1 - t * t) + dpower + e1 * 0.04738 * 8.0 * x7
                  - (arg < 700.0 ? 40.0 * e2 : 0.0));
        return;
    }
    case CK_MARQUIS2019_LICO2: {
        double k = p[0];
        double s = k * x;
        double t1 = tanh(30.834 - 54.4806 * s);
        double t2 = tanh(52.294 - 50.294 * s);
        double t3 = tanh(11.0923 - 19.8543 * s);
        double t4 = tanh(1.4684 - 5.4888 * s);
        double t5 = tanh((-s + 0.56478) / 0.1316);
        double t6 = tanh((s - 0.525) / 0.006);
        double d;
        *v_out = (2.16216 + 0.07645 * t1 + 2.1581 * t2 - 0.14169 * t3 + 0.2051 * t4 + 0.2531 * t5
                  - 0.02167 * t6);
        d = (-0.07645 * 54.4806 * (1 - t1 * t1) - 2.1581 * 50.294 * (1 - t2 * t2)
             + 0.14169 * 19.8543 * (1 - t3 * t3) - 0.2051 * 5.4888 * (1 - t4 * t4)
             - 0.2531 / 0.1316 * (1 - t5 * t5) - 0.02167 / 0.006 * (1 - t6 * t6));
        *d_out = k * d;
        return;
    }
    case CK_KIM2011_NCA: {
        double v, d, a, arg, tail;
        horner(KIM2011_NCA_POLY, 11, x, &v, &d);
        a = fabs(x);
        arg = 5.8201 * pow(a, 136.4);
        tail = exp(py_min(arg, 700.0));
        if (arg < 700.0 && a > 0.0) d -= 0.61386 * tail * 136.4 * arg / a * (x > 0 ? 1.0 : -1.0);
        *v_out = v - 0.61386 * tail;
        *d_out = d;
        return;
    }
    default:
        *v_out = NAN;
        *d_out = NAN;
        return;
    }
}

/* see cell_kernel.h */
double ck_arrhenius_factor(double E, double T, double T_ref)
{
    if (E == 0.0) return 1.0;
    return exp(E / CK_R * (1.0 / T_ref - 1.0 / T));
}

/* Values (and slopes, unless slope_out is NULL) of the function (code, p) at the n points x:
 * what cosim/cell/functions.py evaluates over numpy arrays. */
void ck_values(int64_t code, const double *p, const double *x, int64_t n, double *value_out, double *slope_out)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        double v, s;
        ck_value_slope(code, p, x[i], &v, &s);
        value_out[i] = v;
        if (slope_out) slope_out[i] = s;
    }
}

/* -- the enthalpy potential U_H = U - T_ref dU/dT (heat of mixing, cosim/cell/energy.py) ---- */

/* U_H and its slope in sto from the material's functions. */
static void u_H(int64_t ocp_code, const double *ocp_p, int64_t dUdT_code, const double *dUdT_p, double T_ref,
                double x, double *u_out, double *du_out)
{
    double u, du, s, ds;
    ck_value_slope(ocp_code, ocp_p, x, &u, &du);
    ck_value_slope(dUdT_code, dUdT_p, x, &s, &ds);
    *u_out = u - T_ref * s;
    *du_out = du - T_ref * ds;
}

/* The cubic with values y0, y1 and slopes d0, d1 (per unit t) at t = 0, 1, at t: its value,
 * and its slope into *dv unless dv is NULL. */
static double hermite(double y0, double d0, double y1, double d1, double t, double *dv)
{
    const double dy = y1 - y0;
    const double a2 = 3.0 * dy - 2.0 * d0 - d1;
    const double a3 = d0 + d1 - 2.0 * dy;
    if (dv) *dv = d0 + t * (2.0 * a2 + 3.0 * t * a3);
    return y0 + t * (d0 + t * (a2 + t * a3));
}

void ck_enthalpy_table(int64_t ocp_code, const double *ocp_p, int64_t dUdT_code, const double *dUdT_p,
                       double T_ref, int64_t n, double value_tol, double slope_tol, double *tab)
{
    static const double quarter[3] = {0.25, 0.5, 0.75};
    const double dn = (double)n;
    int64_t i;
    int q, prev_bad = 0;
    for (i = 0; i <= n; i++) {
        double u, du;
        u_H(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, (double)i / dn, &u, &du);
        tab[2 * i] = u;
        tab[2 * i + 1] = du / dn;
    }
    /* interval i is checked with the slopes of both its ends as computed; a row is marked
     * (its slope NaN) once both intervals that use it are checked */
    for (i = 0; i < n; i++) {
        int bad = 0;
        for (q = 0; q < 3; q++) {
            const double t = quarter[q];
            double p, dp, u, du;
            p = hermite(tab[2 * i], tab[2 * i + 1], tab[2 * i + 2], tab[2 * i + 3], t, &dp);
            u_H(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, ((double)i + t) / dn, &u, &du);
            du /= dn;
            if (!(fabs(p - u) <= value_tol && fabs(dp - du) <= slope_tol * fabs(du) + value_tol)) bad = 1;
        }
        if (prev_bad || bad) tab[2 * i + 1] = NAN;
        prev_bad = bad;
    }
    if (prev_bad) tab[2 * n + 1] = NAN;
}

/* U_H at sto from the table tab (n_tab rows) of the material, or from its functions outside
 * [0, 1] and in the intervals the table marks. */
static double enthalpy_read(const double *tab, int64_t n_tab, int64_t ocp_code, const double *ocp_p,
                            int64_t dUdT_code, const double *dUdT_p, double T_ref, double sto)
{
    const int64_t n = n_tab - 1;
    double u, du;
    if (0.0 <= sto && sto <= 1.0) {
        const double s = sto * (double)n;
        int64_t m = (int64_t)s;
        double v;
        if (n - 1 < m) m = n - 1; /* min(int(s), n - 1) */
        v = hermite(tab[2 * m], tab[2 * m + 1], tab[2 * (m + 1)], tab[2 * (m + 1) + 1], s - (double)m, NULL);
        if (v == v) return v; /* NaN: an interval the table does not represent */
    }
    u_H(ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, sto, &u, &du);
    return u;
}

void ck_enthalpy_potentials(const double *tab, int64_t n_tab, int64_t ocp_code, const double *ocp_p,
                            int64_t dUdT_code, const double *dUdT_p, double T_ref, const double *sto, int64_t n,
                            double *out)
{
    int64_t i;
    for (i = 0; i < n; i++) out[i] = enthalpy_read(tab, n_tab, ocp_code, ocp_p, dUdT_code, dUdT_p, T_ref, sto[i]);
}

double ck_enthalpy_potential(const CkCells *d, int64_t k, double sto)
{
    return enthalpy_read(d->uH_table + k * d->n_tab * 2, d->n_tab, d->ocp_code[k], d->ocp_p + k * d->P_ocp,
                         d->dUdT_code[k], d->dUdT_p + k * d->P_dUdT, d->scalars[0], sto);
}
