package ai.convllava.model.spi;

import ai.convllava.model.checkpoint.ShardedCheckpoint;

import java.nio.file.Path;

/** Opens the weights of a checkpoint folder (.bin or safetensors shards), for tools that build their own {@link ModelSource}. */
public final class WeightSources {
    private WeightSources() {
    }

    /** The folder's shards, read in place; close it when done. */
    public static WeightSource open(Path folder) {
        return ShardedCheckpoint.open(folder);
    }
}
