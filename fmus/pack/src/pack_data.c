/* The resource file of the pack FMU (written by cosim/pack/export_data.py, format in its
 * docstring) and numpy-like reductions with numpy's rounding (pairwise sums). */
#include "pack_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *pm_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size); }

/* Python's min(a, b) and max(a, b): b if b < a (b > a) else a */
double py_min(double a, double b) { return b < a ? b : a; }
double py_max(double a, double b) { return b > a ? b : a; }

/* numpy's pairwise summation (loops_utils.h: DOUBLE_pairwise_sum), as np.add.reduce of a
 * contiguous or strided run of n doubles */
double np_sum_strided(const double *a, int64_t n, int64_t stride)
{
    if (n < 8) {
        double res = 0.0;
        int64_t i;
        for (i = 0; i < n; i++) res += a[i * stride];
        return res;
    } else if (n <= 128) {
        double r[8], res;
        int64_t i, k;
        for (k = 0; k < 8; k++) r[k] = a[k * stride];
        for (i = 8; i < n - (n % 8); i += 8)
            for (k = 0; k < 8; k++) r[k] += a[(i + k) * stride];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i * stride];
        return res;
    } else {
        int64_t n2 = n / 2;
        n2 -= n2 % 8;
        return np_sum_strided(a, n2, stride) + np_sum_strided(a + n2 * stride, n - n2, stride);
    }
}

double np_sum(const double *a, int64_t n) { return np_sum_strided(a, n, 1); }

/* np.min / np.max: NaN if any is NaN */
double np_min(const double *a, int64_t n)
{
    double m = a[0];
    int64_t i;
    for (i = 0; i < n; i++) {
        if (a[i] != a[i]) return a[i];
        if (a[i] < m) m = a[i];
    }
    return m;
}

double np_max(const double *a, int64_t n)
{
    double m = a[0];
    int64_t i;
    for (i = 0; i < n; i++) {
        if (a[i] != a[i]) return a[i];
        if (a[i] > m) m = a[i];
    }
    return m;
}

int all_finite(const double *a, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* assembly.Layout.where */
void pm_where(const PmPack *p, int64_t cell, char *buf, size_t n)
{
    int64_t s = cell / (p->K * p->Lay), k = (cell / p->Lay) % p->K, l = cell % p->Lay;
    snprintf(buf, n, "string %lld, stack %lld, layer %lld", (long long)s, (long long)k, (long long)l);
}

const PmArray *pm_find(const PmPack *p, const char *name)
{
    int64_t i;
    for (i = 0; i < p->n_arrays; i++)
        if (strcmp(p->arrays[i].name, name) == 0) return &p->arrays[i];
    return NULL;
}

/* one header line "name dtype count" (at most len - 1 characters); 0 at the end of the file */
static int read_line(FILE *f, char *line, size_t len)
{
    size_t k = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (k + 1 >= len) return -1;
        line[k++] = (char)ch;
    }
    line[k] = '\0';
    if (ch == EOF && k == 0) return 0;
    return 1;
}

/* little-endian bytes to a double / int64 (the file is little-endian whatever the host) */
static void decode(unsigned char *bytes, int64_t count, int is_int)
{
    int64_t i;
    for (i = 0; i < count; i++) {
        unsigned char *b = bytes + 8 * i;
        uint64_t u = 0;
        int k;
        for (k = 7; k >= 0; k--) u = (u << 8) | b[k];
        if (is_int) {
            int64_t v = (int64_t)u;
            memcpy(b, &v, 8);
        } else {
            double v;
            memcpy(&v, &u, 8);
            memcpy(b, &v, 8);
        }
    }
}

int pm_read_file(PmPack *p, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    char line[160];
    int64_t cap = 0;
    if (f == NULL) {
        snprintf(err, err_size, "cannot open the pack resource file %s", path);
        return -1;
    }
    if (read_line(f, line, sizeof line) != 1 || strcmp(line, "COSIM-PACK 1") != 0) {
        snprintf(err, err_size, "%s is not a pack resource file (version 1)", path);
        fclose(f);
        return -1;
    }
    for (;;) {
        char name[64], dtype[8];
        long long count;
        PmArray *a;
        int r = read_line(f, line, sizeof line);
        if (r < 0 || (r == 0)) {
            snprintf(err, err_size, "%s: truncated (no 'end' line)", path);
            fclose(f);
            return -1;
        }
        if (strcmp(line, "end") == 0) break;
        if (sscanf(line, "%63s %7s %lld", name, dtype, &count) != 3 || count < 0
            || (strcmp(dtype, "f8") != 0 && strcmp(dtype, "i8") != 0)) {
            snprintf(err, err_size, "%s: bad array header '%s'", path, line);
            fclose(f);
            return -1;
        }
        if (p->n_arrays == cap) {
            PmArray *grown;
            cap = cap ? 2 * cap : 64;
            grown = (PmArray *)realloc(p->arrays, sizeof(PmArray) * (size_t)cap);
            if (grown == NULL) {
                snprintf(err, err_size, "out of memory reading %s", path);
                fclose(f);
                return -1;
            }
            p->arrays = grown;
        }
        a = &p->arrays[p->n_arrays];
        memset(a, 0, sizeof *a);
        strcpy(a->name, name);
        a->is_int = dtype[0] == 'i';
        a->count = count;
        a->data = pm_calloc((size_t)count, 8);
        if (a->data == NULL) {
            snprintf(err, err_size, "out of memory reading %s", path);
            fclose(f);
            return -1;
        }
        p->n_arrays++;
        if (fread(a->data, 8, (size_t)count, f) != (size_t)count || fgetc(f) != '\n') {
            snprintf(err, err_size, "%s: array %s truncated", path, name);
            fclose(f);
            return -1;
        }
        decode((unsigned char *)a->data, count, a->is_int);
    }
    fclose(f);
    return 0;
}
