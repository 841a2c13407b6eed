package ai.convllava.model.nn;

import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.diagnostics.NativeHeap;
import ai.djl.ndarray.NDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The ConvNeXt vision tower with ConvLLaVA's fifth stage: embeddings, then the stages. The
 * features are the last stage's output <b>without</b> the final LayerNorm
 * ({@code hidden_states[-1]}), flattened row-major: (1, h, w, C) -> (1, h*w, C).
 */
public final class ConvNextEncoder {
    private final ConvNextConfig config;
    private final ConvNextEmbeddings embeddings;
    private final boolean streamed;
    private final List<ConvNextStage> stages = new ArrayList<>();

    /** @param prefix "" for a ConvLLaVA-ConvNeXt folder, {@code model.vision_tower.vision_tower.} inside the sft shards */
    public ConvNextEncoder(Weights w, String prefix, ConvNextConfig c) {
        this(w, prefix, c, false);
    }

    /** @param streamBlocks read each ConvNeXt block's weights when it runs instead of keeping them ({@link ConvNextStage}) */
    public ConvNextEncoder(Weights w, String prefix, ConvNextConfig c, boolean streamBlocks) {
        this.config = c;
        this.streamed = streamBlocks;
        this.embeddings = new ConvNextEmbeddings(w, prefix + "embeddings.", c);
        for (int s = 0; s < c.numStages(); s++) {
            stages.add(new ConvNextStage(w, prefix + "encoder.stages." + s + ".", c, s, streamBlocks));
        }
    }

    /** True when the blocks' weights are read per image (and the weight source must stay open). */
    public boolean streamed() {
        return streamed;
    }

    /** Every checkpoint key this encoder reads, for load planning and progress. */
    public static List<String> keys(String prefix, ConvNextConfig c) {
        List<String> k = new ArrayList<>(List.of(prefix + "embeddings.patch_embeddings.weight", prefix + "embeddings.patch_embeddings.bias",
                prefix + "embeddings.layernorm.weight", prefix + "embeddings.layernorm.bias"));
        for (int s = 0; s < c.numStages(); s++) {
            String sp = prefix + "encoder.stages." + s + ".";
            if (s > 0) {
                for (String n : new String[] {"0.weight", "0.bias", "1.weight", "1.bias"}) {
                    k.add(sp + "downsampling_layer." + n);
                }
            }
            for (int i = 0; i < c.depth(s); i++) {
                for (String n : new String[] {"dwconv.weight", "dwconv.bias", "layernorm.weight", "layernorm.bias", "pwconv1.weight",
                        "pwconv1.bias", "pwconv2.weight", "pwconv2.bias"}) {
                    k.add(sp + "layers." + i + "." + n);
                }
                if (c.layerScale()) {
                    k.add(sp + "layers." + i + ".layer_scale_parameter");
                }
            }
        }
        return k;
    }

    public ConvNextConfig config() {
        return config;
    }

    /** pixel_values (1, 3, H, W), H and W multiples of the stride -> features (1, H/64 * W/64, C_last). */
    public NDArray forward(NDArray pixelValues, BooleanSupplier cancelled) {
        NDArray h = embeddings.forward(pixelValues);
        for (int i = 0; i < stages.size(); i++) {
            h = stages.get(i).forward(h, cancelled); // the stage closes its input
            // Each stage's maps are half as tall and twice as wide as the last's: glibc (which the launcher keeps
            // from trimming, for speed) cannot fit them into what the last stage freed without spreading over more
            // of the heap. Handing the freed pages back at each stage boundary costs the re-touch of one stage's
            // maps and lowers the encode's peak (docs/bench/quant.md, "The encode's C heap").
            NativeHeap.trimQuietly("after vision stage " + i);
        }
        long[] s = h.getShape().getShape();
        NDArray flat = h.reshape(1, s[1] * s[2], s[3]); // (1, h, w, C) -> (1, h*w, C)
        if (flat != h) {
            h.close();
        }
        return flat;
    }
}
