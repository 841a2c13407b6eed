package ai.convllava.hub;

import java.util.List;

/**
 * One downloadable ConvLLaVA size: the language model repo and its ConvNeXt vision-tower repo, and
 * what it costs. The costs are a static table until the benchmark measures this machine.
 *
 * @param id              what users type: "768", "1024", "1536"
 * @param modelRepo       e.g. ConvLLaVA/ConvLLaVA-sft-1536
 * @param towerRepo       e.g. ConvLLaVA/ConvLLaVA-ConvNeXt-1536 (null when the model needs none)
 * @param revision        branch, tag or commit to download ("main")
 * @param downloadBytes   both repos, approximately (the exact size comes from the Hub before downloading)
 * @param ramBytesCpu     memory needed to run on CPU (float16 LLM weights, float32 tower, activations)
 * @param visualTokens    image tokens per picture (canvas / 64)^2
 * @param canvas          the image side the tower was trained on
 * @param speedNote       speed measured with {@code convllava bench} on the project's 2-core test machine
 *                        (docs/bench): decode grows with memory bandwidth, the first answer with cores
 */
public record ModelVariant(String id, String modelRepo, String towerRepo, String revision, long downloadBytes, long ramBytesCpu,
                           int visualTokens, int canvas, String speedNote) {
    private static final long GB = 1_000_000_000L;

    public ModelVariant {
        if (id == null || id.isBlank() || modelRepo == null) {
            throw new IllegalArgumentException("a model variant needs an id and a model repository");
        }
        RepoId.check(modelRepo);
        if (towerRepo != null) {
            RepoId.check(towerRepo);
        }
        revision = revision == null || revision.isBlank() ? "main" : revision;
    }

    /** The published sizes. */
    public static final List<ModelVariant> STANDARD = List.of(
            new ModelVariant("768", "ConvLLaVA/ConvLLaVA-sft-768", "ConvLLaVA/ConvLLaVA-ConvNeXt-768", "main",
                    15 * GB + 13 * GB / 10, 17 * GB, 144, 768, "2-core test machine, f16: first answer ~50 s, then 0.7-0.9 tokens/s"),
            new ModelVariant("1024", "ConvLLaVA/ConvLLaVA-sft-1024", "ConvLLaVA/ConvLLaVA-ConvNeXt-1024", "main",
                    15 * GB + 13 * GB / 10, 17 * GB, 256, 1024, "2-core test machine, f16: first answer ~75 s (estimated between 768 and 1536), then 0.7-0.9 tokens/s"),
            new ModelVariant("1536", "ConvLLaVA/ConvLLaVA-sft-1536", "ConvLLaVA/ConvLLaVA-ConvNeXt-1536", "main",
                    15 * GB + 13 * GB / 10, 18 * GB, 576, 1536, "2-core test machine, f16: first answer 107-137 s, then 0.7-0.9 tokens/s; the most detail"));

    /** The standard variant with this id ("768", "1024", "1536", or the repo name). */
    public static ModelVariant standard(String id) {
        for (ModelVariant v : STANDARD) {
            if (v.id.equals(id) || v.modelRepo.equalsIgnoreCase(id) || v.modelRepo.endsWith("-" + id)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown model size " + id + ": choose 768, 1024 or 1536");
    }

    /** The repositories to download, tower first (the model is only usable with both). */
    public List<String> repos() {
        return towerRepo == null ? List.of(modelRepo) : List.of(towerRepo, modelRepo);
    }
}
