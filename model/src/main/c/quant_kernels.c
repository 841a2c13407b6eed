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
#include <math.h>
#include <stdlib.h>

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

/* The lane sums of eight vectors of 8 int32, as one vector [sum(v0), ..., sum(v7)]. */
static KERNEL inline __m256i hsum8_epi32(const __m256i *v) {
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3])); /* [v0..v3 low halves | v0..v3 high halves] */
    __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

static KERNEL inline double hsum_pd(__m256d v) {
    __m128d a = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)));
}

/*
 * The 32 products of unsigned u and signed x summed into 8 int32 lanes. vpmaddubsw saturates a pair's sum at 32767: here u
 * is at most 128 (Q8_0's |w|) or 15 (Q4_K) and |x| at most 127, so a pair is at most 2 * 128 * 127 = 32512.
 */
static KERNEL inline __m256i dot_u8_s8(__m256i u, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

/*
 * One row of Q4_K blocks: per sub-block j of 32 weights, xd_j * (d * scale_j * (q . xq) - dmin * min_j * sum(xq)).
 * The integer sums are exact and the products of two floats exact in double, so the result is the exact dot product
 * of the blocks' weights and the quantized activation, rounded once per sub-block and at the end. In float32 it was not
 * close enough: the two terms of a Q4_K weight can be much larger than the weight, and an outlier in the activation (tens
 * of thousands) made their rounding show (QuantizedMatrixTest). A block's eight sub-block sums are gathered into one
 * vector and multiplied by their scales there: converting each sum on its own, and broadcasting each scale, took a
 * fifth of the kernel's time (docs/bench/quant.md). A sub-block's sum times its scale is at most 32 * 15 * 127 * 63.
 */
static KERNEL float row_q4k(const uint8_t *p, int superBlocks, const int8_t *xq, const float *xd, const int *xsum) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256d acc = _mm256_setzero_pd();
    __m256d mins = _mm256_setzero_pd();
    for (int sb = 0; sb < superBlocks; sb++, p += Q4K_BLOCK, xq += 256, xd += 8, xsum += 8) {
        __m256d d = _mm256_set1_pd(f16(p));
        __m256d dmin = _mm256_set1_pd(f16(p + 2));
        __m256 xs = _mm256_loadu_ps(xd);
        __m256d x0 = _mm256_cvtps_pd(_mm256_castps256_ps128(xs));
        __m256d x1 = _mm256_cvtps_pd(_mm256_extractf128_ps(xs, 1));
        /* min_j * sum_j(xq) in ints, then times xd_j: 8 sub-blocks as two vectors of four */
        __m256i ms = _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (p + 12))),
                _mm256_loadu_si256((const __m256i *) xsum));
        mins = _mm256_fmadd_pd(_mm256_add_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(ms)), x0),
                _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(ms, 1)), x1)), dmin, mins);
        __m256i s[8];
        for (int c = 0; c < 4; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *) (p + 20 + 32 * c));
            __m256i lo = _mm256_and_si256(v, low);                          /* weights 64c .. 64c+31 */
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);    /* weights 64c+32 .. 64c+63 */
            s[2 * c] = dot_u8_s8(lo, _mm256_loadu_si256((const __m256i *) (xq + 64 * c)));
            s[2 * c + 1] = dot_u8_s8(hi, _mm256_loadu_si256((const __m256i *) (xq + 64 * c + 32)));
        }
        __m256i sums = _mm256_mullo_epi32(hsum8_epi32(s),
                _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (p + 4)))); /* scale_j * (q . xq)_j */
        acc = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(sums)), _mm256_mul_pd(x0, d), acc);
        acc = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(sums, 1)), _mm256_mul_pd(x1, d), acc);
    }
    return (float) (hsum_pd(acc) - hsum_pd(mins));
}

/* One row of Q8_0 blocks: per block, d * xd * (q . xq); the sign trick makes the weights unsigned for vpmaddubsw. */
static KERNEL float row_q8(const uint8_t *p, int blocks, const int8_t *xq, const float *xd) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++, p += Q8_BLOCK, xq += 32) {
        __m256i w = _mm256_loadu_si256((const __m256i *) (p + 2));
        __m256i x = _mm256_loadu_si256((const __m256i *) xq);
        /* |w| * (x with w's sign): the same products (a weight of -128 from another tool's file still works: 0x80 read as
           unsigned is 128; the activation stays within -127..127, QuantizedActivation) */
        __m256i s = dot_u8_s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
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

/* Releases pinned arrays in reverse order, copying back (where the JVM copied at all) those whose bit is set in written. */
static void unpin(JNIEnv *env, int n, jarray *arrays, void **ptrs, unsigned written) {
    for (int i = n - 1; i >= 0; i--) {
        (*env)->ReleasePrimitiveArrayCritical(env, arrays[i], ptrs[i], (written >> i) & 1 ? 0 : JNI_ABORT);
    }
}

/*
 * y[yOff + r] for rows [from, to) of an array of rows of rowBytes bytes each: Q4_K (q4k true; cols a multiple of 256,
 * xsum read) or Q8_0 (cols a multiple of 32).
 */
JNIEXPORT void JNICALL Java_ai_convllava_model_quant_NativeKernels_quantRows(JNIEnv *env, jclass cls, jboolean q4k, jbyteArray w,
        jint rowBytes, jint cols, jint from, jint to, jint yOff, jbyteArray xq, jfloatArray xd, jintArray xsum, jfloatArray y) {
    jarray arrays[5] = {w, xq, xd, xsum, y};
    void *p[5];
    if (!pin(env, 5, arrays, p)) {
        return;
    }
    const uint8_t *blocks = p[0];
    float *out = p[4];
    for (jint r = from; r < to; r++) {
        const uint8_t *row = blocks + (size_t) r * rowBytes;
        out[yOff + r] = q4k ? row_q4k(row, cols / 256, p[1], p[2], p[3]) : row_q8(row, cols / 32, p[1], p[2]);
    }
    unpin(env, 5, arrays, p, 1u << 4);
}

/* ---- Decode attention over the 8-bit KV cache ---- */

/* e^x for 8 floats (Cephes' expf: x = n ln2 + r, a degree-5 polynomial for e^r, 2^n put into the exponent), within
 * 2 float32 ulps over the range a softmax needs; libtorch's softmax uses a vectorized exp of the same kind. */
static KERNEL inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365447504f));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

/* q . (8 int8 keys widened), D a multiple of 8 */
static KERNEL inline float dot_q_k8(const float *q, const int8_t *k, int d) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < d; i += 8) {
        __m256 kf = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (k + i))));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), kf, acc);
    }
    return hsum(acc);
}

/*
 * One query head over one KV head's first n positions: p = softmax(scale * ks[s] * (q . k[s])), out = sum_s p[s] * vs[s] * v[s],
 * in float32 as the libtorch path (KvCache widens the same int8 values times the same scales). k and v are (capacity, d) int8
 * rows of which the first n are read; p receives the n probabilities.
 */
static KERNEL void attend_head(const float *q, const int8_t *k, const float *ks, const int8_t *v, const float *vs, int n, int d,
        float scale, float *p, float *out) {
    float max = -INFINITY;
    for (int s = 0; s < n; s++) {
        float x = scale * ks[s] * dot_q_k8(q, k + (size_t) s * d, d);
        p[s] = x;
        max = x > max ? x : max;
    }
    __m256 vmax = _mm256_set1_ps(max);
    __m256 vsum = _mm256_setzero_ps();
    int s = 0;
    for (; s + 8 <= n; s += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + s), vmax));
        _mm256_storeu_ps(p + s, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hsum(vsum);
    for (; s < n; s++) {
        p[s] = expf(p[s] - max);
        sum += p[s];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < d; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_setzero_ps());
    }
    for (s = 0; s < n; s++) {
        p[s] *= inv;
        __m256 w = _mm256_set1_ps(p[s] * vs[s]);
        const int8_t *row = v + (size_t) s * d;
        for (int i = 0; i < d; i += 8) {
            __m256 vf = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (row + i))));
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(w, vf, _mm256_loadu_ps(out + i)));
        }
    }
}

/*
 * KV heads [g0, g1) of one layer for one new token: query head h = g * rep + r reads KV head g (grouped-query attention).
 * keys/values: direct buffers over libtorch's (KV, capacity, d) int8 cache, scales (KV, capacity) float32; q and out (H, d);
 * probs (H, n) or null. Java checked every size (NativeKernels.attendInt8).
 */
JNIEXPORT void JNICALL Java_ai_convllava_model_quant_NativeKernels_attendInt8Heads(JNIEnv *env, jclass cls, jfloatArray q, jobject keys,
        jobject keyScales, jobject values, jobject valueScales, jint capacity, jint n, jint d, jint rep, jint g0, jint g1, jfloat scale,
        jfloatArray out, jfloatArray probs) {
    const int8_t *k = (*env)->GetDirectBufferAddress(env, keys);
    const float *ks = (*env)->GetDirectBufferAddress(env, keyScales);
    const int8_t *v = (*env)->GetDirectBufferAddress(env, values);
    const float *vs = (*env)->GetDirectBufferAddress(env, valueScales);
    if (k == NULL || ks == NULL || v == NULL || vs == NULL) {
        jclass iae = (*env)->FindClass(env, "java/lang/IllegalArgumentException");
        if (iae != NULL) {
            (*env)->ThrowNew(env, iae, "native attention: the KV cache is not in direct buffers");
        }
        return;
    }
    float *scratch = NULL;
    if (probs == NULL) {
        scratch = malloc((size_t) n * sizeof(float));
        if (scratch == NULL) {
            jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
            if (oom != NULL) {
                (*env)->ThrowNew(env, oom, "native attention: no memory for the scores");
            }
            return;
        }
    }
    jarray arrays[3] = {q, out, probs};
    void *p[3];
    int pinned = probs == NULL ? 2 : 3;
    if (!pin(env, pinned, arrays, p)) {
        free(scratch);
        return;
    }
    const float *qf = p[0];
    float *o = p[1];
    for (int g = g0; g < g1; g++) {
        size_t kvOff = (size_t) g * capacity;
        for (int r = 0; r < rep; r++) {
            int h = g * rep + r;
            float *ph = probs == NULL ? scratch : (float *) p[2] + (size_t) h * n;
            attend_head(qf + (size_t) h * d, k + kvOff * d, ks + kvOff, v + kvOff * d, vs + kvOff, n, d, scale, ph, o + (size_t) h * d);
        }
    }
    unpin(env, pinned, arrays, p, 6u); /* out and probs written */
    free(scratch);
}
