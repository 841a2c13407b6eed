package ai.convllava.model.reliability;

import ai.convllava.model.engine.ModelLoader;
import ai.convllava.model.api.Stage;
import ai.convllava.model.Goldens;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.api.Device;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.session.LocalVisionChatSession;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many back-to-back questions in one process, with random cancellations at random points (before
 * the question runs, after a random delay, from inside the token stream), alternating images and
 * canvas modes, on the tiny model, greedy. Every future must complete within a timeout (no
 * deadlock); every result must be complete with exactly the reference tokens for that image and
 * mode (a prefix of them when cancelled); memory must stay flat (RSS for the service; the engine's
 * live NDArray count when driven directly).
 */
@Tag("reliability")
class EngineStressTest {
    static final long SEED = ReliabilityReport.longProperty("convllava.fuzz.seed", 20240607L);
    static final int QUESTIONS = (int) ReliabilityReport.longProperty("convllava.stress.questions", 200);
    static final String Q = "What is the tallest bar in this chart?";
    static final int MAX_TOKENS = 8;
    static final int ENGINE_QUESTIONS = (int) ReliabilityReport.longProperty("convllava.stress.engineQuestions", 60);
    static final long TIMEOUT_S = 30;

    static int[] golden(String key) {
        return Arrays.stream(Goldens.longs(key + ".generated_ids")).mapToInt(v -> (int) v).toArray();
    }

    /** VmRSS of this process in kB, from /proc/self/status (0 where there is no /proc). */
    static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return 0;
    }

    static boolean isPrefix(int[] got, int[] full) {
        return got.length <= full.length && Arrays.equals(got, Arrays.copyOf(full, got.length));
    }

    @Test
    void serviceSurvivesBackToBackQuestionsWithRandomCancellations() throws Exception {
        Map<String, RgbImage> images = Map.of("wide", ImageDecoder.decode(Goldens.TINY.resolve("images/wide.png")),
                "tall", ImageDecoder.decode(Goldens.TINY.resolve("images/tall.png")));
        Random rnd = new Random(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        List<Long> rssEvery20 = new ArrayList<>();
        int asked = 0;
        long t0 = System.nanoTime();
        try (LocalVisionChatSession service = new LocalVisionChatSession()) {
            service.loadModel(LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU), ProgressListener.NONE)
                    .result().get(60, TimeUnit.SECONDS);
            String shown = null;
            for (int i = 0; i < QUESTIONS; i++) {
                asked++;
                if (i % 20 == 0) {
                    System.gc();
                    rssEvery20.add(rssKb());
                }
                String image = i % 4 < 2 ? "wide" : "tall";
                CanvasMode mode = i % 2 == 0 ? CanvasMode.PAD : CanvasMode.NATIVE;
                String key = image + "." + mode.name().toLowerCase(java.util.Locale.ROOT);
                if (!key.equals(shown)) {
                    shown = key;
                    TaskHandle<PreprocessedImage> set = service.setImage(images.get(image), mode);
                    if (rnd.nextInt(8) == 0) {
                        set.cancel(); // the user switched again at once
                    }
                    try {
                        set.result().get(TIMEOUT_S, TimeUnit.SECONDS);
                    } catch (CancellationException e) {
                        // cancelled before the preview thread got to it: fine, the question uses what is current
                        shown = null;
                    } catch (ExecutionException e) {
                        if (!(e.getCause() instanceof CancellationException)) {
                            failures.add("question " + i + ": setImage failed: " + e.getCause());
                        }
                        shown = null;
                    }
                    if (shown == null) {
                        outcomes.merge("IMAGE_SWITCH_CANCELLED", 1, Integer::sum);
                        continue; // no image was set for this key: ask nothing rather than guess which image is current
                    }
                }
                AtomicInteger tokens = new AtomicInteger();
                AtomicReference<TaskHandle<GenerationResult>> handle = new AtomicReference<>();
                int cancelAfterTokens = rnd.nextInt(4) == 0 ? rnd.nextInt(MAX_TOKENS) : -1;
                AnswerListener listener = new AnswerListener() {
                    @Override
                    public void onStage(Stage stage, double fraction) {
                    }

                    @Override
                    public void onText(String delta) {
                        if (tokens.incrementAndGet() == cancelAfterTokens && handle.get() != null) {
                            handle.get().cancel();
                        }
                    }
                };
                TaskHandle<GenerationResult> h = service.ask(ChatRequest.question(Q, GenerationConfig.greedy(MAX_TOKENS)), listener);
                handle.set(h);
                int how = rnd.nextInt(6);
                if (how == 0) {
                    h.cancel(); // at once, probably before it starts
                } else if (how == 1) {
                    Thread.sleep(rnd.nextInt(40));
                    h.cancel(); // somewhere in encoding / prefill / decode
                }
                GenerationResult r;
                try {
                    r = h.result().get(TIMEOUT_S, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    failures.add("question " + i + ": no result within " + TIMEOUT_S + " s (deadlock?)");
                    break;
                } catch (ExecutionException e) {
                    failures.add("question " + i + ": failed: " + e.getCause());
                    continue;
                }
                int[] want = golden(key);
                int[] got = r.generatedIds();
                outcomes.merge(r.finishReason().name(), 1, Integer::sum);
                switch (r.finishReason()) {
                    case LENGTH, EOS -> {
                        if (!Arrays.equals(Arrays.copyOf(want, MAX_TOKENS), got)) {
                            failures.add("question " + i + " (" + key + "): " + Arrays.toString(got) + " is not the reference "
                                    + Arrays.toString(Arrays.copyOf(want, MAX_TOKENS)));
                        }
                    }
                    case CANCELLED -> {
                        if (!isPrefix(got, want)) {
                            failures.add("question " + i + " (" + key + "): cancelled with " + Arrays.toString(got)
                                    + ", not a prefix of the reference");
                        }
                    }
                    default -> failures.add("question " + i + ": " + r.finishReason() + " " + r.error());
                }
            }
            System.gc();
            rssEvery20.add(rssKb());
            assertEquals(SessionState.READY, service.state());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        // RSS is a high-water mark here (GLIBC_TUNABLES in the surefire config stops malloc trimming, and the Java heap
        // grows to its working size): judge the second half of the run, after everything reached its working size
        long mid = rssEvery20.size() < 4 ? 0 : rssEvery20.get(rssEvery20.size() / 2);
        long end = rssEvery20.get(rssEvery20.size() - 1);
        long growthKb = end - mid;
        new ReliabilityReport("engine-stress-service").put("seed", SEED).put("questions", QUESTIONS).put("questionsAsked", asked).put("maxNewTokens", MAX_TOKENS)
                .put("outcomes", outcomes).put("rssEvery20QuestionsKb", rssEvery20).put("rssGrowthSecondHalfKb", growthKb)
                .put("seconds", Math.round(seconds * 10) / 10.0).put("failures", failures).write();
        assertEquals(List.of(), failures);
        assertEquals(QUESTIONS, asked);
        System.out.printf("[report] engine stress: %d questions in %.1f s%n", asked, seconds);
        assertTrue(outcomes.getOrDefault("CANCELLED", 0) > 0 && outcomes.getOrDefault("LENGTH", 0) > 0, outcomes.toString());
        assertTrue(mid == 0 || growthKb < 48 * 1024, "RSS grew by " + growthKb + " kB over the second half: " + rssEvery20);
    }

    @Test
    void engineLiveArraysStayFlatUnderRandomCancellation() {
        Random rnd = new Random(SEED + 1);
        try (ConvLlava m = ModelLoader.load(LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU),
                LoadListener.NONE, () -> false)) {
            Map<String, PreprocessedImage> pre = new LinkedHashMap<>();
            for (String image : List.of("wide", "tall")) {
                RgbImage img = ImageDecoder.decode(Goldens.TINY.resolve("images/" + image + ".png"));
                pre.put(image + ".pad", m.preprocessor().preprocess(img, CanvasMode.PAD));
                pre.put(image + ".native", m.preprocessor().preprocess(img, CanvasMode.NATIVE));
            }
            List<String> keys = new ArrayList<>(pre.keySet());
            int[] ids = ConversationPrompt.imageQuestion(Q).inputIds(m.tokenizer());
            Map<String, Integer> outcomes = new TreeMap<>();
            List<Long> live = new ArrayList<>();
            try (Conversation conv = m.newConversation(256)) {
                for (int i = 0; i < ENGINE_QUESTIONS; i++) {
                    String key = keys.get(i % keys.size());
                    AtomicInteger checks = new AtomicInteger();
                    int cancelAt = rnd.nextInt(3) == 0 ? rnd.nextInt(30) : Integer.MAX_VALUE; // between layers / tokens
                    try (ImageFeatures f = m.encodeImage(pre.get(key), key, () -> false)) {
                        GenerationResult r = m.generate(conv, ids, f, GenerationConfig.greedy(MAX_TOKENS), TokenListener.NONE,
                                () -> checks.incrementAndGet() > cancelAt, null, System.nanoTime());
                        outcomes.merge(r.finishReason().name(), 1, Integer::sum);
                        int[] want = golden(key);
                        if (r.finishReason() == FinishReason.CANCELLED) {
                            assertTrue(isPrefix(r.generatedIds(), want), key + ": " + Arrays.toString(r.generatedIds()));
                        } else {
                            assertEquals(FinishReason.LENGTH, r.finishReason(), r.error());
                            assertEquals(Arrays.toString(Arrays.copyOf(want, MAX_TOKENS)), Arrays.toString(r.generatedIds()), key);
                        }
                    }
                    live.add(m.liveArrayCount());
                }
            }
            long afterClose = m.liveArrayCount();
            int half = live.size() / 2;
            long firstHalfMax = live.subList(0, half).stream().mapToLong(Long::longValue).max().orElse(0);
            long secondHalfMax = live.subList(half, live.size()).stream().mapToLong(Long::longValue).max().orElse(0);
            List<Long> sampled = new ArrayList<>();
            for (int i = 0; i < live.size(); i += 5) {
                sampled.add(live.get(i));
            }
            new ReliabilityReport("engine-stress-arrays").put("seed", SEED + 1).put("questions", ENGINE_QUESTIONS).put("outcomes", outcomes)
                    .put("liveArraysEvery5", sampled).put("liveArraysFirstHalfMax", firstHalfMax)
                    .put("liveArraysSecondHalfMax", secondHalfMax).put("liveArraysAfterConversationClosed", afterClose).write();
            // the cache and lazily built tables reach their size early; a leak would keep growing
            assertTrue(secondHalfMax <= firstHalfMax, "live NDArrays grew: " + sampled);
            assertTrue(outcomes.getOrDefault("CANCELLED", 0) > 0, outcomes.toString());
        }
    }
}
