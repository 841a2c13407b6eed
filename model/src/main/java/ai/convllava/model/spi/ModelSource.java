package ai.convllava.model.spi;

import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.config.LlavaConfig;

/**
 * A model whose configuration, weights and tokenizer are not files in a checkpoint folder: the
 * benchmark's full-size synthetic ConvLLaVA, generated on the fly. A session loads it like a folder
 * ({@code LoadOptions.ofSource}); the vision tower's weights sit in {@link #weights()} under
 * {@code model.vision_tower.vision_tower.}, as in the published sft shards.
 *
 * <p>The weights stay the caller's: the session reads them while it loads (and, with the tower
 * streamed, for every image) and does not close them; close them after the session has unloaded the
 * model. {@link #tokenizer()} gives a new tokenizer on each call, which the loaded model owns and closes.
 */
public interface ModelSource {
    /** One line for logs: what the model is and where its weights come from. */
    String describe();

    /** What config.json would say. */
    LlavaConfig config();

    /** The five-stage encoder, its canvas included. */
    ConvNextConfig visionTower();

    WeightSource weights();

    TextTokenizer tokenizer();
}
