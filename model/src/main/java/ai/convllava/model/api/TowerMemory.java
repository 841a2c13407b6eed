package ai.convllava.model.api;

/**
 * Where the vision tower's block weights (and the token embeddings) live between uses.
 * <ul>
 *   <li>{@link #RESIDENT}: in memory for the model's lifetime; fastest.</li>
 *   <li>{@link #STREAMED}: read from the checkpoint block by block while an image is encoded and freed
 *       right after, so only one block's weights exist at a time. The
 *       reads come from the OS page cache when it still holds the files, a small part of an image's
 *       encode; images seen before reuse their features. The LLM's token embeddings are then read from
 *       the checkpoint per token too ({@code TokenEmbedding}).</li>
 *   <li>{@link #AUTO}: resident when the whole model fits in the available memory, else streamed.</li>
 * </ul>
 */
public enum TowerMemory {
    AUTO, RESIDENT, STREAMED;

    /** auto, resident or streamed, in any case; anything else is an error that lists them. */
    public static TowerMemory parse(String s) {
        return Options.parse(TowerMemory.class, s, "--tower");
    }
}
