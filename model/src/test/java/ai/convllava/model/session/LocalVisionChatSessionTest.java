package ai.convllava.model.session;

import ai.convllava.model.api.Stage;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.TaskHandle;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.Goldens;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The service the app talks to, on the tiny model: one inference thread, pre-encode, reuse, cancel. */
class LocalVisionChatSessionTest {
    static final Path TINY = Goldens.TINY;
    static final String Q = "What is the tallest bar in this chart?";
    LocalVisionChatSession service;
    final List<String> text = Collections.synchronizedList(new ArrayList<>());
    final List<Stage> stages = Collections.synchronizedList(new ArrayList<>());

    final AnswerListener listener = new AnswerListener() {
        @Override
        public void onStage(Stage stage, double fraction) {
            stages.add(stage);
        }

        @Override
        public void onText(String delta) {
            text.add(delta);
        }
    };

    @BeforeEach
    void start() {
        service = new LocalVisionChatSession();
    }

    @AfterEach
    void stop() {
        service.close();
    }

    static <T> T get(TaskHandle<T> h) throws Exception {
        return h.result().get(60, TimeUnit.SECONDS);
    }

    ModelInfo load() throws Exception {
        return get(service.loadModel(LoadOptions.of(TINY.resolve("tiny-convllava")).withDevice(Device.CPU), ProgressListener.NONE));
    }

    static RgbImage wide() {
        return ImageDecoder.decode(TINY.resolve("images/wide.png"));
    }

    static int[] golden(String key) {
        long[] v = Goldens.longs(key + ".generated_ids");
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            o[i] = (int) v[i];
        }
        return o;
    }

    @Test
    void previewWorksWithoutAModelAndAskingSaysWhatIsMissing() throws Exception {
        assertEquals(SessionState.NO_MODEL, service.state());
        PreprocessedImage p = get(service.setImage(wide(), CanvasMode.PAD));
        assertEquals(1536, p.geometry().canvasWidth());
        assertEquals(576, p.geometry().tokenCount());
        assertEquals(36 * 24, service.geometry(3000, 2000, CanvasMode.NATIVE).tokenCount(), "2304 x 1536 native canvas");
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(4)), listener)));
        assertTrue(e.getCause() instanceof ConvLlavaException && e.getCause().getMessage().contains("no model"), e.getCause().toString());
    }

    @Test
    void loadReportsProgressAndTheModel() throws Exception {
        List<Double> fractions = Collections.synchronizedList(new ArrayList<>());
        List<SessionState> states = Collections.synchronizedList(new ArrayList<>());
        service.addStateListener(states::add);
        ModelInfo info = get(service.loadModel(LoadOptions.of(TINY.resolve("tiny-convllava")).withDevice(Device.CPU),
                (stage, f) -> fractions.add(f)));
        assertEquals(256, info.canvasSide());
        assertEquals(64, info.stride());
        assertEquals(2, info.layers());
        assertTrue(info.visionTower().contains("tiny-convllava-convnext"), info.visionTower());
        assertEquals(List.of(SessionState.LOADING, SessionState.READY), states);
        assertTrue(fractions.size() >= 100, "progress after every tensor: " + fractions.size());
        assertEquals(1.0, fractions.get(fractions.size() - 1), 1e-9);
        assertEquals(256, service.geometry(300, 200, CanvasMode.PAD).canvasWidth(), "preview follows the loaded model's canvas");
    }

    @Test
    void aBrokenModelFolderIsAnErrorStateAndTheServiceStaysUsable() throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> get(service.loadModel(LoadOptions.of(TINY.resolve("images")), ProgressListener.NONE)));
        assertTrue(e.getCause().getMessage().contains("config.json"), e.getCause().getMessage());
        assertEquals(SessionState.ERROR, service.state());
        load();
        assertEquals(SessionState.READY, service.state());
    }

    @Test
    void preEncodedImageThenQuestionGivesTheGoldenAnswer() throws Exception {
        load();
        get(service.setImage(wide(), CanvasMode.PAD));
        GenerationResult r = get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(16)), listener));
        assertArrayEquals(golden("wide.pad"), r.generatedIds());
        assertEquals(r.text(), String.join("", text));
        assertEquals(0, r.timings().visionEncodeMs(), "the image was encoded before the question (pre-encode)");
        assertTrue(stages.contains(Stage.WRITING_ANSWER));
        // native mode: a different canvas and token count, and its own golden answer
        get(service.setImage(wide(), CanvasMode.NATIVE));
        GenerationResult n = get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(16)), listener));
        assertEquals(24, n.imageTokens());
        assertArrayEquals(golden("wide.native"), n.generatedIds());
    }

    @Test
    void followUpsAndRegenerationReuseTheConversation() throws Exception {
        load();
        get(service.setImage(wide(), CanvasMode.PAD));
        GenerationResult first = get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(8)), listener));
        List<Turn> turns = List.of(new Turn(Q, first.text()),
                Turn.pending("And the shortest?"));
        GenerationResult second = get(service.ask(new ChatRequest(turns, null, GenerationConfig.greedy(8)), listener));
        GenerationResult regenerated = get(service.ask(new ChatRequest(turns, null, GenerationConfig.greedy(8)), listener));
        assertArrayEquals(second.generatedIds(), regenerated.generatedIds());
        assertTrue(second.promptTokens() > first.promptTokens());
    }

    @Test
    void stopCancelsAtOnceAndTheNextQuestionWorks() throws Exception {
        load();
        get(service.setImage(wide(), CanvasMode.PAD));
        AtomicInteger seen = new AtomicInteger();
        @SuppressWarnings("unchecked")
        TaskHandle<GenerationResult>[] holder = new TaskHandle[1];
        holder[0] = service.ask(ChatRequest.question(Q, GenerationConfig.greedy(400)), new AnswerListener() {
            @Override
            public void onStage(Stage stage, double fraction) {
            }

            @Override
            public void onText(String delta) {
                if (seen.incrementAndGet() == 3) {
                    holder[0].cancel();
                }
            }
        });
        GenerationResult r = get(holder[0]);
        assertEquals(FinishReason.CANCELLED, r.finishReason());
        assertTrue(r.generatedIds().length <= 4, "stopped within a token: " + r.generatedIds().length);
        assertArrayEquals(golden("wide.pad"), get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(16)), listener)).generatedIds());
    }

    @Test
    void aNewImageSupersedesTheOldOneAndCachedFeaturesAreReused() throws Exception {
        load();
        RgbImage tall = ImageDecoder.decode(TINY.resolve("images/tall.png"));
        TaskHandle<PreprocessedImage> stale = service.setImage(tall, CanvasMode.PAD);
        get(service.setImage(wide(), CanvasMode.PAD));
        assertTrue(stale.isCancelled(), "the older image's work is cancelled");
        assertArrayEquals(golden("wide.pad"), get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(16)), listener)).generatedIds());
        get(service.setImage(tall, CanvasMode.PAD));
        assertArrayEquals(golden("tall.pad"), get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(16)), listener)).generatedIds());
        get(service.setImage(wide(), CanvasMode.PAD)); // seen before: features from the cache
        GenerationResult again = get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(16)), listener));
        assertArrayEquals(golden("wide.pad"), again.generatedIds());
        assertEquals(0, again.timings().visionEncodeMs());
    }

    @Test
    void aConversationLongerThanTheContextDropsTheOldestTurnsWithANotice() throws Exception {
        load();
        get(service.setImage(wide(), CanvasMode.PAD));
        String longText = "lorem ipsum dolor ".repeat(450); // about 1350 tokens
        List<Turn> turns = List.of(new Turn(longText, longText),
                new Turn(longText, "ok"), Turn.pending("And now?"));
        List<String> notices = Collections.synchronizedList(new ArrayList<>());
        GenerationResult r = get(service.ask(new ChatRequest(turns, null, GenerationConfig.greedy(4)), new AnswerListener() {
            @Override
            public void onStage(Stage stage, double fraction) {
            }

            @Override
            public void onText(String delta) {
            }

            @Override
            public void onNotice(String message) {
                notices.add(message);
            }
        }));
        assertEquals(FinishReason.LENGTH, r.finishReason(), String.valueOf(r.error()));
        assertTrue(r.promptTokens() <= 4096 && r.promptTokens() > 1300, "prompt of " + r.promptTokens());
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(notices.get(0).contains("oldest exchange was left out"), notices.get(0));
        // one question alone longer than the context is a clear error, and the service stays usable
        ExecutionException e = assertThrows(ExecutionException.class, () -> get(service.ask(
                ChatRequest.question("lorem ipsum dolor ".repeat(1500), GenerationConfig.greedy(4)), listener)));
        assertTrue(e.getCause().getMessage().contains("too long"), e.getCause().getMessage());
        assertArrayEquals(golden("wide.pad"), get(service.ask(ChatRequest.question(Q, GenerationConfig.greedy(16)), listener)).generatedIds());
    }

    @Test
    void loadingCanBeCancelled() throws Exception {
        TaskHandle<ModelInfo> h = service.loadModel(LoadOptions.of(TINY.resolve("tiny-convllava")).withDevice(Device.CPU),
                (stage, f) -> { });
        h.cancel();
        assertThrows(java.util.concurrent.CancellationException.class, () -> h.result().get(60, TimeUnit.SECONDS));
        assertEquals(SessionState.NO_MODEL, service.state());
        assertTrue(service.model().isEmpty());
    }
}
