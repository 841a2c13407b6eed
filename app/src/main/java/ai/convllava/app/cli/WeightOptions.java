package ai.convllava.app.cli;

import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.WeightFormat;
import picocli.CommandLine.Option;

import java.util.Locale;

/** How the weights are held in memory: {@code --weights} and {@code --tower}, shared by {@code ask} and {@code bench} (a picocli mixin). */
public final class WeightOptions {
    @Option(names = "--weights", paramLabel = "auto|f32|f16", defaultValue = "auto", description = "LLM weights in memory (auto: f16 for 7B)")
    String weights;

    @Option(names = "--tower", defaultValue = "auto", paramLabel = "auto|resident|streamed",
            description = "vision tower and token embedding weights: kept in memory, or read when used (the tower per image, embeddings per"
                    + " token) to save ~1.6 GB at 1536 (auto: resident when everything fits)")
    String tower;

    /** The {@code --weights} choice; null for auto (the engine picks by model size). */
    WeightFormat weightFormat() {
        if (weights.equalsIgnoreCase("auto")) {
            return null;
        }
        try {
            return WeightFormat.valueOf(weights.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--weights must be auto, f32 or f16 (got " + weights + ")");
        }
    }

    TowerMemory towerMemory() {
        try {
            return TowerMemory.valueOf(tower.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--tower must be auto, resident or streamed (got " + tower + ")");
        }
    }
}
