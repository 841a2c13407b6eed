package ai.convllava.app.gui;

import ai.convllava.app.gui.conversation.ChatMessage;
import ai.convllava.app.gui.chat.ChatViewModel;
import ai.convllava.app.gui.heatmap.HeatmapPng;
import ai.convllava.app.gui.heatmap.HeatmapViewModel;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.heatmap.Aggregation;
import ai.convllava.model.api.heatmap.Scale;
import ai.convllava.model.api.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The heatmap panel's view-model on the fake service: recording, pieces, aggregations, scales, cells, keys, exports. */
class HeatmapViewModelTest {
    @TempDir
    Path tmp;

    /** Step k looks at image token k (layer 0) and token 15 - k (layer 1), 2 layers x 16 tokens. */
    static float[][] step(int k) {
        float[][] s = new float[2][16];
        s[0][k] = 0.4f;
        s[1][15 - k] = 0.2f;
        return s;
    }

    Harness answered() {
        return answeredWith(new Harness(tmp));
    }

    Harness answeredWith(Harness h) {
        h.withModel();
        h.vm.setImage(RgbImage.filled(300, 200, 200, 10, 10), "pasted image");
        h.ui.runAll();
        assertNotNull(h.vm.image().preprocessedProperty().get());
        ChatViewModel chat = h.vm.chat();
        chat.inputProperty().set("What is here?");
        chat.send();
        h.ui.runAll();
        FakeVisionChatSession.Ask ask = h.service.lastAsk();
        assertTrue(ask.request().generation().recordAttention(), "attention is recorded with every answer");
        ask.stream("Red", " bars", "", "\u00e9");
        List<float[][]> steps = new ArrayList<>();
        for (int k = 0; k < 5; k++) {
            steps.add(step(k));
        }
        ask.handle().result().complete(new GenerationResult("Red bars\u00e9", new int[] {1, 2, 3, 4}, FinishReason.EOS, 40, 0, 16,
                new Timings(1, 1, 1, 1, 1, 3), 0, steps, null));
        h.ui.runAll();
        return h;
    }

    @Test
    void anAnswersHeatmapIsSavedAndOpensAgainAfterSwitchingConversationsAndAfterARestart() throws Exception {
        Harness h = answered();
        ChatMessage answer = h.vm.chat().messages().get(1);
        float[] whole = answer.attentionProperty().get().maps().answerMap(Aggregation.MEAN);
        String id = h.vm.chat().conversationIdProperty().get();
        assertTrue(Files.isRegularFile(h.store.heatmaps().fileOf(id, 1)), "saved with the conversation");

        h.vm.chat().clear(); // another conversation, then back to this one
        h.ui.runAll();
        assertNull(h.vm.heatmap().messageProperty().get());
        h.vm.chat().open(h.vm.chat().conversations().get(0));
        h.ui.runAll();
        ChatMessage reopened = h.vm.chat().messages().get(1);
        assertNotNull(reopened.attentionProperty().get(), "the map is back");
        assertEquals(reopened, h.vm.heatmap().messageProperty().get());
        assertEquals(List.of("Red", "bars", "\u00e9", "\u27e8end\u27e9"),
                reopened.attentionProperty().get().maps().pieces().stream().map(p -> p.label()).toList());
        float[] back = reopened.attentionProperty().get().maps().answerMap(Aggregation.MEAN);
        for (int i = 0; i < whole.length; i++) {
            assertEquals(whole[i], back[i], 0.4f / 255 + 1e-6f, "cell " + i);
        }

        Harness restarted = new Harness(tmp).withModel();
        restarted.vm.start(null);
        restarted.ui.runAll();
        restarted.vm.chat().open(restarted.vm.chat().conversations().get(0));
        restarted.ui.runAll();
        assertNotNull(restarted.vm.chat().messages().get(1).attentionProperty().get(), "and after a restart");
        restarted.vm.heatmap().open(restarted.vm.chat().messages().get(1), 0);
        assertEquals(1f, restarted.vm.heatmap().mapProperty().get()[0], 1e-2f);
    }

    @Test
    void aDeletedConversationsHeatmapsGoToTheTrashAndComeBackWithAnUndo() {
        Harness h = answered();
        String id = h.vm.chat().conversationIdProperty().get();
        Path file = h.store.heatmaps().fileOf(id, 1);
        h.vm.chat().delete(h.vm.chat().conversations().get(0));
        h.ui.runAll();
        assertFalse(Files.exists(file));
        h.vm.chat().undoDelete();
        h.ui.runAll();
        assertTrue(Files.isRegularFile(file));
        assertNotNull(h.vm.chat().messages().get(1).attentionProperty().get(), "the undone conversation opens with its map");
    }

    @Test
    void aRegeneratedAnswerWithoutMapsDoesNotReopenWithItsPredecessorsMap() {
        Harness h = answered();
        String id = h.vm.chat().conversationIdProperty().get();
        assertTrue(Files.isRegularFile(h.store.heatmaps().fileOf(id, 1)));
        h.vm.chat().regenerate();
        h.ui.runAll();
        h.service.lastAsk().finish("Blue", FinishReason.EOS); // no attention recorded this time
        h.ui.runAll();
        assertFalse(Files.exists(h.store.heatmaps().fileOf(id, 1)));
        h.vm.chat().clear();
        h.vm.chat().open(h.vm.chat().conversations().get(0));
        h.ui.runAll();
        assertEquals("Blue", h.vm.chat().messages().get(1).text());
        assertNull(h.vm.chat().messages().get(1).attentionProperty().get());
    }

    @Test
    void withTheCapAtZeroNoHeatmapIsSaved() {
        Harness h = new Harness(tmp);
        h.settings.heatmapStoreMbProperty().set(0);
        Harness a = answeredWith(h);
        String id = a.vm.chat().conversationIdProperty().get();
        assertFalse(Files.exists(a.store.heatmaps().fileOf(id, 1)));
        assertNotNull(a.vm.chat().messages().get(1).attentionProperty().get(), "still shown while the conversation is open");
    }

    @Test
    void loweringTheCapToZeroDeletesTheSavedHeatmapsAfterAPause() {
        Harness h = answered();
        Path file = h.store.heatmaps().fileOf(h.vm.chat().conversationIdProperty().get(), 1);
        assertTrue(Files.isRegularFile(file));
        h.settings.heatmapStoreMbProperty().set(0);
        assertTrue(Files.isRegularFile(file), "not while the value may still be being typed");
        h.timer.elapse();
        h.ui.runAll();
        assertFalse(Files.exists(file), "0 keeps none: the saved maps are deleted");
        assertEquals("0.0 MB used of 0 MB", h.vm.chat().heatmapUsageProperty().get());
    }

    @Test
    void theCapIsAppliedAtStart() {
        Harness h = answered();
        Path file = h.store.heatmaps().fileOf(h.vm.chat().conversationIdProperty().get(), 1);
        assertTrue(Files.isRegularFile(file));
        Harness restarted = new Harness(tmp);
        restarted.settings.heatmapStoreMbProperty().set(0); // as read from the settings file
        restarted.vm.start(null);
        restarted.ui.runAll();
        assertFalse(Files.exists(file));
    }

    @Test
    void aWordOfAnOlderAnswerOpensThePanelOnItsOwnMap() {
        Harness h = answered();
        HeatmapViewModel hm = h.vm.heatmap();
        ChatMessage answer = h.vm.chat().messages().get(1);
        hm.select(2);
        hm.open(answer, 1); // " bars", clicked in the answer's bubble
        assertTrue(hm.shownProperty().get());
        assertEquals(answer, hm.messageProperty().get());
        assertEquals(1, hm.selectedProperty().get());
        assertTrue(hm.captionProperty().get().startsWith("\u201cbars\u201d (2 of 4)"), hm.captionProperty().get());
        hm.open(answer); // the Heatmap link: the whole answer
        assertEquals(-1, hm.selectedProperty().get());
    }

    @Test
    void theLatestAnswerIsShownTokenByToken() {
        Harness h = answered();
        HeatmapViewModel hm = h.vm.heatmap();
        ChatMessage answer = h.vm.chat().messages().get(1);
        assertNotNull(answer.attentionProperty().get());
        assertEquals(answer, hm.messageProperty().get());
        assertEquals(List.of("Red", "bars", "\u00e9", "\u27e8end\u27e9"),
                hm.sourceProperty().get().maps().pieces().stream().map(p -> p.label()).toList());
        assertFalse(hm.overlayVisibleProperty().get(), "the panel is closed");
        hm.shownProperty().set(true);
        assertTrue(hm.overlayVisibleProperty().get());

        // whole answer (default): mean over the 4 token steps of the mean over layers
        assertEquals(-1, hm.selectedProperty().get());
        float[] whole = hm.mapProperty().get();
        assertEquals(1f, whole[0], 1e-6f);
        assertEquals(0f, whole[5], 1e-6f);
        assertTrue(hm.captionProperty().get().startsWith("Whole answer (4 tokens)"), hm.captionProperty().get());

        hm.select(0);
        float[] red = hm.mapProperty().get();
        assertEquals(1f, red[0], 1e-6f);
        assertEquals(0.5f, red[15], 1e-6f);
        assertEquals(0f, red[1]);
        assertTrue(hm.captionProperty().get().startsWith("\u201cRed\u201d (1 of 4)"), hm.captionProperty().get());
        assertEquals("layer 1 of 2", hm.layerTextProperty().get(), "counted from 1, out of the model's 2 layers");
        hm.aggregationKindProperty().set(Aggregation.Kind.LAYER);
        hm.layerProperty().set(1);
        assertEquals(Aggregation.layer(1), hm.aggregation());
        assertEquals("layer 2 of 2", hm.layerTextProperty().get(), "the last of 2 layers, not \"1 / 1\"");
        assertEquals(1f, hm.mapProperty().get()[15], 1e-6f);
        assertEquals(0f, hm.mapProperty().get()[0]);
        hm.layerProperty().set(7);
        assertEquals(1, hm.layerProperty().get(), "clamped to the model's layers");
        hm.aggregationKindProperty().set(Aggregation.Kind.MAX);
        assertEquals(1f, hm.mapProperty().get()[0], 1e-6f);
        hm.aggregationKindProperty().set(Aggregation.Kind.MEAN);

        // "é" took two tokens: its map is their mean; keyboard-like stepping
        hm.next();
        hm.next();
        assertEquals(2, hm.selectedProperty().get());
        float[] e = hm.mapProperty().get();
        assertEquals(1f, e[2], 1e-6f);
        assertEquals(1f, e[3], 1e-6f);
        hm.scaleProperty().set(Scale.ANSWER);
        assertEquals(0.5f, hm.mapProperty().get()[2], 1e-6f, "half of the answer's peak");
        hm.last();
        assertEquals(3, hm.selectedProperty().get());
        hm.previous();
        hm.previous();
        hm.previous();
        hm.previous();
        assertEquals(-1, hm.selectedProperty().get());
        hm.hover(1);
        assertEquals(1f, hm.mapProperty().get()[1], 1e-6f, "hover shows the piece under the pointer");
        hm.hover(-2);

        // a cell: who looked at it most
        hm.selectCell(15);
        assertEquals(15, hm.selectedCellProperty().get());
        assertEquals(0, hm.cellPiecesProperty().get().get(0));
        hm.selectCell(15);
        assertEquals(-1, hm.selectedCellProperty().get(), "clicking the cell again unselects it");

        // the original image instead of the canvas: no overlay, and why
        h.vm.image().showOriginalProperty().set(true);
        assertFalse(hm.overlayVisibleProperty().get());
        assertNotNull(hm.statusProperty().get());
        h.vm.image().showOriginalProperty().set(false);
        assertTrue(hm.overlayVisibleProperty().get());
        assertNull(hm.statusProperty().get());

        // a new chat forgets it
        h.vm.chat().clear();
        assertNull(hm.sourceProperty().get());
        assertNull(hm.mapProperty().get());
    }

    @Test
    void exportsPngCsvAndJson() throws Exception {
        Harness h = answered();
        HeatmapViewModel hm = h.vm.heatmap();
        hm.shownProperty().set(true);
        hm.select(1);
        hm.selectCell(1);
        Path png = tmp.resolve("heat.png");
        hm.exportPng(png).get();
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(512, img.getWidth(), "the 256 canvas doubled");
        assertEquals(512 + HeatmapPng.BAND, img.getHeight());
        assertArrayEquals(new int[] {512, 512 + HeatmapPng.BAND}, HeatmapPng.size(hm.sourceProperty().get().maps().geometry()));
        // cell (0, 1) is the hottest: near its centre the heatmap's top colour shows through the grey canvas
        int rgb = img.getRGB(192, 100) & 0xffffff; // cell (0, 1) at 2x: x in [128, 256), y in [0, 128); the image starts at y = 84
        assertTrue((rgb >> 16 & 0xff) > 150 && (rgb >> 8 & 0xff) > 150 && (rgb & 0xff) < 120, Integer.toHexString(rgb));
        h.ui.runAll();
        assertTrue(hm.noticeProperty().get().startsWith("Saved "), hm.noticeProperty().get());

        Path csv = tmp.resolve("heat.csv");
        hm.exportCsv(csv).get();
        List<String> lines = Files.readAllLines(csv);
        assertEquals(1 + 5 * 2, lines.size(), "header + 5 steps x 2 layers");
        assertTrue(lines.get(0).startsWith("step,piece,text,layer,r0c0,r0c1"));
        Path json = tmp.resolve("heat.json");
        hm.exportJson(json).get();
        String j = Files.readString(json);
        assertTrue(j.contains("\"grid\":[4,4]") && j.contains("\"selection\":\"bars\""), j.substring(0, Math.min(400, j.length())));
    }
}
