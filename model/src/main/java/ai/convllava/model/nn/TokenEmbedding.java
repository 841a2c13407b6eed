package ai.convllava.model.nn;

import ai.convllava.model.spi.WeightSource;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.FloatBuffer;

/**
 * {@code embed_tokens} ({@code nn.Embedding} in transformers' {@code LlamaModel}): one row of
 * {@code [vocab, hidden]} per token id. Either kept in memory in the linear weight format, or
 * <em>streamed</em>: each row read from the checkpoint when a token is embedded, widened to float32 in
 * Java. A prompt needs a few hundred rows and a decode step one, so streaming costs microseconds per
 * token (8 KB positional reads) and keeps 262 MB (Vicuna-7B, float16) out of memory; the model runs
 * this way when its vision tower is streamed too ({@code TowerMemory.STREAMED}), and the checkpoint
 * stays open until the model is closed.
 */
public abstract sealed class TokenEmbedding permits TokenEmbedding.Resident, TokenEmbedding.Streamed {
    final String key;
    final int vocab;
    final int hidden;

    private TokenEmbedding(String key, int vocab, int hidden) {
        this.key = key;
        this.vocab = vocab;
        this.hidden = hidden;
    }

    /** The table loaded whole, in {@code w}'s linear format. */
    public static TokenEmbedding resident(Weights w, String key, int vocab, int hidden) {
        return new Resident(key, vocab, hidden, w.linear(key, vocab, hidden));
    }

    /** The table left in {@code w}'s source: its shape is checked now, its rows are read when used. */
    public static TokenEmbedding streamed(Weights w, String key, int vocab, int hidden) {
        w.verifyLater(key, vocab, hidden);
        return new Streamed(key, vocab, hidden, w.source());
    }

    /** Token embeddings (1, T, hidden) in float32 on {@code m}'s device; ids must be within the vocabulary. */
    public final NDArray embed(NDManager m, int[] ids) {
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + vocab);
            }
        }
        return rows(m, ids);
    }

    abstract NDArray rows(NDManager m, int[] ids);

    /** Bytes this table holds in memory. */
    public abstract long residentBytes();

    /** Whether rows are read from the checkpoint when used. */
    public final boolean streamed() {
        return this instanceof Streamed;
    }

    static final class Resident extends TokenEmbedding {
        private final NDArray table;

        Resident(String key, int vocab, int hidden, NDArray table) {
            super(key, vocab, hidden);
            this.table = table;
        }

        @Override
        NDArray rows(NDManager m, int[] ids) {
            long[] idx = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                idx[i] = ids[i];
            }
            NDArray rows = table.get(m.create(idx)); // (T, hidden)
            return rows.toType(DataType.FLOAT32, false).reshape(1, ids.length, hidden); // (T, hidden) -> (1, T, hidden)
        }

        @Override
        public long residentBytes() {
            return table.getShape().size() * table.getDataType().getNumOfBytes();
        }
    }

    static final class Streamed extends TokenEmbedding {
        private final WeightSource source;

        Streamed(String key, int vocab, int hidden, WeightSource source) {
            super(key, vocab, hidden);
            this.source = source;
        }

        @Override
        NDArray rows(NDManager m, int[] ids) {
            float[] values = new float[ids.length * hidden];
            FloatBuffer dst = FloatBuffer.wrap(values);
            for (int i = 0; i < ids.length; i++) {
                dst.position(i * hidden);
                source.readRangeInto(key, (long) ids[i] * hidden, hidden, dst, vocab, hidden);
            }
            return HeapArrays.toTensor(m, values, new Shape(1, ids.length, hidden)); // (T * hidden) -> (1, T, hidden)
        }

        @Override
        public long residentBytes() {
            return 0;
        }
    }
}
