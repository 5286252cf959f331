/* me2_rescale - FMI 2.0 model exchange test fixture: me2_decay whose state changes scale at
 * the time event t = 1 s: x is multiplied by 1e-9 and its nominal goes from 1 to 1e-9
 * (nominalsOfContinuousStatesChanged): an importer that keeps the old nominal integrates
 * the rest with an absolute tolerance far above x. */
#define FX_MODEL_IDENTIFIER "me2_rescale"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40125}"
#define DECAY_T_SWITCH 1.0
#define DECAY_RESCALE 1e-9
#define FX_NOMINAL(d, i) ((d)->flag[0] ? 1e-9 : 1.0) /* flag 0: SWITCHED of me2_decay.c */
#include "../me2_decay/me2_decay.c"
