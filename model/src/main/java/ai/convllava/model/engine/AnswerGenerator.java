package ai.convllava.model.engine;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Stage;
import ai.convllava.model.api.Timings;
import ai.convllava.model.generate.DeviceSampler;
import ai.convllava.model.generate.Sampler;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.nn.ImageAttentionProbe;
import ai.convllava.model.tokenizer.StreamingDetokenizer;
import ai.djl.engine.EngineException;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * One answer: the prompt read into the conversation's cache (whatever it already holds is kept), then
 * token by token: repetition penalty, sampling, EOS, the text streamed without breaking UTF-8, and the
 * attention over the image recorded for each step when asked. Cancellation is honoured before every
 * step and between the prefill's layers and returns CANCELLED with the text so far; errors return
 * ERROR with the message, and the engine stays usable.
 */
final class AnswerGenerator {
    private final ConvLlava model;
    private final Conversation conv;
    private final GenerationConfig cfg;
    private final TokenListener listener;
    private final BooleanSupplier cancelled;

    private final List<Integer> generated = new ArrayList<>();
    private final List<float[][]> attention = new ArrayList<>();
    private final StringBuilder text = new StringBuilder();
    /** Ids the repetition penalty looks at: the prompt's tokens, then each generated one. */
    private final int[] seen;
    private int seenCount;

    AnswerGenerator(ConvLlava model, Conversation conv, int promptLength, GenerationConfig cfg, TokenListener listener,
                    BooleanSupplier cancelled) {
        this.model = model;
        this.conv = conv;
        this.cfg = cfg;
        this.listener = listener;
        this.cancelled = cancelled;
        this.seen = new int[promptLength + cfg.maxNewTokens()];
    }

    /**
     * @param prior             preprocess / vision time already spent on this request (ms), for the timings
     * @param requestStartNanos when the user asked (System.nanoTime()), for time to first token
     */
    GenerationResult run(int[] inputIds, ImageFeatures image, Timings prior, long requestStartNanos) {
        Timings before = prior != null ? prior : Timings.NONE;
        long seed = cfg.seed() != null ? cfg.seed() : new Random().nextLong();
        Sampler sampler = Sampler.of(cfg, seed);
        // the device path samples where the logits are and copies one id per step (DeviceSampler)
        StreamingDetokenizer detok = new StreamingDetokenizer(model.tokenizer());
        List<Conversation.Slot> want = model.embedder().slotsOf(inputIds, image);
        int imageStart = PromptEmbedder.imageStart(want);
        boolean record = cfg.recordAttention() && imageStart >= 0;
        int imageTokens = image == null || imageStart < 0 ? 0 : image.tokens();
        for (int id : inputIds) {
            if (id >= 0) {
                seen[seenCount++] = id;
            }
        }
        double prefillMs = 0;
        int reused = 0;
        double ttft = 0;
        long decodeStart = 0;
        FinishReason reason;
        String error = null;
        DeviceSampler onDevice = model.computePath().deviceOps() ? model.deviceSampler(cfg, seed, seen, seenCount) : null;
        ai.djl.ndarray.NDArray deviceLogits = null;
        try {
            if (cancelled.getAsBoolean()) {
                throw new CancellationException();
            }
            listener.onStage(Stage.READING_PROMPT, -1);
            long t0 = System.nanoTime();
            ConvLlava.Fed fed = model.feed(conv, want, image, record ? probe(imageStart, imageTokens) : null, cancelled);
            float[] logits = fed.logits();
            deviceLogits = fed.deviceLogits();
            reused = fed.reused();
            if (fed.attention() != null) {
                attention.add(fed.attention());
            }
            prefillMs = (System.nanoTime() - t0) / 1e6;
            listener.onStage(Stage.WRITING_ANSWER, -1);
            reason = FinishReason.LENGTH;
            for (int step = 0; step < cfg.maxNewTokens(); step++) {
                if (cancelled.getAsBoolean()) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                int next;
                if (onDevice != null) {
                    next = onDevice.next(deviceLogits);
                    deviceLogits.close();
                    deviceLogits = null;
                    onDevice.seen(next);
                } else {
                    Sampler.penalize(logits, seen, seenCount, cfg.repetitionPenalty());
                    next = sampler.sample(logits);
                }
                if (step == 0) {
                    ttft = (System.nanoTime() - requestStartNanos) / 1e6;
                    decodeStart = System.nanoTime();
                }
                if (next == model.tokenizer().eosId()) {
                    reason = FinishReason.EOS;
                    break;
                }
                generated.add(next);
                seen[seenCount++] = next;
                String delta = detok.push(next);
                text.append(delta);
                listener.onToken(next, delta);
                if (step == cfg.maxNewTokens() - 1 || conv.cachedTokens() + 1 > conv.maxTokens()) {
                    break; // the last token asked for, or the context is full: LENGTH
                }
                ConvLlava.Fed step1 = model.decodeStep(conv, next, record ? probe(imageStart, imageTokens) : null, cancelled);
                logits = step1.logits();
                deviceLogits = step1.deviceLogits();
                if (step1.attention() != null) {
                    attention.add(step1.attention());
                }
            }
        } catch (CancellationException e) {
            reason = FinishReason.CANCELLED;
        } catch (ConvLlavaException | IllegalStateException | IllegalArgumentException e) {
            reason = FinishReason.ERROR;
            error = e.getMessage();
        } catch (EngineException e) {
            reason = FinishReason.ERROR;
            error = "inference failed in PyTorch: " + e.getMessage();
            conv.reset();
        } finally {
            if (deviceLogits != null) {
                deviceLogits.close();
            }
            if (onDevice != null) {
                onDevice.close();
            }
        }
        String tail = detok.flush();
        if (!tail.isEmpty()) {
            text.append(tail);
            listener.onToken(-1, tail);
        }
        double decodeMs = decodeStart == 0 ? 0 : (System.nanoTime() - decodeStart) / 1e6;
        int decoded = Math.max(0, generated.size() - 1);
        Timings t = new Timings(before.preprocessMs(), before.visionEncodeMs(), prefillMs, ttft, decodeMs, decoded);
        int[] ids = generated.stream().mapToInt(Integer::intValue).toArray();
        return new GenerationResult(text.toString(), ids, reason, want.size(), reused, imageTokens, t, seed, attention, error);
    }

    private ImageAttentionProbe probe(int imageStart, int imageTokens) {
        return new ImageAttentionProbe(imageStart, imageTokens, model.numLayers());
    }
}
