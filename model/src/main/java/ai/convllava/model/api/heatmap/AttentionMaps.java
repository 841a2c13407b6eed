package ai.convllava.model.api.heatmap;

import ai.convllava.model.api.image.CanvasGeometry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One answer's attention over the image, ready to draw: the recorded steps (entry k is the attention of
 * the query that produced generated token k: entry 0 is the last prompt position; each (layers, image
 * tokens), mean over heads, as {@code GenerationResult.imageAttention()} gives them), the answer cut into
 * {@link TokenPiece}s, and the canvas geometry that maps image tokens to grid cells. Immutable; the
 * aggregated maps are computed once per aggregation and cached.
 */
public final class AttentionMaps {
    private final CanvasGeometry geometry;
    private final CellMapping mapping;
    private final List<float[][]> steps;
    private final List<TokenPiece> pieces;
    private final int layers;
    private final Map<Aggregation, float[][]> cache = Collections.synchronizedMap(new HashMap<>());

    public AttentionMaps(CanvasGeometry geometry, List<float[][]> steps, List<TokenPiece> pieces) {
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("no attention was recorded");
        }
        this.geometry = geometry;
        this.mapping = new CellMapping(geometry);
        this.layers = steps.get(0).length;
        int n = geometry.tokenCount();
        for (int s = 0; s < steps.size(); s++) {
            float[][] st = steps.get(s);
            if (st.length != layers || layers == 0) {
                throw new IllegalArgumentException("step " + s + " has " + st.length + " layers, expected " + layers);
            }
            for (int l = 0; l < layers; l++) {
                if (st[l] == null || st[l].length != n) {
                    throw new IllegalArgumentException("step " + s + " layer " + l + " has " + (st[l] == null ? "no" : st[l].length)
                            + " image tokens, but the " + geometry.gridRows() + " x " + geometry.gridCols() + " grid has " + n);
                }
            }
        }
        for (TokenPiece p : pieces) {
            if (p.toStep() > steps.size()) {
                throw new IllegalArgumentException("piece \"" + p.text() + "\" ends at step " + p.toStep() + " of " + steps.size());
            }
        }
        this.steps = List.copyOf(steps);
        this.pieces = List.copyOf(pieces);
    }

    /**
     * From what an answer left behind: the recorded steps, the text deltas in the order the listener got
     * them (one per generated token, then possibly one more: the detokenizer's flushed tail), how many
     * tokens were generated and whether the model stopped by choosing end-of-sequence.
     *
     * <p>Tokens whose delta is "" (a multi-byte character not complete yet) are grouped with the
     * following tokens into one piece; a flushed tail is added to the last token's text. A step recorded
     * after the last token is the end-of-sequence decision (a piece of its own) when {@code eos}, else
     * (cancelled) dropped. Steps a token never got (none in practice) leave that token without a piece.
     */
    public static AttentionMaps of(CanvasGeometry geometry, List<float[][]> steps, List<String> deltas, int generatedTokens, boolean eos) {
        List<float[][]> usable = new ArrayList<>();
        for (float[][] s : steps) {
            if (s == null || Arrays.stream(s).anyMatch(l -> l == null)) {
                break; // a step cut short (cancelled between layers)
            }
            usable.add(s);
        }
        String[] text = new String[generatedTokens];
        for (int i = 0; i < generatedTokens; i++) {
            text[i] = i < deltas.size() ? deltas.get(i) : "";
        }
        if (generatedTokens > 0) {
            StringBuilder tail = new StringBuilder();
            for (int i = generatedTokens; i < deltas.size(); i++) {
                tail.append(deltas.get(i));
            }
            text[generatedTokens - 1] += tail;
        }
        List<TokenPiece> pieces = new ArrayList<>();
        int tokensWithSteps = Math.min(generatedTokens, usable.size());
        int from = 0;
        for (int i = 0; i < tokensWithSteps; i++) {
            if (text[i].isEmpty() && i < tokensWithSteps - 1) {
                continue;
            }
            if (text[i].isEmpty() && !pieces.isEmpty()) { // trailing tokens that never made text: the last piece's
                TokenPiece last = pieces.remove(pieces.size() - 1);
                pieces.add(new TokenPiece(last.text(), last.fromStep(), i + 1, false));
            } else {
                pieces.add(new TokenPiece(text[i].isEmpty() ? "\ufffd" : text[i], from, i + 1, false));
            }
            from = i + 1;
        }
        int kept = tokensWithSteps;
        if (eos && usable.size() > generatedTokens) {
            pieces.add(new TokenPiece("", generatedTokens, generatedTokens + 1, true));
            kept = generatedTokens + 1;
        }
        return new AttentionMaps(geometry, usable.subList(0, Math.max(1, kept)), pieces);
    }

    public CanvasGeometry geometry() {
        return geometry;
    }

    public CellMapping mapping() {
        return mapping;
    }

    public int layers() {
        return layers;
    }

    public int imageTokens() {
        return geometry.tokenCount();
    }

    public int stepCount() {
        return steps.size();
    }

    /** Step s: (layers, image tokens), a copy. */
    public float[][] step(int s) {
        float[][] st = steps.get(s);
        float[][] out = new float[st.length][];
        for (int l = 0; l < st.length; l++) {
            out[l] = st[l].clone();
        }
        return out;
    }

    public List<TokenPiece> pieces() {
        return pieces;
    }

    /** The answer as the pieces spell it. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (TokenPiece p : pieces) {
            sb.append(p.text());
        }
        return sb.toString();
    }

    /** Every piece's map under this aggregation (probabilities; a piece of several tokens: their mean). */
    private float[][] all(Aggregation a) {
        return cache.computeIfAbsent(a, k -> {
            float[][] out = new float[pieces.size()][];
            for (int p = 0; p < pieces.size(); p++) {
                TokenPiece piece = pieces.get(p);
                float[] sum = new float[imageTokens()];
                for (int s = piece.fromStep(); s < piece.toStep(); s++) {
                    float[] m = k.apply(steps.get(s));
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += m[i];
                    }
                }
                for (int i = 0; i < sum.length; i++) {
                    sum[i] /= piece.tokenCount();
                }
                out[p] = sum;
            }
            return out;
        });
    }

    /** The attention probabilities of one piece over the image tokens. */
    public float[] pieceMap(int piece, Aggregation a) {
        return all(a)[piece].clone();
    }

    /** The whole answer: the mean over its tokens' steps (the end-of-sequence step left out). */
    public float[] answerMap(Aggregation a) {
        double[] sum = new double[imageTokens()];
        int count = 0;
        for (TokenPiece p : pieces) {
            if (p.end()) {
                continue;
            }
            for (int s = p.fromStep(); s < p.toStep(); s++) {
                float[] m = a.apply(steps.get(s));
                for (int i = 0; i < sum.length; i++) {
                    sum[i] += m[i];
                }
                count++;
            }
        }
        if (count == 0) { // no text at all: whatever was recorded
            for (float[][] st : steps) {
                float[] m = a.apply(st);
                for (int i = 0; i < sum.length; i++) {
                    sum[i] += m[i];
                }
                count++;
            }
        }
        float[] out = new float[sum.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (sum[i] / count);
        }
        return out;
    }

    /** {@link #pieceMap} for piece >= 0, {@link #answerMap} for -1. */
    public float[] map(int piece, Aggregation a) {
        return piece < 0 ? answerMap(a) : pieceMap(piece, a);
    }

    /** The largest probability any piece gives any image token under this aggregation (the top of the answer-wide scale). */
    public double answerMax(Aggregation a) {
        double m = max(answerMap(a));
        for (float[] p : all(a)) {
            m = Math.max(m, max(p));
        }
        return m;
    }

    /** What value the top of the colour scale stands for, for this map. */
    public double scaleTop(int piece, Aggregation a, Scale scale) {
        return scale == Scale.ANSWER ? answerMax(a) : max(map(piece, a));
    }

    /** The map for display: values in [0, 1], divided by {@link #scaleTop}. */
    public float[] normalized(int piece, Aggregation a, Scale scale) {
        return normalize(map(piece, a), scaleTop(piece, a, scale));
    }

    /** Each value divided by {@code top}, clamped to [0, 1]; all zeros when top is not positive. */
    public static float[] normalize(float[] raw, double top) {
        float[] out = new float[raw.length];
        if (!(top > 0)) {
            return out;
        }
        for (int i = 0; i < raw.length; i++) {
            out[i] = (float) Math.max(0, Math.min(1, raw[i] / top));
        }
        return out;
    }

    /** How much each piece attended to one image token (probabilities, by piece). */
    public double[] cellScores(int token, Aggregation a) {
        mapping.row(token);
        float[][] all = all(a);
        double[] out = new double[all.length];
        for (int p = 0; p < all.length; p++) {
            out[p] = all[p][token];
        }
        return out;
    }

    /** The pieces that attended most to this image token, best first (at most k; end-of-sequence left out). */
    public int[] topPieces(int token, Aggregation a, int k) {
        double[] s = cellScores(token, a);
        List<Integer> idx = new ArrayList<>();
        for (int p = 0; p < s.length; p++) {
            if (!pieces.get(p).end()) {
                idx.add(p);
            }
        }
        idx.sort((x, y) -> Double.compare(s[y], s[x]));
        return idx.stream().limit(k).mapToInt(Integer::intValue).toArray();
    }

    /** The share of the query's attention that went to the image at all (sum over image tokens). */
    public static double sum(float[] map) {
        double s = 0;
        for (float v : map) {
            s += v;
        }
        return s;
    }

    public static double max(float[] map) {
        double m = 0;
        for (float v : map) {
            m = Math.max(m, v);
        }
        return m;
    }

    /** Index of the largest value (the first, on ties). */
    public static int argmax(float[] map) {
        int best = 0;
        for (int i = 1; i < map.length; i++) {
            if (map[i] > map[best]) {
                best = i;
            }
        }
        return best;
    }
}
