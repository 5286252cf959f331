/* me3_discrete - FMI 3.0 model exchange test fixture: me3_array with u a discrete input,
 * which may be set only in initialization and event mode (FMI 3.0.2 section 3.2.4: the
 * importer must enter event mode when it changes u). */
#define FX_MODEL_IDENTIFIER "me3_discrete"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40119}"
#define ARRAY_U_KIND FX_DISCRETE_INPUT
#include "../me3_array/me3_array.c"
