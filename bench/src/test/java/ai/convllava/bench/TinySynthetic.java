package ai.convllava.bench;

import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.config.LlamaConfig;

/** A tiny ConvLLaVA with the real structure (5 stages, stride 64, GQA, vocab 32000) for fast tests. */
final class TinySynthetic {
    private TinySynthetic() {
    }

    static SyntheticModel model(int layers) {
        LlamaConfig llm = new LlamaConfig(32, 88, layers, 4, 2, 4096, 1e-5, 10000.0, 32000, false, 1, 2);
        ConvNextConfig tower = new ConvNextConfig(3, 4, new int[] {8, 8, 16, 16, 24}, new int[] {1, 1, 2, 1, 1}, true, 128);
        return SyntheticModel.of("tiny", llm, tower);
    }
}
