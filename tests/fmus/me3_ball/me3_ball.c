/* me3_ball - FMI 3.0 model exchange test fixture: the bouncing ball of me2_ball (one event
 * indicator z = h; at a bounce v = -e*v and bounces += 1; below 1 mm/s it comes to rest). */
#define FX_FMI_VERSION 3
#define FX_INTERFACE FX_ME
#define FX_MODEL_IDENTIFIER "me3_ball"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40105}"
#define FX_NSTATES 2
#define FX_NINDICATORS 1

enum { H, DER_H, V, DER_V, G, E, BOUNCES, NSLOTS };
#define FX_NSLOTS NSLOTS

#include "fixture.h"

/* value reference 0 is the independent variable time; the others are slot + 1 */
static const FxVar variables[] = {
    {0, -1, 1, FX_INDEPENDENT, "time"},
    {1, H, 1, FX_EXACT_STATE, "h"},
    {2, DER_H, 1, FX_CALCULATED, "der(h)"},
    {3, V, 1, FX_EXACT_STATE, "v"},
    {4, DER_V, 1, FX_CALCULATED, "der(v)"},
    {5, G, 1, FX_PARAMETER, "g"},
    {6, E, 1, FX_PARAMETER, "e"},
    {7, BOUNCES, 1, FX_CALCULATED, "bounces"},
};

static const FxVar *fx_variables(size_t *n) {
    *n = sizeof variables / sizeof variables[0];
    return variables;
}

#include "ball.h"
