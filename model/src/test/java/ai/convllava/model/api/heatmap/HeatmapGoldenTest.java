package ai.convllava.model.api.heatmap;

import ai.convllava.model.api.Stage;
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
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.session.LocalVisionChatSession;
import ai.convllava.model.api.ProgressListener;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The maps the app draws, end to end on the tiny model: through {@link LocalVisionChatSession} with
 * recordAttention, the first recorded step (the last prompt position) equals the Python reference's
 * {@code image_attention} (layers = 2, N) within 1e-4 per layer, and the aggregations of
 * {@link AttentionMaps} are the mean / max over those golden rows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HeatmapGoldenTest {
    static final double TOL = 1e-4;
    LocalVisionChatSession service;

    @BeforeAll
    void load() throws Exception {
        service = new LocalVisionChatSession();
        service.loadModel(LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU).withWeightFormat(WeightFormat.F32),
                ProgressListener.NONE).result().get(120, TimeUnit.SECONDS);
    }

    @AfterAll
    void close() {
        service.close();
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"wide, pad, 16", "wide, native, 24", "tall, pad, 16", "tall, native, 44"})
    void recordedMapsEqualTheGoldens(String image, String mode, int expectedTokens) throws Exception {
        String key = image + "." + mode + ".image_attention";
        long[] shape = Goldens.shape(key);
        float[] golden = Goldens.floats(key);
        int layers = (int) shape[0];
        int n = (int) shape[1];
        if (expectedTokens > 0) {
            assertEquals(expectedTokens, n, "tokens in the golden grid");
        }

        service.newConversation();
        PreprocessedImage pre = service.setImage(ImageDecoder.decode(Goldens.TINY.resolve("images/" + image + ".png")),
                CanvasMode.valueOf(mode.toUpperCase())).result().get(60, TimeUnit.SECONDS);
        assertEquals(n, pre.geometry().tokenCount());
        List<String> deltas = Collections.synchronizedList(new ArrayList<>());
        GenerationResult r = service.ask(ChatRequest.question("What is the tallest bar in this chart?",
                GenerationConfig.greedy(4).withRecordAttention(true)), new AnswerListener() {
                    @Override
                    public void onStage(Stage stage, double fraction) {
                    }

                    @Override
                    public void onText(String delta) {
                        deltas.add(delta);
                    }
                }).result().get(120, TimeUnit.SECONDS);
        assertEquals(FinishReason.LENGTH, r.finishReason(), String.valueOf(r.error()));
        assertEquals(4, r.imageAttention().size(), "one step per generated token");

        float[][] first = r.imageAttention().get(0);
        assertEquals(layers, first.length);
        for (int l = 0; l < layers; l++) {
            assertEquals(n, first[l].length);
            for (int i = 0; i < n; i++) {
                assertEquals(golden[l * n + i], first[l][i], TOL, key + " layer " + l + " token " + i);
            }
        }

        AttentionMaps maps = AttentionMaps.of(pre.geometry(), r.imageAttention(), deltas, r.generatedIds().length,
                r.finishReason() == FinishReason.EOS);
        assertEquals(r.text(), maps.text());
        int firstPiece = 0;
        assertEquals(0, maps.pieces().get(firstPiece).fromStep());
        if (maps.pieces().get(firstPiece).tokenCount() == 1) {
            float[] mean = maps.pieceMap(firstPiece, Aggregation.MEAN);
            float[] max = maps.pieceMap(firstPiece, Aggregation.MAX);
            for (int i = 0; i < n; i++) {
                double m = 0;
                double x = 0;
                for (int l = 0; l < layers; l++) {
                    m += golden[l * n + i] / layers;
                    x = Math.max(x, golden[l * n + i]);
                }
                assertEquals(m, mean[i], TOL, "mean over layers, token " + i);
                assertEquals(x, max[i], TOL, "max over layers, token " + i);
                for (int l = 0; l < layers; l++) {
                    assertEquals(golden[l * n + i], maps.pieceMap(firstPiece, Aggregation.layer(l))[i], TOL);
                }
            }
        }
        // each step's layer rows are probabilities over part of the sequence: non-negative, sum <= 1
        for (int s = 0; s < maps.stepCount(); s++) {
            for (float[] row : maps.step(s)) {
                double sum = AttentionMaps.sum(row);
                assertTrue(sum > 0 && sum <= 1 + 1e-5, "step " + s + " sums to " + sum);
            }
        }
    }
}
