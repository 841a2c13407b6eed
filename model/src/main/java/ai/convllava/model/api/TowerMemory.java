package ai.convllava.model.api;

/**
 * Where the vision tower's block weights (and the token embeddings) live between uses.
 * <ul>
 *   <li>{@link #RESIDENT}: in memory for the model's lifetime (ConvNeXt-L + stage 5: ~1.3 GB as
 *       float16 pointwise linears); fastest.</li>
 *   <li>{@link #STREAMED}: read from the checkpoint block by block while an image is encoded and freed
 *       right after, so only one block's weights (at most ~0.3 GB as float32) exist at a time. The
 *       reads come from the OS page cache when it still holds the files: about a second per new
 *       image at 1536 on top of ~35 s of encoding; images seen before reuse their features. The LLM's
 *       token embeddings are then read from the checkpoint per token too ({@code TokenEmbedding}: 262 MB
 *       less at 7B in float16, microseconds per token).</li>
 *   <li>{@link #AUTO}: resident when the whole model fits in the available memory, else streamed.</li>
 * </ul>
 */
public enum TowerMemory {
    AUTO, RESIDENT, STREAMED
}
