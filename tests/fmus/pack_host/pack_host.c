/* A minimal FMI 2.0 co-simulation host in C (no Python), for tests/test_pack_fmu_export.py:
 * loads an exported pack FMU's Linux binary with dlopen, instantiates it TWICE and steps both
 * instances side by side (interleaved, one communication step each in turn) through the
 * inputs of a cross-check _in.csv, writing the outputs asked for after every step.
 *
 *   pack_host LIBRARY RESOURCE_URI GUID IN_CSV OUT_PREFIX VR...
 *
 * IN_CSV: a header, then rows "time,u1,u2,u3,u4" (the inputs with value references 1..4);
 * the inputs of row i are set before the step from its time to the next row's. Writes
 * OUT_PREFIX_a.csv and OUT_PREFIX_b.csv: "time,<vr>,..." after initialization and after
 * every step. Exit status 0, or 1 with a message on stderr. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"

#define MAX_ROWS 200000
#define N_IN 4

static void logger(fmi2ComponentEnvironment env, fmi2String name, fmi2Status status, fmi2String category,
                   fmi2String message, ...)
{
    va_list ap;
    (void)env;
    if (status == fmi2OK) return;
    fprintf(stderr, "[%s] %s: ", name, category);
    va_start(ap, message);
    vfprintf(stderr, message, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int fail(const char *what)
{
    fprintf(stderr, "pack_host: %s\n", what);
    return 1;
}

#define LOAD(name) fmi2##name##TYPE *name = (fmi2##name##TYPE *)dlsym(lib, "fmi2" #name)

int main(int argc, char **argv)
{
    void *lib;
    FILE *in, *out[2];
    char line[4096];
    static double rows[MAX_ROWS][1 + N_IN];
    size_t n_rows = 0, i, k, n_vr;
    fmi2ValueReference *vr, in_vr[N_IN] = {1, 2, 3, 4};
    fmi2Real *values;
    fmi2Component c[2];
    fmi2CallbackFunctions cb = {logger, calloc, free, NULL, NULL};
    if (argc < 7) return fail("usage: pack_host LIBRARY RESOURCE_URI GUID IN_CSV OUT_PREFIX VR...");
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) return fail(dlerror());
    {
        LOAD(Instantiate); LOAD(SetupExperiment); LOAD(EnterInitializationMode); LOAD(ExitInitializationMode);
        LOAD(SetReal); LOAD(GetReal); LOAD(DoStep); LOAD(Terminate); LOAD(FreeInstance);
        if (!Instantiate || !SetupExperiment || !EnterInitializationMode || !ExitInitializationMode || !SetReal ||
            !GetReal || !DoStep || !Terminate || !FreeInstance)
            return fail("a required fmi2 function is missing");
        in = fopen(argv[4], "r");
        if (in == NULL || fgets(line, sizeof line, in) == NULL) return fail("cannot read IN_CSV");
        while (n_rows < MAX_ROWS && fgets(line, sizeof line, in) != NULL) {
            char *p = line;
            for (k = 0; k < 1 + N_IN; ++k) {
                rows[n_rows][k] = strtod(p, &p);
                if (*p == ',') ++p;
            }
            ++n_rows;
        }
        fclose(in);
        if (n_rows < 2) return fail("IN_CSV needs two rows at least");
        n_vr = (size_t)(argc - 6);
        vr = (fmi2ValueReference *)calloc(n_vr, sizeof *vr);
        values = (fmi2Real *)calloc(n_vr, sizeof *values);
        for (k = 0; k < n_vr; ++k) vr[k] = (fmi2ValueReference)strtoul(argv[6 + k], NULL, 10);
        for (k = 0; k < 2; ++k) {
            char path[4096];
            snprintf(path, sizeof path, "%s_%c.csv", argv[5], k == 0 ? 'a' : 'b');
            out[k] = fopen(path, "w");
            if (out[k] == NULL) return fail("cannot write an output file");
            c[k] = Instantiate(k == 0 ? "a" : "b", fmi2CoSimulation, argv[3], argv[2], &cb, fmi2False, fmi2False);
            if (c[k] == NULL) return fail("fmi2Instantiate failed");
            if (SetupExperiment(c[k], fmi2False, 0.0, rows[0][0], fmi2False, 0.0) != fmi2OK ||
                EnterInitializationMode(c[k]) != fmi2OK || SetReal(c[k], in_vr, N_IN, &rows[0][1]) != fmi2OK ||
                ExitInitializationMode(c[k]) != fmi2OK)
                return fail("initialization failed");
        }
        for (i = 0; i < n_rows; ++i) {
            for (k = 0; k < 2; ++k) {
                size_t j;
                if (i > 0) {
                    double t = rows[i - 1][0], h = rows[i][0] - rows[i - 1][0];
                    if (SetReal(c[k], in_vr, N_IN, &rows[i - 1][1]) != fmi2OK ||
                        DoStep(c[k], t, h, fmi2True) != fmi2OK)
                        return fail("a step failed");
                }
                if (GetReal(c[k], vr, n_vr, values) != fmi2OK) return fail("fmi2GetReal failed");
                fprintf(out[k], "%.17g", rows[i][0]);
                for (j = 0; j < n_vr; ++j) fprintf(out[k], ",%.17g", values[j]);
                fputc('\n', out[k]);
            }
        }
        for (k = 0; k < 2; ++k) {
            Terminate(c[k]);
            FreeInstance(c[k]);
            fclose(out[k]);
        }
        free(vr);
        free(values);
    }
    dlclose(lib);
    return 0;
}
