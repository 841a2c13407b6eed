package ai.convllava.model.session;

import ai.convllava.model.engine.ImageFeatures;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The encoded features of the images seen last, by canvas identity (content hash, canvas size, model):
 * going back to an earlier image, or asking again about the same one, needs no vision encode. Owned by
 * the inference thread; evicted features are closed.
 */
final class FeatureCache implements AutoCloseable {
    private final int capacity;
    private final Map<String, ImageFeatures> features = new LinkedHashMap<>(8, 0.75f, true);

    FeatureCache(int capacity) {
        this.capacity = capacity;
    }

    /** The features kept under {@code key}, or null. */
    ImageFeatures get(String key) {
        ImageFeatures f = features.get(key);
        return f == null || f.isClosed() ? null : f;
    }

    void put(String key, ImageFeatures f) {
        ImageFeatures old = features.put(key, f);
        if (old != null && old != f) {
            old.close();
        }
        while (features.size() > capacity) {
            String eldest = features.keySet().iterator().next();
            features.remove(eldest).close();
        }
    }

    int size() {
        return features.size();
    }

    @Override
    public void close() {
        features.values().forEach(ImageFeatures::close);
        features.clear();
    }
}
