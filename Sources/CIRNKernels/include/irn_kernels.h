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

/// `steps` steps of g / steps each in closed form (first moment exact, second moment's
/// sub-step values replaced by their mean), whose sub-steps feed the second moment
/// (g / steps)^2 * square_ratio: 1 is the mean's square (`--deferred-rows steps`); >= 1 the
/// row's mean squared gradient over the pushes it waited through divided by the squared mean
/// (from the actor, `moments`), so that gradients that cancel in the sum do not shrink v (and
/// blow up the step). steps <= 1 with ratio 1 is irn_adam_update.
void irn_adam_update_moments(float *theta, float *m, float *v, const float *g, size_t n, unsigned steps,
                             float square_ratio, const irn_adam_step *c);


#include <stdint.h>

// ---- Pruned exact scoring (irn serve): a bf16 first pass with a per-item error bound. ----

/// Items per super-block of the packed bf16 policy (the padded item count is a multiple).
#define IRN_BF16_ITEM_BLOCK 64

/// 1 when this CPU has AVX512-F/BW/VL and AVX512-BF16 (the first-pass kernel); else 0
/// (irn_bf16_scores then runs the scalar reference: correct, slow).
int irn_bf16_supported(void);
size_t irn_bf16_padded_items(size_t n);
size_t irn_bf16_padded_hidden(size_t h);

/// x (n floats) as bf16, round to nearest even, values below the smallest normal as zero;
/// out[n ..< n_padded] = 0.
void irn_bf16_convert(const float *x, size_t n, size_t n_padded, uint16_t *out);

/// W (n x h, row-major) into the packed bf16 layout (padded_items(n) x padded_hidden(h)
/// elements; padding zero) and norms[j] = ||w_j||_2 rounded up (padded_items(n) floats).
/// rows == NULL: all rows (the padding cleared); else only those nrows rows (follow mode).
void irn_bf16_pack_rows(const float *w, size_t n, size_t h, const int32_t *rows, size_t nrows,
                        uint16_t *packed, float *norms);

/// out[r * n_padded + j] ~ dot(h_r, w_j) from bf16 copies (hb: rows x hp bf16), float32
/// accumulation. AVX512-BF16 when present, else irn_bf16_scores_reference.
void irn_bf16_scores(const uint16_t *packed, size_t n_padded, size_t hp, const uint16_t *hb, size_t rows, float *out);
void irn_bf16_scores_reference(const uint16_t *packed, size_t n_padded, size_t hp, const uint16_t *hb, size_t rows, float *out);

/// c such that |first pass - exact float32 dot| <= c ||h|| ||w_j|| + irn_bf16_abs_slack
/// (bf16 rounding of both sides, float32 accumulation of both sums, 0.1% margin).
float irn_bf16_error_scale(size_t h);
float irn_bf16_abs_slack(size_t h, float h_norm, float w_max_norm);

/// z[items[c]] = dot(hrow, w_{items[c]}) + bias[items[c]] in float32, one fixed order
/// (16 lanes of fused multiply-adds, then a pairwise tree), whatever the batch.
void irn_exact_scores(const float *w, size_t h, const float *hrow, const float *bias,
                      const int32_t *items, size_t count, float *z);

/// The items that can be in the top k of the exact scores fl(dot + b_j): with A_j = approx[j]
/// + bias[j] and e_j = scale * norms[j] + abs_slack + 2^-20 |A_j|, T = the k-th largest
/// A_j - e_j, candidates are the j with A_j + e_j >= T (ascending). approx[j] == -inf: item
/// j is skipped (excluded or scored exactly by the caller). Writes cand (n), uses heap (k);
/// returns the count, or SIZE_MAX when a first-pass score is not finite (score all exactly).
size_t irn_prune_candidates(const float *approx, const float *bias, const float *norms, float scale, float abs_slack,
                            size_t n, size_t k, int32_t *cand, float *heap);
/// The same in scalar C (what the vector version must return; for tests).
size_t irn_prune_candidates_reference(const float *approx, const float *bias, const float *norms, float scale, float abs_slack,
                                      size_t n, size_t k, int32_t *cand, float *heap);

#ifdef __cplusplus
}
#endif

#endif
