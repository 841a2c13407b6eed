package ai.convllava.model.diagnostics;

import ai.djl.engine.Engine;
import ai.djl.util.Utils;

/** The versions of DJL and libtorch in use, and where libtorch was extracted to. */
public final class EngineVersions {
    private EngineVersions() {
    }

    public static String djl() {
        try {
            return Engine.getDjlVersion();
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e + ")";
        }
    }

    public static String djlCacheDir() {
        try {
            return Utils.getEngineCacheDir().toString();
        } catch (RuntimeException | LinkageError e) {
            return "unknown";
        }
    }

    public static String pytorch() {
        try {
            return Engine.getEngine("PyTorch").getVersion();
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e + ")";
        }
    }
}
