package ai.convllava.model.api;

import ai.convllava.model.engine.ModelLoader;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What a model needs in memory on this machine in each weight format, and which one {@code auto}
 * loads: for the Settings' "Weights" choice, the model manager and {@code models list}. The same
 * estimate as the load's own memory check (weights, KV cache, working memory, runtime), against the RAM
 * the OS says is available now and, for the quantized formats, the Java heap this JVM may grow to.
 *
 * @param availableBytes RAM available now (MemAvailable), or -1 where the OS does not say
 * @param maxHeapBytes   the Java heap this JVM may grow to
 * @param options        F16, Q8_0 and Q4_K, in that order (F32 too for small models)
 * @param auto           what {@code --weights auto} and the app's "Auto" load
 */
public record MemoryPlan(long availableBytes, long maxHeapBytes, List<Option> options, WeightFormat auto) {
    public MemoryPlan {
        options = List.copyOf(options);
    }

    /**
     * One format: the memory it needs (with the vision tower streamed when only that fits), whether it
     * fits, why not, and for Q8_0 and Q4_K whether their file has been made ({@link QuantizedWeightFiles}).
     */
    public record Option(WeightFormat format, long neededBytes, TowerMemory towerMemory, boolean fits, String problem,
                         QuantizedWeightFiles.Availability file) {
    }

    /** The plan for the model in {@code modelDir} (reads its config and checkpoint headers; quick). */
    public static MemoryPlan of(Path modelDir) {
        return ModelLoader.memoryPlan(LoadOptions.of(modelDir));
    }

    /** The plan for these load options (their model folder, vision tower and tower memory). */
    public static MemoryPlan of(LoadOptions options) {
        return ModelLoader.memoryPlan(options);
    }

    /** The plan for a published size (768, 1024 or 1536) from its configs, before it is downloaded: no quantized file exists yet. */
    public static MemoryPlan ofStandard(int canvas) {
        return ModelLoader.standardMemoryPlan(canvas);
    }

    /** "f16 15.9 GB, 8-bit 9.4 GB, 4-bit 6.0 GB" (float32 first for small models). */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (Option o : options) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(label(o.format())).append(' ').append(String.format(Locale.ROOT, "%.1f GB", o.neededBytes() / 1e9));
        }
        return sb.toString();
    }

    /** What users read for a format: "f32", "f16", "8-bit", "4-bit". */
    public static String label(WeightFormat f) {
        return switch (f) {
            case F32 -> "f32";
            case F16 -> "f16";
            case Q8_0 -> "8-bit";
            case Q4_K -> "4-bit";
        };
    }

    /** The option of {@code format}, or null when the plan has none (F32 for a 7B model). */
    public Option option(WeightFormat format) {
        return options.stream().filter(o -> o.format() == format).findFirst().orElse(null);
    }
}
