package ai.convllava.model.api.heatmap;

import ai.convllava.model.api.image.CanvasGeometry;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Aggregation over layers, grouping of tokens into pieces, scales, and which tokens looked at a cell. */
class AttentionMapsTest {
    static final CanvasGeometry G = new CanvasGeometry(128, 128, 0, 0, 128, 128, 2, 2, 64);

    static float[][] step(float[] l0, float[] l1) {
        return new float[][] {l0, l1};
    }

    @Test
    void meanLayerAndMaxOverLayers() {
        float[][] s = step(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, new float[] {0.3f, 0.0f, 0.1f, 0.6f});
        assertArrayEquals(new float[] {0.2f, 0.1f, 0.2f, 0.5f}, Aggregation.MEAN.apply(s), 1e-7f);
        assertArrayEquals(new float[] {0.3f, 0.0f, 0.1f, 0.6f}, Aggregation.layer(1).apply(s));
        assertArrayEquals(new float[] {0.3f, 0.2f, 0.3f, 0.6f}, Aggregation.MAX.apply(s));
        assertThrows(IllegalArgumentException.class, () -> Aggregation.layer(2).apply(s));
        assertThrows(IllegalArgumentException.class, () -> new Aggregation(Aggregation.Kind.MEAN, 3));
    }

    @Test
    void incompleteCharactersAreGroupedAndTheTailJoinsTheLastToken() {
        float[][] a = step(new float[] {1, 0, 0, 0}, new float[] {1, 0, 0, 0});
        float[][] b = step(new float[] {0, 1, 0, 0}, new float[] {0, 1, 0, 0});
        float[][] c = step(new float[] {0, 0, 1, 0}, new float[] {0, 0, 1, 0});
        float[][] d = step(new float[] {0, 0, 0, 1}, new float[] {0, 0, 0, 1});
        float[][] e = step(new float[] {0.25f, 0.25f, 0.25f, 0.25f}, new float[] {0.25f, 0.25f, 0.25f, 0.25f});
        // tokens: "Hi", "" + "\u00e9" (two tokens for one character), then "" + tail "!" flushed at the end, then EOS
        AttentionMaps m = AttentionMaps.of(G, List.of(a, b, c, d, e), List.of("Hi", "", "\u00e9", "", "!"), 4, true);
        assertEquals(4, m.pieces().size());
        assertEquals(new TokenPiece("Hi", 0, 1, false), m.pieces().get(0));
        assertEquals(new TokenPiece("\u00e9", 1, 3, false), m.pieces().get(1));
        assertEquals(new TokenPiece("!", 3, 4, false), m.pieces().get(2));
        assertTrue(m.pieces().get(3).end());
        assertEquals("Hi\u00e9!", m.text());
        assertArrayEquals(new float[] {0, 0.5f, 0.5f, 0}, m.pieceMap(1, Aggregation.MEAN));
        // whole answer: mean of the 4 token steps, EOS left out
        assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f}, m.answerMap(Aggregation.MEAN));
        // cancelled: the extra step is dropped
        AttentionMaps cancelled = AttentionMaps.of(G, List.of(a, b, c), List.of("a", "b"), 2, false);
        assertEquals(2, cancelled.pieces().size());
        assertEquals(2, cancelled.stepCount());
    }

    @Test
    void perTokenAndAnswerScales() {
        float[][] strong = step(new float[] {0.8f, 0.1f, 0, 0}, new float[] {0.8f, 0.1f, 0, 0});
        float[][] weak = step(new float[] {0.1f, 0.2f, 0, 0}, new float[] {0.1f, 0.2f, 0, 0});
        AttentionMaps m = AttentionMaps.of(G, List.of(strong, weak), List.of("A", "B"), 2, false);
        assertArrayEquals(new float[] {0.5f, 1, 0, 0}, m.normalized(1, Aggregation.MEAN, Scale.PER_TOKEN), 1e-6f);
        assertArrayEquals(new float[] {0.125f, 0.25f, 0, 0}, m.normalized(1, Aggregation.MEAN, Scale.ANSWER), 1e-6f);
        assertEquals(0.8, m.scaleTop(1, Aggregation.MEAN, Scale.ANSWER), 1e-6);
        assertArrayEquals(new float[4], AttentionMaps.normalize(new float[4], 0));
    }

    @Test
    void tokensThatLookedMostAtACell() {
        float[][] x = step(new float[] {0.1f, 0.9f, 0, 0}, new float[] {0.1f, 0.9f, 0, 0});
        float[][] y = step(new float[] {0.6f, 0.1f, 0, 0}, new float[] {0.6f, 0.1f, 0, 0});
        float[][] z = step(new float[] {0.3f, 0.3f, 0, 0}, new float[] {0.3f, 0.3f, 0, 0});
        AttentionMaps m = AttentionMaps.of(G, List.of(x, y, z), List.of("x", "y", "z"), 3, false);
        assertArrayEquals(new int[] {1, 2, 0}, m.topPieces(0, Aggregation.MEAN, 5));
        assertArrayEquals(new int[] {0}, m.topPieces(1, Aggregation.MEAN, 1));
        assertArrayEquals(new double[] {0.1, 0.6, 0.3}, m.cellScores(0, Aggregation.MEAN), 1e-6);
    }

    @Test
    void shapesMustMatchTheGrid() {
        float[][] bad = step(new float[] {1, 0, 0}, new float[] {1, 0, 0});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionMaps.of(G, List.<float[][]>of(bad), List.of("a"), 1, false));
        assertTrue(e.getMessage().contains("2 x 2 grid has 4"), e.getMessage());
    }
}
