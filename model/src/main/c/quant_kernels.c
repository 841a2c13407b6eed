/*
 * The decode mat-vec for 8-bit and 4-bit weights with 8-bit activations: what llama.cpp does on x86 and what
 * JDK 17's Vector API cannot express. The activation row is quantized to int8 in blocks of 32 (one float
 * scale each, in Java: NativeKernels.quantizeActivation), and each weight block is multiplied with it in
 * integers by vpmaddubsw (32 unsigned x signed byte products, summed in pairs, per instruction); only
 * each block's sum is converted to float. The Java kernels widen every weight to float first and are
 * bound by that arithmetic, not by memory (docs/bench/quant.md, "A native kernel").
 *
 * The result is exactly dot(dequantized weights, dequantized activation) up to float32 rounding of the
 * per-block sums, which NativeKernelsTest checks within 1e-5.
 *
 * Called from Java with heap arrays pinned by GetPrimitiveArrayCritical (no copy); Java checks every
 * length and index before the call (NativeKernels), so nothing here reads out of bounds on bad input.
 * Compiled without -mavx2: the kernels carry their own target attribute and are only called after
 * supported() said the CPU has AVX2, FMA and F16C, so the library loads on any x86-64 CPU.
 */
#include <jni.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

#define KERNEL __attribute__((target("avx2,fma,f16c")))

/* Bytes of an in-memory Q4_K block (QuantizedMatrix): d (f16), dmin (f16), 8 scales, 8 mins, 128 bytes of quants. */
#define Q4K_BLOCK 148
#define Q8_BLOCK 34

static KERNEL inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static KERNEL inline float hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

/*
 * The 32 products of unsigned 4-bit quants u (0..15) and signed 8-bit activations x, times the 6-bit sub-block scale,
 * summed into 4 int32 lanes: exact (at most 32 * 15 * 127 * 63, far inside an int).
 */
static KERNEL inline __m128i dot_u4_s8(__m256i u, __m256i x, int scale) {
    __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16((short) scale));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

static KERNEL inline double hsum_pd(__m256d v) {
    __m128d a = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)));
}

/*
 * One row of Q4_K blocks: per sub-block j of 32 weights, xd_j * (d * scale_j * (q . xq) - dmin * min_j * sum(xq)).
 * The integer sums are exact and the products of two floats exact in double, so the result is the exact dot product
 * of the blocks' weights and the quantized activation, rounded once at the end. In float32 it was not close enough:
 * the two terms of a Q4_K weight can be much larger than the weight, and an outlier in the activation (tens of
 * thousands) made their rounding show (QuantizedMatrixTest); double costs two conversions per 32 weights.
 */
static KERNEL float row_q4k(const uint8_t *p, int superBlocks, const int8_t *xq, const float *xd, const int *xsum) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256d acc = _mm256_setzero_pd();
    __m256d mins = _mm256_setzero_pd();
    for (int sb = 0; sb < superBlocks; sb++, p += Q4K_BLOCK, xq += 256, xd += 8, xsum += 8) {
        double d = f16(p);
        __m256d dmin = _mm256_set1_pd(f16(p + 2));
        /* min_j * sum_j(xq) in ints, then times xd_j: 8 sub-blocks as two vectors of four */
        __m256i ms = _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (p + 12))),
                _mm256_loadu_si256((const __m256i *) xsum));
        __m256 xs = _mm256_loadu_ps(xd);
        __m256d m0 = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(ms)), _mm256_cvtps_pd(_mm256_castps256_ps128(xs)));
        __m256d m1 = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(ms, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(xs, 1)));
        mins = _mm256_fmadd_pd(_mm256_add_pd(m0, m1), dmin, mins);
        for (int c = 0; c < 4; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *) (p + 20 + 32 * c));
            __m256i lo = _mm256_and_si256(v, low);                          /* weights 64c .. 64c+31 */
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);    /* weights 64c+32 .. 64c+63 */
            __m128i slo = dot_u4_s8(lo, _mm256_loadu_si256((const __m256i *) (xq + 64 * c)), p[4 + 2 * c]);
            __m128i shi = dot_u4_s8(hi, _mm256_loadu_si256((const __m256i *) (xq + 64 * c + 32)), p[5 + 2 * c]);
            acc = _mm256_fmadd_pd(_mm256_cvtepi32_pd(slo), _mm256_set1_pd(d * xd[2 * c]), acc);
            acc = _mm256_fmadd_pd(_mm256_cvtepi32_pd(shi), _mm256_set1_pd(d * xd[2 * c + 1]), acc);
        }
    }
    return (float) (hsum_pd(acc) - hsum_pd(mins));
}

/* One row of Q8_0 blocks: per block, d * xd * (q . xq); the sign trick makes the weights unsigned for vpmaddubsw. */
static KERNEL float row_q8(const uint8_t *p, int blocks, const int8_t *xq, const float *xd) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++, p += Q8_BLOCK, xq += 32) {
        __m256i w = _mm256_loadu_si256((const __m256i *) (p + 2));
        __m256i x = _mm256_loadu_si256((const __m256i *) xq);
        /* |w| * (x with w's sign): the same products (a weight of -128 from another tool's file still works: 0x80 read as
           unsigned is 128; the activation stays within -127..127, QuantizedActivation) */
        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), ones);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(f16(p) * xd[b]), acc);
    }
    return hsum(acc);
}

JNIEXPORT jboolean JNICALL Java_ai_convllava_model_quant_NativeKernels_supported(JNIEnv *env, jclass cls) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

/* Pins the arrays, or releases what it pinned and throws OutOfMemoryError. */
static int pin(JNIEnv *env, int n, jarray *arrays, void **ptrs) {
    for (int i = 0; i < n; i++) {
        ptrs[i] = (*env)->GetPrimitiveArrayCritical(env, arrays[i], NULL);
        if (ptrs[i] == NULL) {
            for (int k = i - 1; k >= 0; k--) {
                (*env)->ReleasePrimitiveArrayCritical(env, arrays[k], ptrs[k], JNI_ABORT);
            }
            jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
            if (oom != NULL) {
                (*env)->ThrowNew(env, oom, "could not pin an array for the native quantized kernel");
            }
            return 0;
        }
    }
    return 1;
}

static void unpin(JNIEnv *env, int n, jarray *arrays, void **ptrs, int written) {
    for (int i = n - 1; i >= 0; i--) {
        (*env)->ReleasePrimitiveArrayCritical(env, arrays[i], ptrs[i], i == written ? 0 : JNI_ABORT);
    }
}

/* y[r] for rows [from, to) of a Q4_K matrix of rowBytes bytes per row; cols is a multiple of 256. */
JNIEXPORT void JNICALL Java_ai_convllava_model_quant_NativeKernels_q4kRows(JNIEnv *env, jclass cls, jbyteArray w, jint rowBytes,
        jint cols, jint from, jint to, jbyteArray xq, jfloatArray xd, jintArray xsum, jfloatArray y) {
    jarray arrays[5] = {w, xq, xd, xsum, y};
    void *p[5];
    if (!pin(env, 5, arrays, p)) {
        return;
    }
    const uint8_t *blocks = p[0];
    float *out = p[4];
    for (jint r = from; r < to; r++) {
        out[r] = row_q4k(blocks + (size_t) r * rowBytes, cols / 256, p[1], p[2], p[3]);
    }
    unpin(env, 5, arrays, p, 4);
}

/* y[r] for rows [from, to) of a Q8_0 matrix of rowBytes bytes per row; cols is a multiple of 32. */
JNIEXPORT void JNICALL Java_ai_convllava_model_quant_NativeKernels_q8Rows(JNIEnv *env, jclass cls, jbyteArray w, jint rowBytes,
        jint cols, jint from, jint to, jbyteArray xq, jfloatArray xd, jfloatArray y) {
    jarray arrays[4] = {w, xq, xd, y};
    void *p[4];
    if (!pin(env, 4, arrays, p)) {
        return;
    }
    const uint8_t *blocks = p[0];
    float *out = p[3];
    for (jint r = from; r < to; r++) {
        out[r] = row_q8(blocks + (size_t) r * rowBytes, cols / 32, p[1], p[2]);
    }
    unpin(env, 4, arrays, p, 3);
}
