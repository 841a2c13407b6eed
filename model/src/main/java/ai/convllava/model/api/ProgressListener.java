package ai.convllava.model.api;

/** Progress of a long task; called from the inference thread. fraction in [0, 1], or -1 when unknown. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = (stage, fraction) -> { };

    void progress(String stage, double fraction);
}
