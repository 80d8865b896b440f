// Element-wise kernels that Swift cannot vectorise by itself: on Linux, Swift's
// Float.squareRoot() keeps a libm fallback call for errno, so a SIMD square root becomes
// eight scalar calls. Clang's element-wise builtins have no such fallback.
#ifndef IRN_KERNELS_H
#define IRN_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One Adam step's constants: theta -= lr * (m / c1) / (sqrt(v / c2) + epsilon) with the bias
/// corrections c1 = 1 - beta1^t and c2 = 1 - beta2^t. Written exactly in this order (three
/// divisions, no folding) so that models stay bit-identical to those trained before the
/// kernel existed; the step is memory-bound, and the folded form was only 10% faster.
typedef struct {
    float beta1;
    float beta2;
    float learning_rate;
    float c1;
    float c2;
    float epsilon;
} irn_adam_step;

/// m = b1 m + (1 - b1) g; v = b2 v + ((1 - b2) g) g; theta moves; n elements.
void irn_adam_update(float *theta, float *m, float *v, const float *g, size_t n, const irn_adam_step *c);

/// The same with g = 0 (a row a sparse gradient did not touch, under textbook Adam).
void irn_adam_decay(float *theta, float *m, float *v, size_t n, const irn_adam_step *c);

#ifdef __cplusplus
}
#endif

#endif
