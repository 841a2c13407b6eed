/*
 * The decode mat-vec for 8-bit and 4-bit weights with 8-bit activations: what llama.cpp does on x86 and what
 * JDK 17's Vector API cannot express. The activation row is quantized to int8 in blocks of 32 (in Java:
 * QuantizedActivation), and each weight block is multiplied with it in integers by vpmaddubsw (32 unsigned x
 * signed byte products, summed in pairs, per instruction); only each block's sum is converted to float. The
 * Java kernels widen every weight to float first and are bound by that arithmetic, not by memory
 * (docs/bench/quant.md, "A native kernel").
 *
 * The result is exactly dot(dequantized weights, dequantized activation) up to float rounding of the
 * per-block sums, which QuantizedMatrixTest checks within 1e-5.
 *
 * Called from Java with heap arrays pinned by GetPrimitiveArrayCritical (no copy); Java checks every
 * length and index before the call (NativeKernels), so nothing here reads out of bounds on bad input.
 * Compiled without -mavx2: the kernels carry their own target attribute and are only called after
 * supported() said the CPU has AVX2, FMA and F16C (the 512-bit one after wideSupported()), so the library loads on any
 * x86-64 CPU.
 */
#include <jni.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#define KERNEL __attribute__((target("avx2,fma,f16c")))
/* The 512-bit kernel: AVX-512 with byte and word instructions (BW), 256-bit forms (VL) and vpdpwssd (VNNI), as on AMD Zen 4
   and 5 and Intel's Ice Lake and later; chosen at run time (wide()). */
#define KERNEL512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

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

static KERNEL inline double hsum_pd(__m256d v) {
    __m128d a = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)));
}

/*
 * The 32 products of unsigned u and signed x summed into 8 int32 lanes. vpmaddubsw saturates a pair's sum at 32767: here u
 * is at most 128 (Q8_0's |w|) and |x| at most 127, so a pair is at most 2 * 128 * 127 = 32512.
 */
static KERNEL inline __m256i dot_u8_s8(__m256i u, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

/*
 * A Q4_K block's part both row_q4k forms share: its mins term, dmin * dx * sum_j min_j * (f_j * sum_j(xq)), added into *mins
 * (8 products of at most 63 * 256 * 32 * 127, their halves added in int32), and its sub-block scales times the activation's
 * factors, scale_j * f_j in 16-bit lanes (at most 63 * 256).
 */
static KERNEL inline __m128i q4k_block_scales(const uint8_t *p, double dx, const int16_t *xf, const int32_t *xfsum, __m256d *mins) {
    __m256i m = _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (p + 12))),
            _mm256_loadu_si256((const __m256i *) xfsum));
    __m128i m4 = _mm_add_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
    *mins = _mm256_fmadd_pd(_mm256_cvtepi32_pd(m4), _mm256_set1_pd(f16(p + 2) * dx), *mins);
    return _mm_mullo_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) (p + 4))), _mm_loadu_si128((const __m128i *) xf));
}

/*
 * One row of Q4_K blocks times an activation quantized in groups of 256 (QuantizedActivation.quantizeGrouped): sub-block j's
 * activation scale is D * 2^-8 * f_j (D the group's, f_j a power of two up to 256), so a weight block's whole sum
 *   d * D * 2^-8 * sum_j (scale_j * f_j) * (q . xq)_j  -  dmin * D * 2^-8 * sum_j min_j * (f_j * sum_j(xq))
 * is two integer sums converted once per block, as llama.cpp's Q4_K kernel converts once per block with one activation
 * scale per 256. scale_j * f_j (at most 63 * 256) is a 16-bit lane of vpmaddwd's multiplier, broadcast to a sub-block's
 * 16 lanes by vpshufb. Bounds: a vpmaddubsw pair is at most 2 * 15 * 127 = 3810, a vpmaddwd lane 2 * 3810 * 16128, and an
 * int32 lane gathers 8 of those in a block: under 2^30, no overflow. The products of the block's floats and the sums'
 * conversions are exact in double, so the result is the exact dot product of the blocks' weights and the quantized
 * activation, rounded at each block's accumulation and at the end (float32 was not close enough: Q4_K's two terms can be
 * much larger than the weight, and an activation outlier of tens of thousands made their rounding show, QuantizedMatrixTest).
 */
static KERNEL float row_q4k(const uint8_t *p, int superBlocks, const int8_t *xq, const float *xd, const int16_t *xf,
        const int32_t *xfsum) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    /* vpshufb patterns that copy 16-bit lane j of a 128-bit half to all eight lanes of it */
    __m256i pick[8];
    for (int j = 0; j < 8; j++) {
        pick[j] = _mm256_set1_epi16((short) ((2 * j + 1) << 8 | 2 * j));
    }
    __m256d acc = _mm256_setzero_pd();
    __m256d mins = _mm256_setzero_pd();
    for (int sb = 0; sb < superBlocks; sb++, p += Q4K_BLOCK, xq += 256, xf += 8, xfsum += 8) {
        double dx = (double) xd[sb] * (1.0 / 256.0);
        __m256i sf2 = _mm256_broadcastsi128_si256(q4k_block_scales(p, dx, xf, xfsum, &mins)); /* in both halves */
        __m256i sum = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *) (p + 20 + 32 * c));
            __m256i lo = _mm256_and_si256(v, low);                          /* weights 64c .. 64c+31: sub-block 2c */
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);    /* weights 64c+32 .. 64c+63: sub-block 2c+1 */
            __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *) (xq + 64 * c)));
            __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *) (xq + 64 * c + 32)));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(plo, _mm256_shuffle_epi8(sf2, pick[2 * c])));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(phi, _mm256_shuffle_epi8(sf2, pick[2 * c + 1])));
        }
        __m256d s = _mm256_add_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(sum)), _mm256_cvtepi32_pd(_mm256_extracti128_si256(sum, 1)));
        acc = _mm256_fmadd_pd(s, _mm256_set1_pd(f16(p) * dx), acc);
    }
    return (float) (hsum_pd(acc) - hsum_pd(mins));
}

/* Two 32-byte loads as one 512-bit vector, a in the low half. */
static KERNEL512 inline __m512i load2x256(const int8_t *a, const int8_t *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) a)), _mm256_loadu_si256((const __m256i *) b), 1);
}

/*
 * row_q4k in 512-bit vectors: the same integer sums in the same bounds, two 64-weight chunks of quants per load. A vector's low
 * half holds chunk c's sub-block (2c, or 2c+1 for the high nibbles), its high half chunk c+1's, so the activation's matching
 * 32-byte pieces are loaded into the two halves and each 128-bit lane's vpshufb pattern picks its half's scale. vpdpwssd
 * multiplies by the scales and adds in one instruction; two sums (low and high nibbles) keep its latency off the critical
 * path. Each int32 lane gathers 4 + 4 products, added into 8 lanes before conversion: the same 8 as row_q4k's.
 */
static KERNEL512 float row_q4k_512(const uint8_t *p, int superBlocks, const int8_t *xq, const float *xd, const int16_t *xf,
        const int32_t *xfsum) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512i pick[4]; /* [2 * pair + nibble]: lanes 0-1 sub-block 4 * pair + nibble, lanes 2-3 the one two further */
    for (int pair = 0; pair < 2; pair++) {
        for (int h = 0; h < 2; h++) {
            int j0 = 4 * pair + h;
            int j1 = j0 + 2;
            pick[2 * pair + h] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short) ((2 * j0 + 1) << 8 | 2 * j0))),
                    _mm256_set1_epi16((short) ((2 * j1 + 1) << 8 | 2 * j1)), 1);
        }
    }
    __m256d acc = _mm256_setzero_pd();
    __m256d mins = _mm256_setzero_pd();
    for (int sb = 0; sb < superBlocks; sb++, p += Q4K_BLOCK, xq += 256, xf += 8, xfsum += 8) {
        double dx = (double) xd[sb] * (1.0 / 256.0);
        __m512i sf4 = _mm512_broadcast_i32x4(q4k_block_scales(p, dx, xf, xfsum, &mins));
        __m512i sumLo = _mm512_setzero_si512();
        __m512i sumHi = _mm512_setzero_si512();
        for (int pair = 0; pair < 2; pair++) {
            __m512i v = _mm512_loadu_si512((const void *) (p + 20 + 64 * pair));
            __m512i lo = _mm512_and_si512(v, low);                       /* sub-blocks 4 * pair and 4 * pair + 2 */
            __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low); /* 4 * pair + 1 and 4 * pair + 3 */
            const int8_t *x = xq + 128 * pair;
            sumLo = _mm512_dpwssd_epi32(sumLo, _mm512_maddubs_epi16(lo, load2x256(x, x + 64)), _mm512_shuffle_epi8(sf4, pick[2 * pair]));
            sumHi = _mm512_dpwssd_epi32(sumHi, _mm512_maddubs_epi16(hi, load2x256(x + 32, x + 96)), _mm512_shuffle_epi8(sf4, pick[2 * pair + 1]));
        }
        __m512i sum = _mm512_add_epi32(sumLo, sumHi);
        __m256i sum8 = _mm256_add_epi32(_mm512_castsi512_si256(sum), _mm512_extracti64x4_epi64(sum, 1));
        __m256d s = _mm256_add_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(sum8)), _mm256_cvtepi32_pd(_mm256_extracti128_si256(sum8, 1)));
        acc = _mm256_fmadd_pd(s, _mm256_set1_pd(f16(p) * dx), acc);
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

/* Whether row_q4k_512 runs on this CPU (supported() true as well). */
JNIEXPORT jboolean JNICALL Java_ai_convllava_model_quant_NativeKernels_wideSupported(JNIEnv *env, jclass cls) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512vnni");
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

/* y[yOff + r] for rows [from, to) of an array of Q8_0 rows of rowBytes bytes each (cols a multiple of 32). */
JNIEXPORT void JNICALL Java_ai_convllava_model_quant_NativeKernels_q8Rows(JNIEnv *env, jclass cls, jbyteArray w, jint rowBytes, jint cols,
        jint from, jint to, jint yOff, jbyteArray xq, jfloatArray xd, jfloatArray y) {
    jarray arrays[4] = {w, xq, xd, y};
    void *p[4];
    if (!pin(env, 4, arrays, p)) {
        return;
    }
    const uint8_t *blocks = p[0];
    float *out = p[3];
    for (jint r = from; r < to; r++) {
        out[yOff + r] = row_q8(blocks + (size_t) r * rowBytes, cols / 32, p[1], p[2]);
    }
    unpin(env, 4, arrays, p, 1u << 3);
}

/*
 * The same for Q4_K rows (cols a multiple of 256) and an activation quantized in groups of 256; wide: the 512-bit kernel (Java
 * checked wideSupported()).
 */
JNIEXPORT void JNICALL Java_ai_convllava_model_quant_NativeKernels_q4kRows(JNIEnv *env, jclass cls, jboolean wide, jbyteArray w, jint rowBytes, jint cols,
        jint from, jint to, jint yOff, jbyteArray xq, jfloatArray xd, jshortArray xf, jintArray xfsum, jfloatArray y) {
    jarray arrays[6] = {w, xq, xd, xf, xfsum, y};
    void *p[6];
    if (!pin(env, 6, arrays, p)) {
        return;
    }
    const uint8_t *blocks = p[0];
    float *out = p[5];
    for (jint r = from; r < to; r++) {
        const uint8_t *row = blocks + (size_t) r * rowBytes;
        out[yOff + r] = wide ? row_q4k_512(row, cols / 256, p[1], p[2], p[3], p[4]) : row_q4k(row, cols / 256, p[1], p[2], p[3], p[4]);
    }
    unpin(env, 6, arrays, p, 1u << 5);
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
