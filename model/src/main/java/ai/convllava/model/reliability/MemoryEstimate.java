package ai.convllava.model.reliability;

import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.config.LlamaConfig;
import ai.convllava.model.nn.ConvNextLayer;
import ai.convllava.model.nn.LinearLayer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Memory a ConvLLaVA model needs on CPU, predicted from its configs before anything is loaded, and a
 * check against the RAM the OS says is available ({@code MemAvailable} in /proc/meminfo), so that the
 * app can say "this needs 21 GB, you have 8" instead of dying half-way through a 15 GB load.
 *
 * <p>What is counted, matching how the engine holds things on CPU: the LLM's linear weights (lm_head
 * included) in the chosen {@link WeightFormat}, the token embeddings in it too (float16 when it is a
 * quantized format), its norms in float32; the projector's weights and the tower's pointwise linears and
 * downsampling kernels float32 with F32, float16 otherwise, the rest of the tower float32; the KV cache in float32 (8-bit
 * with the quantized formats) for
 * {@code contextTokens} positions (layers x 2 x kv_heads x head_dim); working
 * memory (the largest vision stage's activations, its 4x MLP expansion bounded by the bands of rows
 * ConvNextLayer works in, the prefill's MLP / attention temporaries for the image plus a typical
 * question, one block of a weight matrix widened to float32 for a prefill matmul when the weights are
 * F16 or dequantized, the logits); and a fixed allowance for the JVM and libtorch.
 *
 * @param towerStreamed     the tower's blocks are read per image and the token embeddings per token instead of kept
 *                          ({@code TowerMemory.STREAMED})
 * @param llmWeightBytes    LLM weights (linear layers in the weight format, norms float32)
 * @param projectorBytes    the mlp2x_gelu projector
 * @param visionTowerBytes  the ConvNeXt encoder (pointwise linears in the format, the rest float32)
 * @param kvCacheBytes      keys and values for {@code contextTokens} positions, float32 (8-bit with a float32 scale per head
 *                          and position with Q8_0 and Q4_K: {@link WeightFormat#cpuKvCacheBytesPerValue})
 * @param workingBytes      peak temporaries of encoding an image and reading a prompt
 * @param runtimeBytes      JVM heap, class data and libtorch's own allocations (a fixed allowance)
 * @param javaHeapBytes     the part of {@code llmWeightBytes} held on the Java heap: the quantized formats' blocks
 *                          (the Vector API kernels read heap arrays), 0 for F32 and F16 (libtorch's memory)
 */
public record MemoryEstimate(WeightFormat format, boolean towerStreamed, int contextTokens, long llmWeightBytes, long projectorBytes,
                             long visionTowerBytes, long kvCacheBytes, long workingBytes, long runtimeBytes, long javaHeapBytes) {

    /** Java heap the app needs besides quantized weights: images, the UI, loading buffers. */
    public static final long HEAP_ALLOWANCE = 512L << 20;

    /** JVM (heap for images and the UI), class data, libtorch and its thread pools: measured ~0.5-0.8 GB. */
    public static final long RUNTIME_ALLOWANCE = 800L << 20;
    /** Text tokens assumed besides the image for the prefill temporaries (system prompt + a question). */
    static final int PROMPT_TEXT_TOKENS = 256;

    /** How a check came out; {@code message} is one line for the UI or the CLI. */
    public record Check(boolean fits, long neededBytes, long availableBytes, String message) {
    }

    public static MemoryEstimate of(LlamaConfig llm, int mmHiddenSize, ConvNextConfig tower, int canvasSide,
                                    WeightFormat format, int contextTokens) {
        return of(llm, mmHiddenSize, tower, canvasSide, format, contextTokens, false);
    }

    /**
     * @param towerStreamed the tower's blocks are read per image (TowerMemory.STREAMED): only the stem,
     *                      the downsampling layers and the biggest block (as it is read) count; the token
     *                      embeddings are read per token and not counted
     */
    public static MemoryEstimate of(LlamaConfig llm, int mmHiddenSize, ConvNextConfig tower, int canvasSide,
                                    WeightFormat format, int contextTokens, boolean towerStreamed) {
        if (contextTokens <= 0 || contextTokens > llm.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("contextTokens must be in [1, max_position_embeddings=" + llm.maxPositionEmbeddings()
                    + "] (got " + contextTokens + ")");
        }
        // the LLM's linear layers in the format; quantized, the token embeddings and the tower stay float16
        double lw = format.bytesPerWeight();
        long w = format == WeightFormat.F32 ? 4 : 2;
        long h = llm.hiddenSize();
        long inter = llm.intermediateSize();
        long heads = llm.numAttentionHeads();
        long headDim = h / heads;
        long kvDim = llm.numKeyValueHeads() * headDim;
        long vocab = llm.vocabSize();
        long layers = llm.numHiddenLayers();

        // lm_head and the embedding table (a copy of its own even when tied); streamed, the table stays on disk (TokenEmbedding)
        long linearParams = vocab * h + layers * (h * h * 2 + h * kvDim * 2 + 3 * h * inter);
        long embeddingParams = towerStreamed ? 0 : vocab * h;
        long normParams = layers * 2 * h + h;
        long llmBytes = (long) (linearParams * lw) + embeddingParams * w + normParams * 4;
        long projectorBytes = (mmHiddenSize * h + h * h) * w + 2 * h * 4; // weights as the tower's linears, biases float32

        int[] c = tower.hiddenSizes();
        int[] d = tower.depths();
        long towerBytes = (3L * c[0] * tower.patchSize() * tower.patchSize() + c[0] + 2L * c[0]) * 4;
        long visionPeak = 0;
        long biggestBlock = 0;
        long side = canvasSide / tower.patchSize();
        for (int s = 0; s < c.length; s++) {
            if (s > 0) {
                towerBytes += (2L * c[s - 1] + c[s]) * 4 + 4L * c[s - 1] * c[s] * w; // norm, bias; kernel stored as the linears
                side /= 2;
            }
            long pointwise = 8L * c[s] * c[s]; // pwconv1 + pwconv2, in the weight format
            long rest = 49L * c[s] + c[s] + 2L * c[s] + 4L * c[s] + c[s] + c[s];
            if (towerStreamed) {
                biggestBlock = Math.max(biggestBlock, pointwise * w + rest * 4); // read as the resident tower keeps it (ConvNextStage)
            } else {
                towerBytes += d[s] * (pointwise * w + rest * 4);
            }
            long map = side * side * c[s] * 4; // one (side, side, C) float32 activation
            long hiddenBand = Math.min(4 * map, ConvNextLayer.MAX_HIDDEN_BYTES);
            // a map small enough for one band: input, depthwise conv and output; a bigger one is written over its
            // input band by band (ConvNextLayer.forward, the stem likewise), with the band's rows and their
            // convolution beside it; plus a band's 2 hidden (pointwise-1, GELU) and ~3 narrow temporaries (norm,
            // pointwise-2, residual), plus the pointwise weights widened to float32
            boolean banded = 4 * map > ConvNextLayer.MAX_HIDDEN_BYTES;
            long maps = banded ? map + 2 * hiddenBand / 4 : 3 * map;
            long widenedTower = format != WeightFormat.F32 && !towerStreamed ? pointwise * 4 : 0;
            visionPeak = Math.max(visionPeak, maps + 2 * hiddenBand + 3 * hiddenBand / 4 + widenedTower);
        }

        towerBytes += biggestBlock;
        long kvBytes = (long) (layers * 2 * kvDim * (long) contextTokens * format.cpuKvCacheBytesPerValue(llm.headDim()));

        long imageTokens = (long) (canvasSide / tower.stride()) * (canvasSide / tower.stride());
        long t = imageTokens + PROMPT_TEXT_TOKENS;
        long mlp = t * inter * 4 * 3 + t * h * 4 * 6; // gate, up, act; hidden states and residuals
        long attention = heads * t * t * 4 * 2; // scores and probabilities
        // a weight block upcast (F16) or dequantized (Q8_0, Q4_K) to float32 for a prefill matmul
        long widened = format == WeightFormat.F16 ? (long) LinearLayer.BLOCK_ROWS * Math.max(h, inter) * 4
                : format.quantized() ? 2L * Math.min(16L << 20, vocab * h * 4) : 0;
        long logits = vocab * 4 * 2;
        long llmPeak = mlp + attention + widened + logits;
        long working = Math.max(visionPeak, llmPeak) + (long) canvasSide * canvasSide * 3 * 4 * 2; // + pixel tensor and canvas

        long heap = format.quantized() ? (long) (linearParams * lw) : 0;
        return new MemoryEstimate(format, towerStreamed, contextTokens, llmBytes, projectorBytes, towerBytes, kvBytes, working, RUNTIME_ALLOWANCE,
                heap);
    }

    public long totalBytes() {
        return llmWeightBytes + projectorBytes + visionTowerBytes + kvCacheBytes + workingBytes + runtimeBytes;
    }

    /** Checks against {@link #availableBytes()}; when the OS does not tell, the check passes with a note. */
    public Check check() {
        return check(availableBytes());
    }

    public Check check(long available) {
        long need = totalBytes();
        String parts = "LLM weights " + gb(llmWeightBytes) + " as " + format + ", vision tower " + gb(visionTowerBytes)
                + (towerStreamed ? " (streamed per image)" : "")
                + ", projector " + gb(projectorBytes) + ", KV cache for " + contextTokens + " tokens " + gb(kvCacheBytes)
                + ", working memory " + gb(workingBytes) + ", runtime " + gb(runtimeBytes);
        if (available < 0) {
            return new Check(true, need, available, "this model needs about " + gb(need) + " of RAM (" + parts
                    + "); free memory is unknown on this system");
        }
        if (need <= available) {
            return new Check(true, need, available, "this model needs about " + gb(need) + " of RAM (" + parts + "); "
                    + gb(available) + " is available");
        }
        String hint = format == WeightFormat.F32 ? "; F16 weights would need about "
                + gb(need - llmWeightBytes / 2 - visionTowerBytes / 2) : format == WeightFormat.F16 || format == WeightFormat.Q8_0
                ? "; 4-bit weights need about a third of the LLM's memory (the app's Use 4-bit weights, or --weights q4_k)" : "";
        return new Check(false, need, available, "this model needs about " + gb(need) + " of RAM (" + parts + ") but only "
                + gb(available) + " is available; close other programs or use a smaller model" + hint);
    }

    /**
     * Whether the quantized weights fit the Java heap this JVM may grow to ({@code maxHeap}, from -Xmx or
     * -XX:MaxRAMPercentage) with {@link #HEAP_ALLOWANCE} beside them; always true for F32 and F16.
     */
    public Check heapCheck(long maxHeap) {
        if (javaHeapBytes == 0) {
            return new Check(true, 0, maxHeap, "the weights are held by libtorch, outside the Java heap");
        }
        long need = javaHeapBytes + HEAP_ALLOWANCE;
        if (need <= maxHeap) {
            return new Check(true, need, maxHeap, format.optionName() + " weights take " + gb(javaHeapBytes) + " of the Java heap; it may grow to "
                    + gb(maxHeap));
        }
        long gib = (need + (1L << 30) - 1) >> 30;
        return new Check(false, need, maxHeap, "the " + format.optionName() + " weights take " + gb(javaHeapBytes) + " of Java heap (plus "
                + gb(HEAP_ALLOWANCE) + " for the rest), but this JVM may use at most " + gb(maxHeap) + ": start Java with -Xmx" + gib
                + "g (or a higher -XX:MaxRAMPercentage)");
    }

    /**
     * MemAvailable from /proc/meminfo in bytes, or -1 where there is no such file (macOS, Windows);
     * {@code -Dconvllava.availableMemory=BYTES} overrides it.
     */
    public static long availableBytes() {
        Long given = Long.getLong("convllava.availableMemory"); // a machine size to plan for (and tests)
        if (given != null) {
            return given;
        }
        Path meminfo = Path.of("/proc/meminfo");
        if (!Files.isReadable(meminfo)) {
            return -1;
        }
        try {
            return parseMemAvailable(Files.readAllLines(meminfo));
        } catch (IOException e) {
            return -1;
        }
    }

    /** The {@code MemAvailable: N kB} line, in bytes; -1 if absent (kernels before 3.14). */
    static long parseMemAvailable(List<String> lines) {
        for (String line : lines) {
            if (line.startsWith("MemAvailable:")) {
                String[] f = line.substring("MemAvailable:".length()).trim().split("\\s+");
                long v = Long.parseLong(f[0]);
                return f.length > 1 && f[1].equalsIgnoreCase("kB") ? v * 1024 : v;
            }
        }
        return -1;
    }

    static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
    }
}
