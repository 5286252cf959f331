/* Reference BEV model core; see vehicle_model.h. Every formula names its Python original
 * (cosim/vehicle/longitudinal.py, cosim/components/vehicle.py) and keeps its order of
 * operations, so that results agree with the native component to round-off. */
#include "vehicle_model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_LINE_LEN 4096
#define VM_MAX_COLUMNS 64

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* -- numerics shared with numpy / Python ---------------------------------------------- */

/* numpy.interp(x, xp, fp) for strictly increasing xp (n >= 2): flat outside the points,
 * the sample itself at a point, else slope * (x - xp[j]) + fp[j]. */
static double interp(double x, const double *xp, const double *fp, size_t n)
{
    size_t lo, hi, j;
    double slope, r;
    if (x != x) return x;
    if (x < xp[0]) return fp[0];
    if (x >= xp[n - 1]) return fp[n - 1];
    lo = 0;
    hi = n - 1; /* xp[lo] <= x < xp[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (xp[mid] <= x) lo = mid;
        else hi = mid;
    }
    j = lo;
    if (xp[j] == x) return fp[j];
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    r = slope * (x - xp[j]) + fp[j];
    if (r != r) {
        r = slope * (x - xp[j + 1]) + fp[j + 1];
        if (r != r && fp[j] == fp[j + 1]) r = fp[j];
    }
    return r;
}

/* Python's float modulo (result takes the divisor's sign) */
static double py_mod(double x, double y)
{
    double r = fmod(x, y);
    if (r != 0.0) {
        if ((y < 0.0) != (r < 0.0)) r += y;
    } else {
        r = copysign(0.0, y);
    }
    return r;
}

static double dmax(double a, double b) { return b > a ? b : a; }
static double dmin(double a, double b) { return b < a ? b : a; }

/* -- the longitudinal model (Vehicle in longitudinal.py) ------------------------------- */

/* Vehicle.motor_efficiency */
static double motor_efficiency(const VmParams *p, double shaft_W)
{
    if (p->motor_n_points == 0) return p->motor_efficiency;
    return interp(fabs(shaft_W) / p->motor_max_power_W, p->motor_efficiency_load_fraction,
                  p->motor_efficiency_curve, (size_t)p->motor_n_points);
}

/* Vehicle.regen_fraction */
static double regen_fraction(const VmParams *p, double v_mps)
{
    double lo = p->regen_fade_start_speed_mps, hi = p->regen_fade_end_speed_mps, ramp;
    if (hi > lo) {
        ramp = (v_mps - lo) / (hi - lo);
        ramp = dmin(dmax(ramp, 0.0), 1.0);
    } else {
        ramp = v_mps >= lo ? 1.0 : 0.0;
    }
    return p->regen_max_fraction * ramp;
}

/* c0 of Vehicle.road_coefficients (c1 = a1, c2 = a2) */
static double road_c0(const VmModel *m, double grade_rad)
{
    const VmDerived *k = &m->k;
    return (k->a0_scales_with_cos ? k->a0_N * cos(grade_rad) : k->a0_N) + m->p.mass_kg * VM_G_MPS2 * sin(grade_rad);
}

/* Vehicle.wheel_power: mean inertial + road-load power of a linear speed v0 -> v1 in dt */
static double wheel_power(const VmModel *m, double v0, double v1, double dt, double grade_rad)
{
    const VmDerived *k = &m->k;
    double inertial = k->m_eff_kg * (v1 * v1 - v0 * v0) / (2.0 * dt);
    double c0 = road_c0(m, grade_rad), c1 = k->a1_N_s_per_m, c2 = k->a2_N_s2_per_m2;
    double m1 = 0.5 * (v0 + v1);
    double m2 = (v0 * v0 + v0 * v1 + v1 * v1) / 3.0;
    double m3 = 0.25 * (v0 + v1) * (v0 * v0 + v1 * v1);
    double road = c0 * m1 + c1 * m2 + c2 * m3;
    return inertial + road;
}

typedef struct {
    double battery_W, tractive_W, braking_W, regen_W;
} Balance;

/* power_balance (scalar): regen capped by the motor and by charge_limit_W (>= 0) */
static Balance power_balance(const VmModel *m, double v0, double v1, double dt, double grade, double charge_limit_W)
{
    const VmParams *p = &m->p;
    Balance out;
    double wheel = wheel_power(m, v0, v1, dt, grade);
    double traction = dmax(wheel, 0.0);
    double braking = dmax(-wheel, 0.0);
    double shaft = traction / p->drivetrain_efficiency;
    double motor_el = shaft / motor_efficiency(p, shaft);
    double offered = regen_fraction(p, 0.5 * (v0 + v1)) * braking;
    double regen_shaft = dmin(offered * p->drivetrain_efficiency, p->motor_max_regen_power_W);
    double eta_r = motor_efficiency(p, regen_shaft);
    double regen_el = dmin(regen_shaft * eta_r, dmax(charge_limit_W, 0.0) + p->auxiliary_power_W);
    out.tractive_W = traction;
    out.braking_W = braking;
    out.regen_W = regen_el;
    out.battery_W = motor_el - regen_el + p->auxiliary_power_W;
    return out;
}

/* solve_speed: end speed in [0, v_max] whose mean wheel power from v0 over dt is wheel_W
 * (Newton on the cubic, safeguarded by bisection) */
static double solve_speed(const VmModel *m, double v0, double dt, double grade, double wheel_W, double v_max)
{
    const VmDerived *k = &m->k;
    double lo = 0.0, hi = v_max, flo, fhi, x;
    int it;
    flo = wheel_power(m, v0, lo, dt, grade) - wheel_W;
    fhi = wheel_power(m, v0, hi, dt, grade) - wheel_W;
    if (flo >= 0.0) return 0.0;
    if (fhi <= 0.0) return v_max;
    x = hi;
    for (it = 0; it < 60; ++it) {
        double fx = wheel_power(m, v0, x, dt, grade) - wheel_W;
        double c0, c1, c2, d, xn;
        if (fabs(fx) <= 1e-9 * dmax(1.0, fabs(wheel_W))) return x;
        if (fx > 0) hi = x;
        else lo = x;
        c0 = road_c0(m, grade);
        c1 = k->a1_N_s_per_m;
        c2 = k->a2_N_s2_per_m2;
        d = k->m_eff_kg * x / dt + 0.5 * c0 + c1 * (v0 + 2 * x) / 3.0 + c2 * 0.25 * (v0 * v0 + 2 * v0 * x + 3 * x * x);
        xn = d > 0 ? x - fx / d : 0.5 * (lo + hi);
        x = (lo < xn && xn < hi) ? xn : 0.5 * (lo + hi);
        if (hi - lo < 1e-12) break;
    }
    return x;
}

/* VehicleComponent._wheel_budget: largest motor shaft power with electrical power
 * <= limit - aux and <= the motor's peak */
static double wheel_budget(const VmParams *p, double limit_W)
{
    double el = limit_W - p->auxiliary_power_W, lo, hi;
    int it;
    if (el <= 0) return 0.0;
    if (p->motor_n_points == 0) return dmin(el * p->motor_efficiency, p->motor_max_power_W);
    if (p->motor_max_power_W / motor_efficiency(p, p->motor_max_power_W) <= el) return p->motor_max_power_W;
    lo = 0.0;
    hi = p->motor_max_power_W;
    for (it = 0; it < 60; ++it) {
        double mid = 0.5 * (lo + hi);
        if (mid / motor_efficiency(p, mid) <= el) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* -- parameters ------------------------------------------------------------------------- */

void vm_model_defaults(VmModel *m)
{
    memset(m, 0, sizeof *m);
    m->p.forward = 1;
    m->available_discharge_power_W = VM_UNLIMITED_W;
    m->available_charge_power_W = -VM_UNLIMITED_W;
    m->battery_power_limit_W = VM_UNLIMITED_W;
}

#define CHECK(cond, name, value, rule)                                                           \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fail(err, errlen, "parameter %s = %.17g is out of range: %s", name, (double)(value), \
                 rule);                                                                          \
            return -1;                                                                           \
        }                                                                                        \
    } while (0)

int vm_check_params(const VmParams *p, char *err, size_t errlen)
{
    int i;
    CHECK(p->mass_kg > 0.0 && isfinite(p->mass_kg), "mass_kg", p->mass_kg, "must be > 0");
    CHECK(p->rotating_inertia_factor >= 0.0 && p->rotating_inertia_factor <= 1.0, "rotating_inertia_factor",
          p->rotating_inertia_factor, "must lie in [0, 1]");
    if (p->coastdown) {
        CHECK(p->A_N >= 0.0 && isfinite(p->A_N), "A_N", p->A_N, "must be >= 0");
        CHECK(isfinite(p->B_N_s_per_m), "B_N_s_per_m", p->B_N_s_per_m, "must be finite");
        CHECK(p->C_N_s2_per_m2 >= 0.0 && isfinite(p->C_N_s2_per_m2), "C_N_s2_per_m2", p->C_N_s2_per_m2,
              "must be >= 0");
    } else {
        CHECK(p->rolling_resistance_coefficient >= 0.0 && p->rolling_resistance_coefficient < 0.1,
              "rolling_resistance_coefficient", p->rolling_resistance_coefficient, "must lie in [0, 0.1)");
        CHECK(p->drag_area_m2 >= 0.0 && p->drag_area_m2 < 20.0, "drag_area_m2", p->drag_area_m2,
              "must lie in [0, 20)");
        CHECK(p->air_density_kg_per_m3 > 0.0 && p->air_density_kg_per_m3 < 2.0, "air_density_kg_per_m3",
              p->air_density_kg_per_m3, "must lie in (0, 2)");
    }
    CHECK(p->drivetrain_efficiency > 0.0 && p->drivetrain_efficiency <= 1.0, "drivetrain_efficiency",
          p->drivetrain_efficiency, "an efficiency must lie in (0, 1]");
    CHECK(p->motor_max_power_W > 0.0 && isfinite(p->motor_max_power_W), "motor_max_power_W", p->motor_max_power_W,
          "must be > 0");
    CHECK(p->motor_max_regen_power_W >= 0.0 && isfinite(p->motor_max_regen_power_W), "motor_max_regen_power_W",
          p->motor_max_regen_power_W, "must be >= 0");
    if (p->motor_n_points == 0) {
        CHECK(p->motor_efficiency > 0.0 && p->motor_efficiency <= 1.0, "motor_efficiency", p->motor_efficiency,
              "an efficiency must lie in (0, 1]");
    } else {
        if (p->motor_n_points < 2 || p->motor_n_points > VM_MAX_POINTS) {
            fail(err, errlen, "the motor efficiency curve has %d points; it needs 2 ... %d", p->motor_n_points,
                 VM_MAX_POINTS);
            return -1;
        }
        for (i = 0; i < p->motor_n_points; ++i) {
            double x = p->motor_efficiency_load_fraction[i], y = p->motor_efficiency_curve[i];
            if (!(y > 0.0 && y <= 1.0)) {
                fail(err, errlen, "parameter motor_efficiency_curve[%d] = %.17g is out of range: an efficiency must lie in (0, 1]",
                     i + 1, y);
                return -1;
            }
            if (!isfinite(x) || (i == 0 && !(x >= 0.0)) || (i > 0 && !(x > p->motor_efficiency_load_fraction[i - 1]))) {
                fail(err, errlen, "parameter motor_efficiency_load_fraction[%d] = %.17g is out of range: the load fractions must increase from >= 0",
                     i + 1, x);
                return -1;
            }
        }
    }
    CHECK(p->regen_max_fraction >= 0.0 && p->regen_max_fraction <= 1.0, "regen_max_fraction", p->regen_max_fraction,
          "must lie in [0, 1]");
    CHECK(p->regen_fade_start_speed_mps >= 0.0 && isfinite(p->regen_fade_start_speed_mps), "regen_fade_start_speed_mps",
          p->regen_fade_start_speed_mps, "must be >= 0");
    CHECK(p->regen_fade_end_speed_mps >= 0.0 && isfinite(p->regen_fade_end_speed_mps), "regen_fade_end_speed_mps",
          p->regen_fade_end_speed_mps, "must be >= 0");
    CHECK(p->regen_fade_end_speed_mps >= p->regen_fade_start_speed_mps, "regen_fade_end_speed_mps",
          p->regen_fade_end_speed_mps, "must be >= regen_fade_start_speed_mps");
    CHECK(p->auxiliary_power_W >= 0.0 && isfinite(p->auxiliary_power_W), "auxiliary_power_W", p->auxiliary_power_W,
          "must be >= 0");
    if (p->n_phases < 0 || p->n_phases > VM_MAX_PHASES) {
        fail(err, errlen, "%d cycle phases; at most %d", p->n_phases, VM_MAX_PHASES);
        return -1;
    }
    for (i = 0; i < p->n_phases; ++i) {
        if (!(p->phase_end_s[i] > p->phase_start_s[i])) {
            fail(err, errlen, "cycle phase %d ends (%g s) before it starts (%g s)", i + 1, p->phase_end_s[i],
                 p->phase_start_s[i]);
            return -1;
        }
    }
    return 0;
}

/* -- variables -------------------------------------------------------------------------- */

static int array_var(double *base, size_t n, unsigned id, unsigned base_id, int elementwise, VmKind kind,
                     const char *name, VmVariable *var)
{
    if (n == 0) return -1;
    if (!elementwise) {
        if (id != base_id) return -1;
        var->value = base;
        var->n = n;
    } else {
        if (id <= base_id || id > base_id + n) return -1;
        var->value = base + (id - base_id - 1);
        var->n = 1;
    }
    var->kind = kind;
    var->name = name;
    return 0;
}

int vm_variable(VmModel *m, unsigned id, int elementwise, VmVariable *var)
{
    VmParams *p = &m->p;
    VmOutputs *y = &m->y;
    double *v = NULL;
    VmKind kind = VM_KIND_PARAMETER;
    const char *name = NULL;
    if (id >= VM_ID_PHASE_ENERGY_PER_DISTANCE_WH_KM && id < VM_ID_MASS_KG)
        return array_var(y->phase_energy_per_distance_Wh_km, (size_t)p->n_phases, id,
                         VM_ID_PHASE_ENERGY_PER_DISTANCE_WH_KM, elementwise, VM_KIND_OUTPUT,
                         "phase_energy_per_distance_Wh_km", var);
    if (id >= VM_ID_MOTOR_EFFICIENCY_LOAD_FRACTION && id < VM_ID_MOTOR_EFFICIENCY_CURVE)
        return array_var(p->motor_efficiency_load_fraction, (size_t)p->motor_n_points, id,
                         VM_ID_MOTOR_EFFICIENCY_LOAD_FRACTION, elementwise, VM_KIND_PARAMETER,
                         "motor_efficiency_load_fraction", var);
    if (id >= VM_ID_MOTOR_EFFICIENCY_CURVE && id < VM_ID_FORWARD)
        return array_var(p->motor_efficiency_curve, (size_t)p->motor_n_points, id, VM_ID_MOTOR_EFFICIENCY_CURVE,
                         elementwise, VM_KIND_PARAMETER, "motor_efficiency_curve", var);
    switch (id) {
    case VM_ID_TIME: kind = VM_KIND_TIME; name = "time"; break;
    case VM_ID_AVAILABLE_DISCHARGE_POWER_W:
        v = &m->available_discharge_power_W; kind = VM_KIND_INPUT; name = "available_discharge_power_W"; break;
    case VM_ID_AVAILABLE_CHARGE_POWER_W:
        v = &m->available_charge_power_W; kind = VM_KIND_INPUT; name = "available_charge_power_W"; break;
    case VM_ID_BATTERY_POWER_LIMIT_W:
        v = &m->battery_power_limit_W; kind = VM_KIND_INPUT; name = "battery_power_limit_W"; break;
    case VM_ID_BATTERY_POWER_W: v = &y->battery_power_W; kind = VM_KIND_OUTPUT; name = "battery_power_W"; break;
    case VM_ID_TARGET_SPEED_MPS: v = &y->target_speed_mps; kind = VM_KIND_OUTPUT; name = "target_speed_mps"; break;
    case VM_ID_SPEED_MPS: v = &y->speed_mps; kind = VM_KIND_OUTPUT; name = "speed_mps"; break;
    case VM_ID_DISTANCE_M: v = &y->distance_m; kind = VM_KIND_OUTPUT; name = "distance_m"; break;
    case VM_ID_TRACTIVE_POWER_W: v = &y->tractive_power_W; kind = VM_KIND_OUTPUT; name = "tractive_power_W"; break;
    case VM_ID_BRAKING_POWER_W: v = &y->braking_power_W; kind = VM_KIND_OUTPUT; name = "braking_power_W"; break;
    case VM_ID_REGEN_POWER_W: v = &y->regen_power_W; kind = VM_KIND_OUTPUT; name = "regen_power_W"; break;
    case VM_ID_TRACE_MISS_MPS: v = &y->trace_miss_mps; kind = VM_KIND_OUTPUT; name = "trace_miss_mps"; break;
    case VM_ID_ENERGY_PER_DISTANCE_WH_KM:
        v = &y->energy_per_distance_Wh_km; kind = VM_KIND_OUTPUT; name = "energy_per_distance_Wh_km"; break;
    case VM_ID_MASS_KG: v = &p->mass_kg; name = "mass_kg"; break;
    case VM_ID_ROTATING_INERTIA_FACTOR: v = &p->rotating_inertia_factor; name = "rotating_inertia_factor"; break;
    case VM_ID_ROLLING_RESISTANCE_COEFFICIENT:
        if (p->coastdown) return -1;
        v = &p->rolling_resistance_coefficient; name = "rolling_resistance_coefficient"; break;
    case VM_ID_DRAG_AREA_M2:
        if (p->coastdown) return -1;
        v = &p->drag_area_m2; name = "drag_area_m2"; break;
    case VM_ID_AIR_DENSITY_KG_PER_M3:
        if (p->coastdown) return -1;
        v = &p->air_density_kg_per_m3; name = "air_density_kg_per_m3"; break;
    case VM_ID_A_N:
        if (!p->coastdown) return -1;
        v = &p->A_N; name = "A_N"; break;
    case VM_ID_B_N_S_PER_M:
        if (!p->coastdown) return -1;
        v = &p->B_N_s_per_m; name = "B_N_s_per_m"; break;
    case VM_ID_C_N_S2_PER_M2:
        if (!p->coastdown) return -1;
        v = &p->C_N_s2_per_m2; name = "C_N_s2_per_m2"; break;
    case VM_ID_DRIVETRAIN_EFFICIENCY: v = &p->drivetrain_efficiency; name = "drivetrain_efficiency"; break;
    case VM_ID_MOTOR_MAX_POWER_W: v = &p->motor_max_power_W; name = "motor_max_power_W"; break;
    case VM_ID_MOTOR_MAX_REGEN_POWER_W: v = &p->motor_max_regen_power_W; name = "motor_max_regen_power_W"; break;
    case VM_ID_MOTOR_EFFICIENCY:
        if (p->motor_n_points != 0) return -1;
        v = &p->motor_efficiency; name = "motor_efficiency"; break;
    case VM_ID_REGEN_MAX_FRACTION: v = &p->regen_max_fraction; name = "regen_max_fraction"; break;
    case VM_ID_REGEN_FADE_START_SPEED_MPS:
        v = &p->regen_fade_start_speed_mps; name = "regen_fade_start_speed_mps"; break;
    case VM_ID_REGEN_FADE_END_SPEED_MPS: v = &p->regen_fade_end_speed_mps; name = "regen_fade_end_speed_mps"; break;
    case VM_ID_AUXILIARY_POWER_W: v = &p->auxiliary_power_W; name = "auxiliary_power_W"; break;
    default: return -1;
    }
    var->value = v;
    var->n = 1;
    var->kind = kind;
    var->name = name;
    return 0;
}

/* -- the drive cycle -------------------------------------------------------------------- */

void vm_cycle_free(VmCycle *c)
{
    if (c == NULL) return;
    free(c->time_s);
    free(c->speed_mps);
    free(c->grade_rad);
    memset(c, 0, sizeof *c);
}

/* split a CSV line (no quoting needed for numbers) in place; returns the field count */
static int split_fields(char *line, char **fields, int max_fields)
{
    int n = 0;
    char *s = line;
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (len == 0) return 0;
    for (;;) {
        char *comma = strchr(s, ',');
        if (n == max_fields) return -1;
        fields[n++] = s;
        if (comma == NULL) break;
        *comma = '\0';
        s = comma + 1;
    }
    return n;
}

static char *strip(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t') ++s;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
    return s;
}

static int parse_number(char *s, double *out)
{
    char *end;
    s = strip(s);
    if (*s == '\0') return -1;
    *out = strtod(s, &end);
    return *end == '\0' ? 0 : -1;
}

int vm_cycle_load(VmCycle *c, const char *path, char *err, size_t errlen)
{
    FILE *f;
    char line[VM_LINE_LEN];
    char *fields[VM_MAX_COLUMNS];
    int col_t = -1, col_v = -1, col_grad = -1, col_gpct = -1, n_cols = 0, have_header = 0, i;
    size_t cap = 0, row = 0;
    double t0;
    memset(c, 0, sizeof *c);
    f = fopen(path, "r");
    if (f == NULL) {
        fail(err, errlen, "cannot open the drive cycle %s", path);
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        int n;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            fail(err, errlen, "%s: a line longer than %d characters", path, VM_LINE_LEN - 1);
            goto error;
        }
        n = split_fields(line, fields, VM_MAX_COLUMNS);
        if (n < 0) {
            fail(err, errlen, "%s: more than %d columns", path, VM_MAX_COLUMNS);
            goto error;
        }
        if (n == 0) continue;
        {
            char *first = fields[0];
            while (*first == ' ' || *first == '\t') ++first;
            if (*first == '#') continue;
        }
        if (!have_header) {
            for (i = 0; i < n; ++i) {
                char *h = strip(fields[i]);
                if (strcmp(h, "time_s") == 0) col_t = i;
                else if (strcmp(h, "speed_mps") == 0) col_v = i;
                else if (strcmp(h, "grade_rad") == 0) col_grad = i;
                else if (strcmp(h, "grade_percent") == 0) col_gpct = i;
            }
            if (col_t < 0 || col_v < 0) {
                fail(err, errlen, "%s: needs the columns time_s and speed_mps", path);
                goto error;
            }
            if (col_grad >= 0 && col_gpct >= 0) {
                fail(err, errlen, "%s: give grade_rad or grade_percent, not both", path);
                goto error;
            }
            n_cols = n;
            have_header = 1;
            continue;
        }
        if (n != n_cols) {
            fail(err, errlen, "%s: row %lu: %d fields, the header has %d", path, (unsigned long)(row + 1), n, n_cols);
            goto error;
        }
        if (row == cap) {
            size_t nc = cap ? 2 * cap : 2048;
            double *t = realloc(c->time_s, nc * sizeof *t);
            double *v, *g;
            if (t == NULL) goto nomem;
            c->time_s = t;
            v = realloc(c->speed_mps, nc * sizeof *v);
            if (v == NULL) goto nomem;
            c->speed_mps = v;
            g = realloc(c->grade_rad, nc * sizeof *g);
            if (g == NULL) goto nomem;
            c->grade_rad = g;
            cap = nc;
        }
        {
            double t, v, g = 0.0;
            if (parse_number(fields[col_t], &t) || parse_number(fields[col_v], &v) ||
                (col_grad >= 0 && parse_number(fields[col_grad], &g)) ||
                (col_gpct >= 0 && parse_number(fields[col_gpct], &g))) {
                fail(err, errlen, "%s: row %lu: a value is not a number", path, (unsigned long)(row + 1));
                goto error;
            }
            if (col_gpct >= 0) g = atan(g / 100.0);
            if (!isfinite(t) || !isfinite(v) || !isfinite(g)) {
                fail(err, errlen, "%s: row %lu: NaN or infinite value", path, (unsigned long)(row + 1));
                goto error;
            }
            if (v < 0.0) {
                fail(err, errlen, "%s: row %lu: negative speed %g m/s", path, (unsigned long)(row + 1), v);
                goto error;
            }
            if (fabs(g) >= 1.5707963267948966) {
                fail(err, errlen, "%s: row %lu: grade %g rad is not a road", path, (unsigned long)(row + 1), g);
                goto error;
            }
            if (row > 0 && !(t > c->time_s[row - 1])) {
                fail(err, errlen, "%s: row %lu: time_s %g does not increase", path, (unsigned long)(row + 1), t);
                goto error;
            }
            c->time_s[row] = t;
            c->speed_mps[row] = v;
            c->grade_rad[row] = g;
            ++row;
        }
    }
    fclose(f);
    f = NULL;
    if (!have_header) {
        fail(err, errlen, "%s: empty file", path);
        goto error;
    }
    if (row < 2) {
        fail(err, errlen, "%s: a cycle needs at least two rows", path);
        goto error;
    }
    c->n = row;
    t0 = c->time_s[0];
    for (row = 0; row < c->n; ++row) c->time_s[row] = c->time_s[row] - t0;
    return 0;
nomem:
    fail(err, errlen, "%s: out of memory", path);
error:
    if (f != NULL) fclose(f);
    vm_cycle_free(c);
    return -1;
}

/* -- the component (VehicleComponent) --------------------------------------------------- */

static void publish(VmModel *m, const VmCycle *c, double tl)
{
    VmState *s = &m->s;
    VmOutputs *y = &m->y;
    double vt = interp(tl, c->time_s, c->speed_mps, c->n);
    int k;
    y->target_speed_mps = vt;
    y->speed_mps = s->v_mps;
    y->distance_m = s->d_m;
    y->trace_miss_mps = vt - s->v_mps;
    y->energy_per_distance_Wh_km = s->d_m > 0 ? s->E_J / (3.6 * s->d_m) : 0.0;
    for (k = 0; k < m->p.n_phases; ++k)
        y->phase_energy_per_distance_Wh_km[k] = s->phase_d_m[k] > 0 ? s->phase_E_J[k] / (3.6 * s->phase_d_m[k]) : 0.0;
}

int vm_init(VmModel *m, const VmCycle *c, double t0, char *err, size_t errlen)
{
    const VmParams *p = &m->p;
    VmDerived *k = &m->k;
    Balance res;
    double v;
    int i;
    m->initialized = 0;
    if (c == NULL || c->n < 2) {
        fail(err, errlen, "no drive cycle loaded");
        return -1;
    }
    if (vm_check_params(p, err, errlen) != 0) return -1;
    if (!isfinite(t0)) {
        fail(err, errlen, "the start time %g is not finite", t0);
        return -1;
    }
    /* Vehicle.from_spec */
    k->m_eff_kg = p->mass_kg * (1.0 + p->rotating_inertia_factor);
    if (!p->coastdown) {
        k->a0_N = p->mass_kg * VM_G_MPS2 * p->rolling_resistance_coefficient;
        k->a1_N_s_per_m = 0.0;
        k->a2_N_s2_per_m2 = 0.5 * p->air_density_kg_per_m3 * p->drag_area_m2;
        k->a0_scales_with_cos = 1;
    } else {
        k->a0_N = p->A_N;
        k->a1_N_s_per_m = p->B_N_s_per_m;
        k->a2_N_s2_per_m2 = p->C_N_s2_per_m2;
        k->a0_scales_with_cos = 0;
    }
    k->phase_period_s = 0.0;
    for (i = 0; i < p->n_phases; ++i) k->phase_period_s = dmax(k->phase_period_s, p->phase_end_s[i]);
    /* _initialize */
    memset(&m->s, 0, sizeof m->s);
    m->s.t0 = t0;
    v = c->speed_mps[0];
    m->s.v_mps = v;
    res = power_balance(m, v, v, 1.0, c->grade_rad[0], INFINITY);
    m->y.battery_power_W = res.battery_W;
    m->y.tractive_power_W = res.tractive_W;
    m->y.braking_power_W = res.braking_W;
    m->y.regen_power_W = res.regen_W;
    publish(m, c, t0 - t0);
    m->initialized = 1;
    return 0;
}

/* VehicleComponent._phase_of: none once the cycle has ended and its last sample is held */
static int phase_of(const VmModel *m, const VmCycle *c, double tl)
{
    int k;
    if (tl >= c->time_s[c->n - 1]) return -1;
    tl = py_mod(tl, m->k.phase_period_s);
    for (k = 0; k < m->p.n_phases; ++k)
        if (m->p.phase_start_s[k] <= tl && tl < m->p.phase_end_s[k]) return k;
    return -1;
}

/* VehicleComponent._knots: first sample index strictly inside (a + 1e-12, b - 1e-12) */
static size_t first_knot(const VmCycle *c, double a)
{
    size_t lo = 0, hi = c->n; /* first index with time > a + 1e-12 */
    double x = a + 1e-12;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->time_s[mid] > x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* VehicleComponent._cap: 1 and the limit in *cap if battery_power_limit_W is one (|value|
 * below 0.1 x 1e12, not NaN), else 0 */
static int power_cap(const VmModel *m, double *cap)
{
    *cap = m->battery_power_limit_W;
    return fabs(*cap) < 0.1 * VM_UNLIMITED_W;
}

/* VehicleComponent._discharge_limit: the available discharge power, and the pack's limit of
 * this step where it bound on discharge (Python's min(limit, cap)) */
static double discharge_limit(const VmModel *m)
{
    double limit = m->available_discharge_power_W, cap;
    return power_cap(m, &cap) && cap >= 0.0 ? dmin(limit, cap) : limit;
}

/* VehicleComponent._charge_limit: the charge power (magnitude), likewise */
static double charge_limit(const VmModel *m)
{
    double limit = fabs(m->available_charge_power_W), cap;
    return power_cap(m, &cap) && cap <= 0.0 ? dmin(limit, -cap) : limit;
}

/* VehicleComponent._shortfall: backward mode counts a step whose mean discharge demand
 * `asked` exceeds the pack's limit and keeps the worst (shortfall, t, asked, limit) */
static void shortfall(const VmModel *m, VmState *s, double asked, double t)
{
    double cap;
    if (!power_cap(m, &cap) || cap < 0.0 || asked <= cap * (1.0 + 1e-9) + 1e-9) return;
    s->short_n += 1;
    if (asked - cap > s->short_worst_W) {
        s->short_worst_W = asked - cap;
        s->short_t_s = t;
        s->short_asked_W = asked;
        s->short_limit_W = cap;
    }
}

/* the step's powers: sums of power x duration (battery, tractive, braking, regen) over h */
static void mean_powers(VmOutputs *y, const double sum[4], double h)
{
    y->battery_power_W = sum[0] / h;
    y->tractive_power_W = sum[1] / h;
    y->braking_power_W = sum[2] / h;
    y->regen_power_W = sum[3] / h;
}

int vm_do_step(VmModel *m, const VmCycle *c, double t, double h, char *err, size_t errlen)
{
    const VmParams *p = &m->p;
    VmState *s = &m->s;
    double a, b, charge, E_old, d_old, E_new, d_new, v_new;
    double sum[4] = {0.0, 0.0, 0.0, 0.0};
    size_t next;
    double ta;
    if (!m->initialized) {
        fail(err, errlen, "the model is not initialized");
        return -1;
    }
    if (!(h > 0.0) || !isfinite(h) || !isfinite(t)) {
        fail(err, errlen, "a step needs a finite t and h > 0 (t = %g, h = %g)", t, h);
        return -1;
    }
    a = t - s->t0;
    b = (t + h) - s->t0;
    charge = charge_limit(m);
    E_old = s->E_J;
    d_old = s->d_m;
    next = first_knot(c, a);
    ta = a;
    if (!p->forward) {
        /* backward: the trace followed exactly over the pieces between cycle samples;
         * sums of value x duration in the order of numpy.dot */
        double dist = 0.0, va = interp(ta, c->time_s, c->speed_mps, c->n);
        double ga = interp(ta, c->time_s, c->grade_rad, c->n);
        for (;;) {
            int last = !(next < c->n && c->time_s[next] < b - 1e-12);
            double tb = last ? b : c->time_s[next];
            double dt = tb - ta;
            double vb = interp(tb, c->time_s, c->speed_mps, c->n);
            double gb = interp(tb, c->time_s, c->grade_rad, c->n);
            Balance r = power_balance(m, va, vb, dt, 0.5 * (gb + ga), charge);
            double vbar = 0.5 * (vb + va);
            if (ta == a) {
                sum[0] = r.battery_W * dt;
                sum[1] = r.tractive_W * dt;
                sum[2] = r.braking_W * dt;
                sum[3] = r.regen_W * dt;
                dist = vbar * dt;
            } else {
                sum[0] += r.battery_W * dt;
                sum[1] += r.tractive_W * dt;
                sum[2] += r.braking_W * dt;
                sum[3] += r.regen_W * dt;
                dist += vbar * dt;
            }
            if (last) {
                v_new = vb;
                break;
            }
            ta = tb;
            va = vb;
            ga = gb;
            ++next;
        }
        mean_powers(&m->y, sum, h);
        d_new = d_old + dist;
        E_new = E_old + m->y.battery_power_W * h;
        shortfall(m, s, m->y.battery_power_W, t + h);
    } else {
        /* forward (_forward): the driver aims at the trace's speed at each piece's end; the
         * battery power is capped by the discharge limit (and the pack's limit of this step)
         * and the motor's peak */
        double limit = discharge_limit(m);
        double v0 = s->v_mps, d = d_old, cap, P, held;
        for (;;) {
            int last = !(next < c->n && c->time_s[next] < b - 1e-12);
            double tb_knot = last ? b : c->time_s[next];
            double dt = tb_knot - ta;
            double tb = ta + dt;
            double vt = interp(tb, c->time_s, c->speed_mps, c->n);
            double g = 0.5 * (interp(ta, c->time_s, c->grade_rad, c->n) + interp(tb, c->time_s, c->grade_rad, c->n));
            Balance r = power_balance(m, v0, vt, dt, g, charge);
            double shaft = r.tractive_W / p->drivetrain_efficiency;
            double v1 = vt;
            if (r.battery_W > limit || shaft > p->motor_max_power_W) {
                double wheel_max = wheel_budget(p, limit) * p->drivetrain_efficiency;
                v1 = solve_speed(m, v0, dt, g, wheel_max, vt);
                r = power_balance(m, v0, v1, dt, g, charge);
            }
            sum[0] += r.battery_W * dt;
            sum[1] += r.tractive_W * dt;
            sum[2] += r.braking_W * dt;
            sum[3] += r.regen_W * dt;
            d += 0.5 * (v0 + v1) * dt;
            v0 = v1;
            if (last) break;
            ta = tb_knot;
            ++next;
        }
        mean_powers(&m->y, sum, h);
        /* held at the pack's limit (the speed solve leaves ~1e-9) or above it (the rest of the
         * aux load shed): the battery gives exactly the limit; the mirror on charge */
        P = m->y.battery_power_W;
        if (power_cap(m, &cap)) {
            held = cap * (1.0 - 1e-6);
            if (P >= 0.0 ? (P >= held && held >= 0.0) : (P <= held && held <= 0.0)) m->y.battery_power_W = cap;
        }
        v_new = v0;
        d_new = d;
        E_new = E_old + m->y.battery_power_W * h;
    }
    if (p->n_phases > 0) { /* the step's energy and distance go to the phase of its midpoint */
        int k = phase_of(m, c, 0.5 * (a + b));
        if (k >= 0) {
            s->phase_E_J[k] += E_new - E_old;
            s->phase_d_m[k] += d_new - d_old;
        }
    }
    s->v_mps = v_new;
    s->d_m = d_new;
    s->E_J = E_new;
    publish(m, c, b);
    return 0;
}
