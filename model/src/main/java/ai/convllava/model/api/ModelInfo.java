package ai.convllava.model.api;

import java.nio.file.Path;

/**
 * A loaded model, as the app shows it.
 *
 * @param canvasSide      the vision tower's canvas (1536 for ConvLLaVA-1536)
 * @param stride          the encoder's total stride (64): one visual token per stride x stride cell
 * @param visionTower     where the encoder came from (one line)
 * @param device          what runs it, e.g. "CPU (8 threads)"
 * @param contextTokens   max_position_embeddings
 */
public record ModelInfo(Path folder, String name, int canvasSide, int stride, String visionTower, String device, WeightFormat weightFormat,
                        int layers, int contextTokens, double loadSeconds) {
}
