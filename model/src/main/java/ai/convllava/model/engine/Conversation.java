package ai.convllava.model.engine;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.nn.DeviceMemory;
import ai.convllava.model.nn.KvCache;

import java.util.ArrayList;
import java.util.List;

/**
 * The KV cache of one conversation and exactly what it holds, position by position (a token id,
 * or the i-th visual token of an image). A new request keeps the longest common prefix of what is
 * cached and what it needs, and prefills only the rest: a follow-up question reuses every earlier
 * turn, and a question after pre-encoding reuses the system prompt and the image.
 */
public final class Conversation implements AutoCloseable {
    /** One cached position: a token id, or visual token {@code index} of image {@code imageKey}. */
    record Slot(int token, String imageKey, int index) {
        static Slot token(int id) {
            return new Slot(id, null, -1);
        }

        static Slot image(String key, int index) {
            return new Slot(ConvLlava.IMAGE_TOKEN_INDEX, key, index);
        }
    }

    final KvCache cache;
    final List<Slot> slots = new ArrayList<>();

    Conversation(KvCache cache) {
        this.cache = cache;
    }

    /** Positions held in the cache. */
    public int cachedTokens() {
        return cache.length();
    }

    public int maxTokens() {
        return cache.maxCapacity();
    }

    /** How many leading positions of {@code want} the cache already holds. */
    int commonPrefix(List<Slot> want) {
        int common = 0;
        int max = Math.min(slots.size(), want.size());
        while (common < max && slots.get(common).equals(want.get(common))) {
            common++;
        }
        return common;
    }

    /** Fails when {@code want} is empty or longer than the context. */
    void checkFits(List<Slot> want) {
        if (want.isEmpty()) {
            throw new ConvLlavaException("the prompt is empty");
        }
        if (want.size() > maxTokens()) {
            throw new ConvLlavaException("the conversation needs " + want.size() + " tokens but the model's context is "
                    + maxTokens() + " (max_position_embeddings)");
        }
    }

    /** Keeps the first {@code n} positions. */
    void truncate(int n) {
        cache.truncate(n);
        slots.subList(n, slots.size()).clear();
    }

    /** Drops everything: the next request prefills from scratch. */
    public void reset() {
        truncate(0);
    }

    /** Frees the cache; on a GPU its memory goes back to the driver, not only to PyTorch's cache ({@link DeviceMemory}). */
    @Override
    public void close() {
        ai.djl.Device device = cache.device();
        cache.close();
        DeviceMemory.releaseCached(device);
    }
}
