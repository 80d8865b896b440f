#include "irn_kernels.h"
#include <math.h>

// No contraction into fused multiply-adds: every build and every CPU path must give the
// same bits (single-process training and the cluster are compared tensor for tensor).
#pragma STDC FP_CONTRACT OFF

typedef float irn_v8 __attribute__((ext_vector_type(8)));
// The same vector at float alignment, for unaligned loads and stores through pointers.
typedef float irn_v8u __attribute__((ext_vector_type(8), aligned(4)));
#define LOAD8(p) (*(const irn_v8u *)(p))
#define STORE8(p, x) (*(irn_v8u *)(p) = (x))

// The scalar tail uses the same operations in the same order as the vector body.
static inline void update_one(float *theta, float *m, float *v, float g, const irn_adam_step *c) {
    float mj = c->beta1 * *m + (1.0f - c->beta1) * g;
    float vj = c->beta2 * *v + ((1.0f - c->beta2) * g) * g;
    *m = mj;
    *v = vj;
    *theta -= (c->learning_rate * (mj / c->c1)) / (__builtin_elementwise_sqrt(vj / c->c2) + c->epsilon);
}

#if defined(__x86_64__) && defined(__linux__)
// Wider vectors where the CPU has them; the default clone is SSE2. Same operations, same bits.
#define IRN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define IRN_CLONES
#endif

IRN_CLONES
void irn_adam_update(float *theta, float *m, float *v, const float *g, size_t n, const irn_adam_step *c) {
    const irn_v8 b1 = c->beta1, b2 = c->beta2, a1 = 1.0f - c->beta1, a2 = 1.0f - c->beta2;
    const irn_v8 lr = c->learning_rate, c1 = c->c1, c2 = c->c2, eps = c->epsilon;
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        irn_v8 gj = LOAD8(g + j);
        irn_v8 mj = b1 * LOAD8(m + j) + a1 * gj;
        irn_v8 vj = b2 * LOAD8(v + j) + (a2 * gj) * gj;
        STORE8(m + j, mj);
        STORE8(v + j, vj);
        STORE8(theta + j, LOAD8(theta + j) - (lr * (mj / c1)) / (__builtin_elementwise_sqrt(vj / c2) + eps));
    }
    for (; j < n; j++) update_one(theta + j, m + j, v + j, g[j], c);
}

IRN_CLONES
void irn_adam_decay(float *theta, float *m, float *v, size_t n, const irn_adam_step *c) {
    const irn_v8 b1 = c->beta1, b2 = c->beta2;
    const irn_v8 lr = c->learning_rate, c1 = c->c1, c2 = c->c2, eps = c->epsilon;
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        irn_v8 mj = b1 * LOAD8(m + j);
        irn_v8 vj = b2 * LOAD8(v + j);
        STORE8(m + j, mj);
        STORE8(v + j, vj);
        STORE8(theta + j, LOAD8(theta + j) - (lr * (mj / c1)) / (__builtin_elementwise_sqrt(vj / c2) + eps));
    }
    for (; j < n; j++) update_one(theta + j, m + j, v + j, 0.0f, c);
}

// `steps` Adam steps of g / steps each, in closed form (O(n), whatever steps is): the first
// moment's path is exact (a geometric series), the second moment's sub-step values are
// replaced by their mean, which moves little with beta2 near 1. For a row whose gradient is
// the sum of `steps` pushes it waited through at the actor (--push-rows): it moves about as
// far as if it had been sent every time, not once. The sub-steps feed v (g / steps)^2 times
// square_ratio (1: the mean's square). steps <= 1 with ratio 1 is irn_adam_update, bit for bit.
void irn_adam_update_moments(float *theta, float *m, float *v, const float *g, size_t n, unsigned steps,
                             float square_ratio, const irn_adam_step *c) {
    if (steps <= 1 && square_ratio == 1.0f) { irn_adam_update(theta, m, v, g, n, c); return; }
    if (steps < 1) steps = 1;
    const double s = (double)steps;
    const double b1s = pow((double)c->beta1, s), b2s = pow((double)c->beta2, s);
    // Sums over j = 1...s of beta^j: the weights of the starting moments in sum_j m_j, sum_j v_j.
    const double a1 = (double)c->beta1 * (1.0 - b1s) / (1.0 - (double)c->beta1);
    const double a2 = (double)c->beta2 * (1.0 - b2s) / (1.0 - (double)c->beta2);
    const float fb1s = (float)b1s, fb2s = (float)b2s, fa1 = (float)a1, fa2 = (float)a2;
    const float fs = (float)s, inv_s = (float)(1.0 / s);
    for (size_t j = 0; j < n; j++) {
        const float q = g[j] * inv_s, qq = (q * q) * square_ratio;
        const float m0 = m[j], v0 = v[j];
        const float sum_m = fa1 * m0 + (fs - fa1) * q;
        const float mean_v = (fa2 * v0 + (fs - fa2) * qq) * inv_s;
        m[j] = fb1s * m0 + (1.0f - fb1s) * q;
        v[j] = fb2s * v0 + (1.0f - fb2s) * qq;
        theta[j] -= (c->learning_rate * (sum_m / c->c1)) / (__builtin_elementwise_sqrt(mean_v / c->c2) + c->epsilon);
    }
}
