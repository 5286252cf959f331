/* me3_float32 - FMI 3.0 model exchange test fixture: me3_array with u a continuous Float32
 * input (a change of it is a discontinuity the importer must see like a Float64 one's). */
#define FX_MODEL_IDENTIFIER "me3_float32"
#define FX_TOKEN "{5f0c1f7e-3b1a-4d62-9a57-c2b8e6d40123}"
#define ARRAY_U_FLOAT32 1
#include "../me3_array/me3_array.c"
