/*
 * typed.h - variables of every FMI type for the test fixtures (include after fixture.h).
 *
 * The fixture defines FX_TYPED, the storage type FxTyped below (through FX_TYPED_N, the
 * number of values of each kind) before including fixture.h, and a table
 *
 *   static const FxTypedVar typed_vars[] = {{vr, TY_..., slot}, ...};
 *
 * for its non-float64 variables (their FxVar entries give name and kind as usual; float64
 * variables stay in FxData.r). fx_typed checks the type of every value reference against
 * the FMI function (fmi2GetInteger, fmi3SetUInt64, ...) and copies between the caller's
 * array and the storage: signed integers in x.i, unsigned in x.u, booleans in x.b, Float32
 * in x.f, strings (up to 63 bytes) in x.s.
 */
#ifndef COSIM_TYPED_H
#define COSIM_TYPED_H

enum { TY_F32, TY_I8, TY_U8, TY_I16, TY_U16, TY_I32, TY_U32, TY_I64, TY_U64, TY_BOOL, TY_STR, TY_NTYPES };
static const char *const ty_names[TY_NTYPES] = {
    "Float32", "Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Boolean", "String"};

typedef struct {
    unsigned vr;
    int type;
    int slot;
} FxTypedVar;

static const FxTypedVar *fx_typed_vars(size_t *n);

static int ty_of_function(const char *fn) {
    const char *suffix = fn + 7; /* after "fmi2Get" / "fmi3Set" */
    int t;
#if FX_FMI_VERSION == 2
    if (strcmp(suffix, "Integer") == 0) return TY_I32;
#endif
    for (t = 0; t < TY_NTYPES; t++)
        if (strcmp(suffix, ty_names[t]) == 0) return t;
    return -1;
}

static const FxTypedVar *ty_lookup(unsigned vr) {
    size_t n, k;
    const FxTypedVar *vars = fx_typed_vars(&n);
    for (k = 0; k < n; k++)
        if (vars[k].vr == vr) return &vars[k];
    return NULL;
}

static int fx_typed(FxInstance *m, const char *fn, int set, const unsigned vr[], size_t nvr,
                    void *values, size_t nvalues) {
    size_t i;
    int type = ty_of_function(fn);
    FxTyped *x = &m->d.x;
    if (!fx_check(m, fn, set ? (FX_INSTANTIATED | FX_INITIALIZATION | FX_RUNNING) : FX_NOT_FATAL))
        return FX_ERROR;
    if (nvalues != nvr) {
        fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: arrays are not supported (nValues=%lu)", fn,
               (unsigned long)nvalues);
        return FX_ERROR;
    }
    for (i = 0; i < nvr; i++) { /* check everything before changing anything */
        const FxTypedVar *t = ty_lookup(vr[i]);
        const FxVar *v = fx_lookup(vr[i]);
        if (t == NULL || v == NULL || t->type != type) {
            fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: value reference %u is not a %s variable", fn, vr[i],
                   type >= 0 ? ty_names[type] : "?");
            return FX_ERROR;
        }
        if (set && !fx_may_set(m, fn, v)) return FX_ERROR;
    }
    if (!set && nvr > 0) fx_refresh(m);
    for (i = 0; i < nvr; i++) {
        int s = ty_lookup(vr[i])->slot;
        switch (type) {
#define TY_CASE(code, T, store)                                      \
    case code:                                                       \
        if (set) store = ((const T *)values)[i];                     \
        else ((T *)values)[i] = (T)store;                            \
        break;
        TY_CASE(TY_F32, float, x->f[s])
        TY_CASE(TY_I8, signed char, x->i[s])
        TY_CASE(TY_U8, unsigned char, x->u[s])
        TY_CASE(TY_I16, short, x->i[s])
        TY_CASE(TY_U16, unsigned short, x->u[s])
        TY_CASE(TY_I32, int, x->i[s])
        TY_CASE(TY_U32, unsigned int, x->u[s])
        TY_CASE(TY_I64, long long, x->i[s])
        TY_CASE(TY_U64, unsigned long long, x->u[s])
#if FX_FMI_VERSION == 2
        TY_CASE(TY_BOOL, int, x->b[s])
#else
        TY_CASE(TY_BOOL, bool, x->b[s])
#endif
#undef TY_CASE
        case TY_STR:
            if (set) {
                const char *text = ((const char *const *)values)[i];
                if (text == NULL || strlen(text) >= sizeof x->s[s]) {
                    fx_log(m, FX_ERROR, FX_LOG_ERROR, "%s: string too long or NULL", fn);
                    return FX_ERROR;
                }
                strcpy(x->s[s], text);
            } else {
                ((const char **)values)[i] = x->s[s];
            }
            break;
        }
    }
    return FX_OK;
}

#endif /* COSIM_TYPED_H */
