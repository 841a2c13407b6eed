package ai.convllava.model.api;

import ai.convllava.model.api.image.PreprocessedImage;

import java.util.concurrent.CompletableFuture;

/**
 * An image given to the session ({@link VisionChatSession#setImage}): its {@link #result() canvas}
 * exactly as the model sees it, as soon as it is preprocessed (for the preview), then its
 * {@link #encoded() pre-encoding}. Cancelling stops both; a newer image cancels this one.
 */
public interface ImageTask extends TaskHandle<PreprocessedImage> {
    /**
     * Completes when the image is encoded and the prompt's image part ("system USER: &lt;image&gt;") is
     * read into the conversation's cache, or with why that did not happen (no model, not asked for,
     * cancelled, failed). Never completes exceptionally.
     */
    CompletableFuture<PreEncoding> encoded();
}
