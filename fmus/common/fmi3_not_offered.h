/* What an FMI 3.0 wrapper of cosim provides to fmi3_not_offered.c (the functions its FMU does
 * not offer): log "fn: not supported by this FMU ..." for the instance and return fmi3Error
 * (fmi3Error, without logging, for a NULL instance). */
#ifndef FMI3_NOT_OFFERED_H
#define FMI3_NOT_OFFERED_H

#include "fmi3Functions.h"

fmi3Status fmi3_not_offered(fmi3Instance instance, const char *fn);

#endif
