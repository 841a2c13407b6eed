package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;

import ai.convllava.model.Goldens;
import ai.convllava.model.spi.MissingWeightException;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token embeddings read row by row from the checkpoint give exactly the rows of the loaded table
 * (float32), hold no memory, are checked at load like a loaded tensor, and refuse bad ids and a
 * closed checkpoint with our exceptions.
 */
class TokenEmbeddingTest {
    private static final Path TINY = Goldens.TINY.resolve("tiny-convllava");
    private static final String KEY = LlamaModel.PREFIX + "embed_tokens.weight";

    @Test
    void streamedRowsAreTheLoadedTableRows() {
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(TINY); NDManager m = NDManager.newBaseManager(Device.cpu())) {
            long[] shape = ckpt.info(KEY).shape();
            int vocab = (int) shape[0];
            int hidden = (int) shape[1];
            Weights w = new Weights(ckpt, m, WeightFormat.F32, "test", List.of(KEY), LoadListener.NONE, () -> false);
            TokenEmbedding resident = TokenEmbedding.resident(w, KEY, vocab, hidden);
            TokenEmbedding streamed = TokenEmbedding.streamed(w, KEY, vocab, hidden);
            assertFalse(resident.streamed());
            assertTrue(streamed.streamed());
            assertEquals(0, streamed.residentBytes());
            assertEquals(4L * vocab * hidden, resident.residentBytes());
            int[] ids = {1, 0, vocab - 1, 29871, 5, 5, vocab / 2};
            NDArray a = resident.embed(m, ids);
            NDArray b = streamed.embed(m, ids);
            assertEquals(new Shape(1, ids.length, hidden), b.getShape());
            assertArrayEquals(a.toFloatArray(), b.toFloatArray(), 0f);
            assertThrows(IllegalArgumentException.class, () -> streamed.embed(m, new int[] {3, vocab}));
            assertThrows(IllegalArgumentException.class, () -> streamed.embed(m, new int[] {-200}), "the image placeholder is not a token row");
        }
    }

    @Test
    void aWrongShapeFailsAtLoadAndAClosedCheckpointFailsInJava() {
        NDManager m = NDManager.newBaseManager(Device.cpu());
        TokenEmbedding streamed;
        int hidden;
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(TINY)) {
            long[] shape = ckpt.info(KEY).shape();
            hidden = (int) shape[1];
            Weights w = new Weights(ckpt, m, WeightFormat.F16, "test", List.of(KEY), LoadListener.NONE, () -> false);
            assertThrows(MissingWeightException.class, () -> TokenEmbedding.streamed(w, KEY, (int) shape[0] + 1, hidden));
            streamed = TokenEmbedding.streamed(w, KEY, (int) shape[0], hidden);
            assertEquals(hidden, streamed.embed(m, new int[] {7}).getShape().get(2));
        }
        TokenEmbedding closed = streamed;
        assertThrows(IllegalStateException.class, () -> closed.embed(m, new int[] {7}));
        m.close();
    }
}
