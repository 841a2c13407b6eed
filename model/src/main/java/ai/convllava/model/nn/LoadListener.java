package ai.convllava.model.nn;

/** Progress of a model load, reported after every tensor (bytes are checkpoint bytes read). */
@FunctionalInterface
public interface LoadListener {
    LoadListener NONE = (stage, tensorsDone, tensorsTotal, bytesDone, bytesTotal) -> { };

    void progress(String stage, int tensorsDone, int tensorsTotal, long bytesDone, long bytesTotal);
}
