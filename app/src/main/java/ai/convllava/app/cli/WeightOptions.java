package ai.convllava.app.cli;

import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.WeightFormat;
import picocli.CommandLine.Option;

/** How the weights are held in memory: {@code --weights} and {@code --tower} (a picocli mixin). */
public final class WeightOptions {
    @Option(names = "--weights", paramLabel = "auto|f32|f16|q8_0|q4_k", defaultValue = "auto",
            description = "LLM weights in memory: f16 (2 bytes a weight), q8_0 (8-bit, 1.06), q4_k (4-bit, 0.58); the 8/4-bit ones are read"
                    + " from the file `convllava models quantize` makes, or quantized while loading (auto: the most accurate that fits)")
    String weights;

    @Option(names = "--tower", defaultValue = "auto", paramLabel = "auto|resident|streamed",
            description = "vision tower and token embedding weights: kept in memory, or read when used (the tower per image, embeddings per"
                    + " token) to save ~1.6 GB at 1536 (auto: resident when everything fits)")
    String tower;

    /** The {@code --weights} choice; null for auto (the engine picks by model size). */
    WeightFormat weightFormat() {
        return WeightFormat.parse(weights);
    }

    TowerMemory towerMemory() {
        return TowerMemory.parse(tower);
    }
}
