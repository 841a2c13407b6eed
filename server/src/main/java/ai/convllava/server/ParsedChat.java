package ai.convllava.server;

import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.RgbImage;

import java.util.List;

/**
 * A chat completion request mapped onto the session API: the conversation as turns (the last one
 * pending), its one image, and how to answer.
 *
 * @param systemPrompt   null for ConvLLaVA's own
 * @param imageKey       identity of the image's pixels and mode: the same key needs no new {@code setImage},
 *                       so the conversation's KV cache carries over to the next request
 * @param includeUsage   stream_options.include_usage: a last chunk with the usage
 * @param stop           up to 4 strings that end the answer
 * @param imageAttention our extension: the per-token attention over the image tokens in the response
 */
record ParsedChat(String model, List<Turn> turns, String systemPrompt, RgbImage image, CanvasMode mode, String imageKey,
                  GenerationConfig generation, boolean stream, boolean includeUsage, List<String> stop, boolean imageAttention) {
}
