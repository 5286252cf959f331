/* me2_discrete - FMI 2.0 model exchange test fixture: me2_decay with u a discrete input,
 * which may be set only in initialization and event mode (the importer must enter event
 * mode when it changes u). */
#define FX_MODEL_IDENTIFIER "me2_discrete"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40117}"
#define DECAY_U_KIND FX_DISCRETE_INPUT
#include "../me2_decay/me2_decay.c"
