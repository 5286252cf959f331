/* me2_tiny - FMI 2.0 model exchange test fixture: me2_decay on a tiny scale, x0 = 1e-9 with
 * the state's nominal value 1e-9: an importer that ignores the nominal loses all accuracy. */
#define FX_MODEL_IDENTIFIER "me2_tiny"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40121}"
#define FX_NOMINAL(d, i) 1e-9
#define DECAY_X0 1e-9
#include "../me2_decay/me2_decay.c"
