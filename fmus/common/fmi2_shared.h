/* What the FMI 2.0 co-simulation wrappers of cosim's FMUs (fmi2_vehicle.c, fmi2_pack.c)
 * share: the logger call, the resource URI, and the functions they do not offer (input and
 * output derivatives, directional derivatives, asynchronous steps, the status queries other
 * than fmi2LastSuccessfulTime and fmi2Terminated), in fmi2_shared.c. */
#ifndef FMI2_SHARED_H
#define FMI2_SHARED_H

#include <stddef.h>

#include "fmi2Functions.h"

/* Provided by the wrapper: log "fn: why" as an error of the instance c (nothing for NULL). */
void fmi2_not_offered(fmi2Component c, const char *fn, const char *why);

/* Pass a message to the importer's logger (printf-style: every '%' doubled, so that loggers
 * that print the format unformatted show it as well); nothing without a logger. */
void fmi2_log(const fmi2CallbackFunctions *cb, const char *instance_name, fmi2Status status, const char *category,
              const char *msg);

/* The file `file` in the resources folder of fmuResourceLocation (file:///dir, file:/dir or
 * file://localhost/dir, percent-encoded; file:///C:/dir on Windows) into out (n bytes);
 * `file` "" gives the folder with a trailing '/'. 0, or -1 for another URI or too long. */
int fmi2_resource_path(const char *uri, const char *file, char *out, size_t n);

#endif
