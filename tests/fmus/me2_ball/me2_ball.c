/* me2_ball - FMI 2.0 model exchange test fixture: a bouncing ball with one event indicator
 * z = h; at a bounce v = -e*v and bounces += 1; below 1 mm/s it comes to rest. */
#define FX_FMI_VERSION 2
#define FX_INTERFACE FX_ME
#define FX_MODEL_IDENTIFIER "me2_ball"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40104}"
#define FX_NSTATES 2
#define FX_NINDICATORS 1

enum { H, DER_H, V, DER_V, G, E, BOUNCES, NSLOTS };
#define FX_NSLOTS NSLOTS

#include "fixture.h"

static const FxVar variables[] = {
    {H, H, 1, FX_EXACT_STATE, "h"},
    {DER_H, DER_H, 1, FX_CALCULATED, "der(h)"},
    {V, V, 1, FX_EXACT_STATE, "v"},
    {DER_V, DER_V, 1, FX_CALCULATED, "der(v)"},
    {G, G, 1, FX_PARAMETER, "g"},
    {E, E, 1, FX_PARAMETER, "e"},
    {BOUNCES, BOUNCES, 1, FX_CALCULATED, "bounces"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

#include "ball.h"
