/* What the FMI 2.0 wrappers of cosim's FMUs share; see fmi2_shared.h. */
#include "fmi2_shared.h"

#include <string.h>

#define MSG_LEN 2048 /* longest message passed on, with its terminating 0 */

void fmi2_log(const fmi2CallbackFunctions *cb, const char *instance_name, fmi2Status status, const char *category,
              const char *msg)
{
    char fmt[2 * MSG_LEN + 1];
    size_t k = 0;
    if (cb == NULL || cb->logger == NULL) return;
    for (; *msg != '\0' && k + 2 < sizeof fmt; ++msg) {
        if (*msg == '%') fmt[k++] = '%';
        fmt[k++] = *msg;
    }
    fmt[k] = '\0';
    cb->logger(cb->componentEnvironment, instance_name, status, category, fmt);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int fmi2_resource_path(const char *uri, const char *file, char *out, size_t n)
{
    const char *p;
    size_t k = 0;
    if (uri == NULL) return -1;
    if (strncmp(uri, "file://localhost/", 17) == 0) p = uri + 16;
    else if (strncmp(uri, "file:///", 8) == 0) p = uri + 7;
    else if (strncmp(uri, "file:/", 6) == 0 && uri[6] != '/') p = uri + 5;
    else return -1;
    if (p[0] == '/' && p[1] != '\0' && p[2] == ':') ++p; /* file:///C:/dir on Windows */
    for (; *p != '\0'; ++p) {
        char c = *p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (k + 1 >= n) return -1;
        out[k++] = c;
    }
    if (k > 0 && out[k - 1] != '/' && out[k - 1] != '\\') {
        if (k + 1 >= n) return -1;
        out[k++] = '/';
    }
    if (k + strlen(file) + 1 > n) return -1;
    memcpy(out + k, file, strlen(file) + 1);
    return 0;
}

/* -- not offered ------------------------------------------------------------------------------ */

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }

const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference vUnknown_ref[], size_t nUnknown,
                                        const fmi2ValueReference vKnown_ref[], size_t nKnown,
                                        const fmi2Real dvKnown[], fmi2Real dvUnknown[])
{
    (void)vUnknown_ref; (void)nUnknown; (void)vKnown_ref; (void)nKnown; (void)dvKnown; (void)dvUnknown;
    fmi2_not_offered(c, "fmi2GetDirectionalDerivative", "not provided by this FMU");
    return fmi2Error;
}

fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[])
{
    (void)vr; (void)nvr; (void)order; (void)value;
    fmi2_not_offered(c, "fmi2SetRealInputDerivatives", "the inputs are held constant over a step");
    return fmi2Error;
}

fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[])
{
    (void)vr; (void)nvr; (void)order; (void)value;
    fmi2_not_offered(c, "fmi2GetRealOutputDerivatives", "not provided by this FMU");
    return fmi2Error;
}

fmi2Status fmi2CancelStep(fmi2Component c)
{
    fmi2_not_offered(c, "fmi2CancelStep", "steps are never asynchronous in this FMU");
    return fmi2Error;
}

/* the status queries the wrappers do not answer (they answer fmi2GetRealStatus and
 * fmi2GetBooleanStatus) */
#define NO_STATUS(fn, T)                                             \
    fmi2Status fn(fmi2Component c, const fmi2StatusKind s, T *value) \
    {                                                                \
        (void)s; (void)value;                                        \
        return c == NULL ? fmi2Error : fmi2Discard;                  \
    }

NO_STATUS(fmi2GetStatus, fmi2Status)
NO_STATUS(fmi2GetIntegerStatus, fmi2Integer)
NO_STATUS(fmi2GetStringStatus, fmi2String)
