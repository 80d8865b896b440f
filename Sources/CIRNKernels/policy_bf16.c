// Pruned exact scoring for `irn serve`: a cheap bf16 first pass over every item with a
// rigorous per-item error bound, then exact float32 scores for the few items the bound
// cannot rule out of the top K. See irn_kernels.h and docs/serving.md.
#include "irn_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define IRN_HAVE_X86 1
#include <immintrin.h>
#define IRN_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define IRN_HAVE_X86 0
#endif

int irn_bf16_supported(void) {
#if IRN_HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

size_t irn_bf16_padded_items(size_t n) { return (n + IRN_BF16_ITEM_BLOCK - 1) / IRN_BF16_ITEM_BLOCK * IRN_BF16_ITEM_BLOCK; }
size_t irn_bf16_padded_hidden(size_t h) { return (h + 1) / 2 * 2; }

// Round to nearest even; values below the smallest normal (the instruction treats bf16
// denormals as zero) become a signed zero; NaN stays a (quiet) NaN.
static inline uint16_t to_bf16(float x) {
    uint32_t b;
    memcpy(&b, &x, 4);
    if ((b & 0x7f800000u) == 0) return (uint16_t)((b >> 16) & 0x8000u);
    if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu)) return (uint16_t)((b >> 16) | 0x0040u);
    b += 0x7fffu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}

void irn_bf16_convert(const float *x, size_t n, size_t n_padded, uint16_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = to_bf16(x[i]);
    for (size_t i = n; i < n_padded; i++) out[i] = 0;
}

// Layout: items in super-blocks of 64 (4 x 16 lanes); within one, for each pair p of hidden
// units, 4 vectors of 16 items x (unit 2p, unit 2p+1): one 256-byte run per pair.
static inline size_t packed_index(size_t j, size_t dim, size_t hp) {
    size_t sb = j / IRN_BF16_ITEM_BLOCK, q = (j % IRN_BF16_ITEM_BLOCK) / 16, l = j % 16;
    size_t p = dim / 2, e = dim % 2;
    return ((sb * (hp / 2) + p) * 4 + q) * 32 + l * 2 + e;
}

// Row j's units in the packed layout: unit i at row_base(j) + (i / 2) * 128 + i % 2.
static inline void pack_one(const float *row, size_t j, size_t h, size_t hp, uint16_t *packed) {
    uint16_t *base = packed + packed_index(j, 0, hp);
    for (size_t i = 0; i < h; i++) base[(i / 2) * 128 + (i % 2)] = to_bf16(row[i]);
}

static float norm_up(const float *w, size_t h) {
    double s = 0;
    for (size_t i = 0; i < h; i++) s += (double)w[i] * (double)w[i];
    // Rounded up: the bound must not be below the true norm.
    return (float)sqrt(s) * (1.0f + 0x1p-20f);
}

void irn_bf16_pack_rows(const float *w, size_t n, size_t h, const int32_t *rows, size_t nrows,
                        uint16_t *packed, float *norms) {
    size_t hp = irn_bf16_padded_hidden(h);
    if (rows == NULL) {
        size_t np = irn_bf16_padded_items(n);
        memset(packed, 0, np * hp * sizeof(uint16_t));
        for (size_t j = 0; j < n; j++) {
            const float *row = w + j * h;
            pack_one(row, j, h, hp, packed);
            norms[j] = norm_up(row, h);
        }
        for (size_t j = n; j < np; j++) norms[j] = 0;
        return;
    }
    for (size_t r = 0; r < nrows; r++) {
        size_t j = (size_t)rows[r];
        if (j >= n) continue;
        const float *row = w + j * h;
        pack_one(row, j, h, hp, packed);
        norms[j] = norm_up(row, h);
    }
}

// Reference (scalar) first pass: the same products and the same accumulation order per item
// as the vector kernel (pairs in order; within a pair the odd then the even unit, as the
// instruction's pseudo-code), with bf16 denormals as zero. For tests.
void irn_bf16_scores_reference(const uint16_t *packed, size_t n_padded, size_t hp, const uint16_t *hb,
                               size_t rows, float *out) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < n_padded; j++) {
            float acc = 0;
            for (size_t p = 0; p < hp / 2; p++) {
                for (int e = 1; e >= 0; e--) {
                    uint32_t a = (uint32_t)packed[packed_index(j, 2 * p + e, hp)] << 16;
                    uint32_t b = (uint32_t)hb[r * hp + 2 * p + e] << 16;
                    float fa, fb;
                    memcpy(&fa, &a, 4);
                    memcpy(&fb, &b, 4);
                    acc += fa * fb;
                }
            }
            out[r * n_padded + j] = acc;
        }
    }
}

#if IRN_HAVE_X86
// R rows (1...4) against one super-block of 64 items: 4R accumulators, one W load per
// vector and pair, one broadcast per row and pair.
#define IRN_ALWAYS_INLINE __attribute__((always_inline)) inline
IRN_AVX512BF16 static IRN_ALWAYS_INLINE void superblock(const uint16_t *wsb, size_t pairs, const uint32_t *h32,
                                                         size_t hstride32, float *out, size_t ostride, int R) {
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_ps();
    for (size_t p = 0; p < pairs; p++) {
        const uint16_t *wp = wsb + p * 128;
        __m512i w0 = _mm512_loadu_si512((const void *)(wp));
        __m512i w1 = _mm512_loadu_si512((const void *)(wp + 32));
        __m512i w2 = _mm512_loadu_si512((const void *)(wp + 64));
        __m512i w3 = _mm512_loadu_si512((const void *)(wp + 96));
        for (int r = 0; r < R; r++) {
            __m512i hv = _mm512_set1_epi32((int)h32[r * hstride32 + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], (__m512bh)w0, (__m512bh)hv);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], (__m512bh)w1, (__m512bh)hv);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], (__m512bh)w2, (__m512bh)hv);
            acc[r][3] = _mm512_dpbf16_ps(acc[r][3], (__m512bh)w3, (__m512bh)hv);
        }
    }
    for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++) _mm512_storeu_ps(out + r * ostride + q * 16, acc[r][q]);
}

IRN_AVX512BF16 static void scores_avx512(const uint16_t *packed, size_t n_padded, size_t hp, const uint16_t *hb,
                                         size_t rows, float *out) {
    size_t pairs = hp / 2, hs = hp / 2;
    const uint32_t *h32 = (const uint32_t *)(const void *)hb;
    for (size_t sb = 0; sb < n_padded / IRN_BF16_ITEM_BLOCK; sb++) {
        const uint16_t *wsb = packed + sb * pairs * 128;
        size_t r0 = 0;
        for (; r0 + 4 <= rows; r0 += 4)
            superblock(wsb, pairs, h32 + r0 * hs, hs, out + r0 * n_padded + sb * 64, n_padded, 4);
        switch (rows - r0) {
        case 3: superblock(wsb, pairs, h32 + r0 * hs, hs, out + r0 * n_padded + sb * 64, n_padded, 3); break;
        case 2: superblock(wsb, pairs, h32 + r0 * hs, hs, out + r0 * n_padded + sb * 64, n_padded, 2); break;
        case 1: superblock(wsb, pairs, h32 + r0 * hs, hs, out + r0 * n_padded + sb * 64, n_padded, 1); break;
        default: break;
        }
    }
}
#endif

void irn_bf16_scores(const uint16_t *packed, size_t n_padded, size_t hp, const uint16_t *hb, size_t rows, float *out) {
#if IRN_HAVE_X86
    if (irn_bf16_supported()) { scores_avx512(packed, n_padded, hp, hb, rows, out); return; }
#endif
    irn_bf16_scores_reference(packed, n_padded, hp, hb, rows, out);
}

float irn_bf16_error_scale(size_t h) {
    const double u = 0x1p-8, u32 = 0x1p-24;
    double gamma = (double)h * u32 / (1.0 - (double)h * u32);
    double c = 2 * u + u * u + gamma * ((1 + u) * (1 + u) + 1);
    return (float)(c * 1.001);
}

float irn_bf16_abs_slack(size_t h, float h_norm, float w_max_norm) {
    // Denormal inputs read as zero and flushed results: at most 2^-126 per unit (|x| < 2^-126
    // times the other side's magnitude, bounded through the 1-norm by sqrt(h) times the
    // 2-norm) plus 2^-126 per flushed operation (2h of them), doubled for safety.
    double s = 0x1p-125 * (sqrt((double)h) * (1 + 0x1p-8) * ((double)h_norm + (double)w_max_norm + 1) + 2.0 * (double)h + 2);
    return (float)s;
}

// Exact float32 dot product, a fixed order: 16 lanes of fused multiply-adds over the units
// (lane l takes units l, l+16, ...), then the lanes added pairwise (8, 4, 2, 1).
#if IRN_HAVE_X86
IRN_AVX512BF16 static inline float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 acc = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

IRN_AVX512BF16 static void exact_avx512(const float *w, size_t h, const float *hrow, const float *bias,
                                        const int32_t *items, size_t count, float *z) {
    for (size_t c = 0; c < count; c++) {
        size_t j = (size_t)items[c];
        float d = dot_avx512(hrow, w + j * h, h);
        z[j] = d + bias[j];
    }
}
#endif

// The same order in scalar C (16 lane sums, then the pairwise tree), fused multiply-adds by
// fmaf: the same bits as the vector version.
static float dot_scalar(const float *a, const float *b, size_t n) {
    float lane[16] = {0};
    for (size_t i = 0; i < n; i++) lane[i % 16] = fmaf(a[i], b[i], lane[i % 16]);
    float s8[8], s4[4], s2[2];
    for (int l = 0; l < 8; l++) s8[l] = lane[l] + lane[l + 8];
    for (int l = 0; l < 4; l++) s4[l] = s8[l] + s8[l + 4];
    for (int l = 0; l < 2; l++) s2[l] = s4[l] + s4[l + 2];
    return s2[0] + s2[1];
}

void irn_exact_scores(const float *w, size_t h, const float *hrow, const float *bias,
                      const int32_t *items, size_t count, float *z) {
#if IRN_HAVE_X86
    if (irn_bf16_supported()) { exact_avx512(w, h, hrow, bias, items, count, z); return; }
#endif
    for (size_t c = 0; c < count; c++) {
        size_t j = (size_t)items[c];
        float d = dot_scalar(hrow, w + j * h, h);
        z[j] = d + bias[j];
    }
}

// k-th largest of the lower bounds: a k-element min-heap.
static inline void heap_sift_down(float *heap, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && heap[l] < heap[m]) m = l;
        if (r < n && heap[r] < heap[m]) m = r;
        if (m == i) return;
        float t = heap[i]; heap[i] = heap[m]; heap[m] = t;
        i = m;
    }
}

static inline void heap_push(float *heap, size_t *n, float x) {
    size_t i = (*n)++;
    heap[i] = x;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!(heap[i] < heap[p])) break;
        float t = heap[i]; heap[i] = heap[p]; heap[p] = t;
        i = p;
    }
}

static inline void offer(float *heap, size_t *count, size_t k, float lower) {
    if (*count < k) heap_push(heap, count, lower);
    else if (lower > heap[0]) { heap[0] = lower; heap_sift_down(heap, k, 0); }
}

static inline float bound_of(float a, float b, float norm, float scale, float slack, float *total) {
    float t = a + b;
    *total = t;
    return scale * norm + slack + 0x1p-20f * fabsf(t);
}

static size_t prune_scalar(const float *approx, const float *bias, const float *norms, float scale, float abs_slack,
                           size_t n, size_t k, int32_t *cand, float *heap) {
    size_t count = 0;
    // Pass 1: T = the k-th largest lower bound; non-finite first-pass scores: give up.
    for (size_t j = 0; j < n; j++) {
        float a = approx[j];
        if (a == -INFINITY) continue;
        if (!(a - a == 0)) return SIZE_MAX;
        float t, e = bound_of(a, bias[j], norms[j], scale, abs_slack, &t);
        if (!(e - e == 0) || !(t - t == 0)) return SIZE_MAX;
        if (count < k || t - e > heap[0]) offer(heap, &count, k, t - e);
    }
    float T = count < k ? -INFINITY : heap[0];
    // Pass 2: every item whose upper bound reaches T.
    size_t nc = 0;
    for (size_t j = 0; j < n; j++) {
        float a = approx[j];
        if (a == -INFINITY) continue;
        float t, e = bound_of(a, bias[j], norms[j], scale, abs_slack, &t);
        if (t + e >= T) cand[nc++] = (int32_t)j;
    }
    return nc;
}

#if IRN_HAVE_X86
// The same two passes, 16 items at a time (the same operations per item: the same bounds);
// only the few items that beat the current k-th lower bound go through the heap.
IRN_AVX512BF16 static size_t prune_avx512(const float *approx, const float *bias, const float *norms, float scale,
                                          float abs_slack, size_t n, size_t k, int32_t *cand, float *heap) {
    const __m512 vs = _mm512_set1_ps(scale), vsl = _mm512_set1_ps(abs_slack), vr = _mm512_set1_ps(0x1p-20f);
    const __m512 ninf = _mm512_set1_ps(-INFINITY), zero = _mm512_setzero_ps();
    size_t count = 0;
    float thr = -INFINITY;
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 a = _mm512_mask_loadu_ps(ninf, m, approx + j);
        __mmask16 valid = _mm512_cmp_ps_mask(a, ninf, _CMP_NEQ_UQ) & m;
        if (!valid) continue;
        __m512 t = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, bias + j));
        __m512 e = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, norms + j)), vsl),
                                 _mm512_mul_ps(vr, _mm512_abs_ps(t)));
        __mmask16 fin = _mm512_cmp_ps_mask(_mm512_sub_ps(a, a), zero, _CMP_EQ_OQ)
                      & _mm512_cmp_ps_mask(_mm512_sub_ps(e, e), zero, _CMP_EQ_OQ)
                      & _mm512_cmp_ps_mask(_mm512_sub_ps(t, t), zero, _CMP_EQ_OQ);
        if ((fin & valid) != valid) return SIZE_MAX;
        __m512 lower = _mm512_sub_ps(t, e);
        __mmask16 hit = count < k ? valid : (_mm512_cmp_ps_mask(lower, _mm512_set1_ps(thr), _CMP_GT_OQ) & valid);
        if (!hit) continue;
        float lw[16];
        _mm512_storeu_ps(lw, lower);
        while (hit) {
            int l = __builtin_ctz(hit);
            hit &= (__mmask16)(hit - 1);
            if (count < k || lw[l] > heap[0]) offer(heap, &count, k, lw[l]);
        }
        if (count >= k) thr = heap[0];
    }
    float T = count < k ? -INFINITY : heap[0];
    const __m512 vT = _mm512_set1_ps(T);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    size_t nc = 0;
    for (size_t j = 0; j < n; j += 16, idx = _mm512_add_epi32(idx, step)) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 a = _mm512_mask_loadu_ps(ninf, m, approx + j);
        __mmask16 valid = _mm512_cmp_ps_mask(a, ninf, _CMP_NEQ_UQ) & m;
        __m512 t = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, bias + j));
        __m512 e = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, norms + j)), vsl),
                                 _mm512_mul_ps(vr, _mm512_abs_ps(t)));
        __mmask16 keep = _mm512_cmp_ps_mask(_mm512_add_ps(t, e), vT, _CMP_GE_OQ) & valid;
        if (keep) {
            _mm512_mask_compressstoreu_epi32(cand + nc, keep, idx);
            nc += (size_t)__builtin_popcount(keep);
        }
    }
    return nc;
}
#endif

size_t irn_prune_candidates(const float *approx, const float *bias, const float *norms, float scale, float abs_slack,
                            size_t n, size_t k, int32_t *cand, float *heap) {
#if IRN_HAVE_X86
    if (irn_bf16_supported()) return prune_avx512(approx, bias, norms, scale, abs_slack, n, k, cand, heap);
#endif
    return prune_scalar(approx, bias, norms, scale, abs_slack, n, k, cand, heap);
}

size_t irn_prune_candidates_reference(const float *approx, const float *bias, const float *norms, float scale, float abs_slack,
                                      size_t n, size_t k, int32_t *cand, float *heap) {
    return prune_scalar(approx, bias, norms, scale, abs_slack, n, k, cand, heap);
}
