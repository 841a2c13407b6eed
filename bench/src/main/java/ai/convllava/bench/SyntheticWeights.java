package ai.convllava.bench;

import ai.convllava.model.spi.DType;
import ai.convllava.model.spi.MissingWeightException;
import ai.convllava.model.spi.TensorInfo;
import ai.convllava.model.spi.WeightSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Deterministic random weights for a {@link SyntheticModel}: no file, the exact key set and shapes of
 * a real checkpoint, stored as BF16 (so byte counts and the load path are realistic). Values are
 * generated when read, from the seed and the key only (never from the read order or thread count):
 *
 * <ul>
 *   <li>matrices and convolution kernels: uniform with mean 0 and standard deviation
 *       {@code 1/sqrt(fan_in)} (fan_in = product of all but the first dimension);</li>
 *   <li>norm weights: {@code 1 +- 0.05}; biases: {@code +- 0.02}; layer scales: 0.5;</li>
 *   <li>{@code lm_head} rows 0..2 (unk, BOS, EOS) are zero: their logit is exactly 0 while the
 *       largest of 32000 random logits is positive, so greedy decoding never stops early on EOS;</li>
 *   <li>every value is rounded to bfloat16, so the same model read back from a BF16 checkpoint
 *       written by {@link SyntheticCheckpoint} is bit-identical.</li>
 * </ul>
 *
 * Generation runs in parallel chunks of 64 Ki values, each from its own splitmix64 stream; the time
 * spent is kept ({@link #generationNanos}, CPU time summed over threads) so the benchmark can show it does not dominate loading.
 */
public final class SyntheticWeights implements WeightSource {
    /** Special token rows of lm_head set to zero (unk, BOS, EOS). */
    public static final int ZERO_LM_HEAD_ROWS = 3;
    private static final int CHUNK = 1 << 16;
    /**
     * One chunk buffer per thread, reused: a new 256 KB array per chunk made GBs of garbage while a
     * ConvLLaVA-1536 loaded, and the heap G1 grew for it showed in the bench's peak RSS. The checkpoint reader (ShardedCheckpoint) reuses one buffer per thread as well.
     */
    private static final ThreadLocal<float[]> CHUNK_BUFFER = ThreadLocal.withInitial(() -> new float[CHUNK]);
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final float SQRT3 = (float) Math.sqrt(3);

    private final SyntheticModel model;
    private final long seed;
    private final Map<String, TensorInfo> infos;
    private final Set<String> used = ConcurrentHashMap.newKeySet();
    private final AtomicLong generationNanos = new AtomicLong();
    private final AtomicLong valuesGenerated = new AtomicLong();

    public SyntheticWeights(SyntheticModel model, long seed) {
        this.model = model;
        this.seed = seed;
        Path file = Path.of("synthetic-" + model.name() + "-seed-" + seed);
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, long[]> e : model.shapes().entrySet()) {
            long n = 1;
            for (long d : e.getValue()) {
                n *= d;
            }
            m.put(e.getKey(), new TensorInfo(e.getKey(), DType.BF16, e.getValue(), file, offset, n * 2));
            offset += n * 2;
        }
        this.infos = Collections.unmodifiableMap(m);
    }

    public SyntheticModel model() {
        return model;
    }

    public long seed() {
        return seed;
    }

    /** Stored (BF16) bytes of all tensors. */
    public long totalBytes() {
        return infos.values().stream().mapToLong(TensorInfo::byteLength).sum();
    }

    /** Wall time spent generating values so far (summed over reads). */
    public long generationNanos() {
        return generationNanos.get();
    }

    public long valuesGenerated() {
        return valuesGenerated.get();
    }

    @Override
    public String describe() {
        return "synthetic weights for " + model.name() + " (seed " + seed + ", " + infos.size() + " tensors, BF16)";
    }

    @Override
    public Set<String> keys() {
        return infos.keySet();
    }

    @Override
    public boolean contains(String key) {
        return infos.containsKey(key);
    }

    @Override
    public TensorInfo info(String key) {
        TensorInfo info = infos.get(key);
        if (info == null) {
            throw new MissingWeightException("missing weight '" + key + "' in " + describe() + ": the synthetic model has no such tensor");
        }
        return info;
    }

    private TensorInfo checked(String key, long[] expectedShape) {
        TensorInfo info = info(key);
        if (expectedShape != null && expectedShape.length > 0 && !Arrays.equals(expectedShape, info.shape())) {
            throw new MissingWeightException("weight '" + key + "' has shape " + info.shapeString() + " but the model expects "
                    + Arrays.toString(expectedShape) + " (in " + describe() + ")");
        }
        return info;
    }

    @Override
    public ByteBuffer readFloat32(String key, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        if (info.numel() * 4 > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor '" + key + "' is over 2 GiB as float32");
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) (info.numel() * 4)).order(ByteOrder.LITTLE_ENDIAN);
        fill(info, out.asFloatBuffer());
        used.add(key);
        return out;
    }

    @Override
    public float[] readFloatArray(String key, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        float[] out = new float[Math.toIntExact(info.numel())];
        fill(info, FloatBuffer.wrap(out));
        used.add(key);
        return out;
    }

    @Override
    public void readInto(String key, FloatBuffer dst, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        WeightSource.checkRange(key, info.numel(), 0, Math.toIntExact(info.numel()), dst);
        fill(info, dst);
        used.add(key);
    }

    /** Generates only the chunks that overlap the range (no tensor-sized buffer), in parallel like {@link #fill}. */
    @Override
    public void readRangeInto(String key, long first, int count, FloatBuffer dst, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        WeightSource.checkRange(key, info.numel(), first, count, dst);
        Params p = params(info);
        long end = first + count;
        int base = dst.position();
        int c0 = (int) (first / CHUNK);
        int c1 = (int) ((end + CHUNK - 1) / CHUNK);
        IntStream range = IntStream.range(c0, c1);
        (c1 - c0 > 4 ? range.parallel() : range).forEach(c -> {
            float[] buf = CHUNK_BUFFER.get();
            int n = chunk(p, info.numel(), c, buf);
            long chunkStart = (long) c * CHUNK;
            int from = (int) Math.max(0, first - chunkStart);
            int to = (int) Math.min(n, end - chunkStart);
            dst.put(base + (int) (chunkStart + from - first), buf, from, to - from);
        });
        dst.position(base + count);
        used.add(key);
    }

    /**
     * The tensor as stored: BF16 bits, little-endian, into {@code dst} at its position (advanced by
     * 2 * numel). Chunk by chunk, so writing a checkpoint needs no tensor-sized Java array.
     */
    public void readBf16(String key, ByteBuffer dst) {
        TensorInfo info = info(key);
        ShortBuffer shorts = dst.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        float[] buf = CHUNK_BUFFER.get();
        long numel = info.numel();
        Params p = params(info);
        for (int c = 0; c < chunks(numel); c++) {
            int n = chunk(p, numel, c, buf);
            for (int i = 0; i < n; i++) {
                shorts.put(c * CHUNK + i, (short) (Float.floatToRawIntBits(buf[i]) >>> 16)); // exact: values are bf16 already
            }
        }
        dst.position(dst.position() + (int) (2 * numel));
    }

    @Override
    public Set<String> unusedKeys() {
        Set<String> unused = new LinkedHashSet<>(infos.keySet());
        unused.removeAll(used);
        return Collections.unmodifiableSet(unused);
    }

    @Override
    public void close() {
        // nothing to release
    }

    /** How a tensor is initialised, from its key. */
    enum Init { MATRIX, NORM, BIAS, LAYER_SCALE }

    static Init initOf(String key, long[] shape) {
        if (key.endsWith("layer_scale_parameter")) {
            return Init.LAYER_SCALE;
        }
        if (key.endsWith(".bias")) {
            return Init.BIAS;
        }
        if (shape.length == 1) {
            return Init.NORM; // every 1-d weight here is a LayerNorm / RMSNorm weight
        }
        return Init.MATRIX;
    }

    /** Per-tensor generation parameters: value = offset + scale * u, u uniform in [-1, 1). */
    private record Params(String key, long keySeed, float scale, float offset, long zeroPrefix) {
    }

    private Params params(TensorInfo info) {
        long[] shape = info.shape();
        long fanIn = 1;
        for (int i = 1; i < shape.length; i++) {
            fanIn *= shape[i];
        }
        float scale;
        float offset;
        switch (initOf(info.name(), shape)) {
            case MATRIX -> {
                scale = (float) (1 / Math.sqrt(fanIn)) * SQRT3; // uniform(-a, a) has std a / sqrt(3)
                offset = 0;
            }
            case NORM -> {
                scale = 0.05f;
                offset = 1;
            }
            case BIAS -> {
                scale = 0.02f;
                offset = 0;
            }
            default -> {
                scale = 0;
                offset = 0.5f;
            }
        }
        long zero = info.name().equals("lm_head.weight") ? ZERO_LM_HEAD_ROWS * shape[1] : 0;
        return new Params(info.name(), mix(seed ^ fnv64(info.name())), scale, offset, zero);
    }

    private static int chunks(long numel) {
        return (int) ((numel + CHUNK - 1) / CHUNK);
    }

    /** Values [c * CHUNK, c * CHUNK + n) of the tensor into buf[0, n); returns n. */
    private int chunk(Params p, long numel, int c, float[] buf) {
        long start = System.nanoTime();
        long from = (long) c * CHUNK;
        int n = (int) Math.min(CHUNK, numel - from);
        long state = mix(p.keySeed() + (c + 1) * GOLDEN);
        float scale = p.scale();
        float offset = p.offset();
        for (int i = 0; i < n; i += 2) {
            state += GOLDEN;
            long r = mix(state);
            buf[i] = bf16(offset + scale * ((int) r * 0x1p-31f));
            if (i + 1 < n) {
                buf[i + 1] = bf16(offset + scale * ((int) (r >>> 32) * 0x1p-31f));
            }
        }
        for (long i = from; i < Math.min(from + n, p.zeroPrefix()); i++) {
            buf[(int) (i - from)] = 0;
        }
        generationNanos.addAndGet(System.nanoTime() - start);
        valuesGenerated.addAndGet(n);
        return n;
    }

    private void fill(TensorInfo info, FloatBuffer dst) {
        long numel = info.numel();
        Params p = params(info);
        int base = dst.position();
        int chunks = chunks(numel);
        IntStream range = IntStream.range(0, chunks);
        (chunks > 4 ? range.parallel() : range).forEach(c -> {
            float[] buf = CHUNK_BUFFER.get();
            int n = chunk(p, numel, c, buf);
            dst.put(base + c * CHUNK, buf, 0, n);
        });
        dst.position(base + (int) numel);
    }

    /** Rounds to the nearest bfloat16 (ties to even), as torch's float32 -> bfloat16 cast. */
    static float bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }

    /** splitmix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static long fnv64(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
