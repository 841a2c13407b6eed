package ai.convllava.bench;

import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.config.LlavaConfig;
import ai.convllava.model.spi.ModelSource;
import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.WeightSource;

/**
 * A synthetic ConvLLaVA as the session loads it: the model's configs, weights generated on the fly (or
 * read back from a synthetic checkpoint on disk) and the stand-in tokenizer.
 */
record SyntheticSource(SyntheticModel model, WeightSource weights) implements ModelSource {
    @Override
    public String describe() {
        return "synthetic " + model.name() + " (" + weights.describe() + ")";
    }

    @Override
    public LlavaConfig config() {
        return model.config();
    }

    @Override
    public ConvNextConfig visionTower() {
        return model.tower();
    }

    @Override
    public TextTokenizer tokenizer() {
        return new SyntheticTokenizer(model.config().llm().vocabSize());
    }
}
