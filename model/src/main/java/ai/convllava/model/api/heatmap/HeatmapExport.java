package ai.convllava.model.api.heatmap;

import ai.convllava.model.api.image.CanvasGeometry;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The raw numbers behind a heatmap. CSV: one row per recorded step and layer, one column per image
 * token named by its cell ({@code r0c0}, {@code r0c1}, ... row-major). JSON: the geometry, the pieces
 * and every step (layers x image tokens), plus the map on screen when the export was made.
 */
public final class HeatmapExport {
    private HeatmapExport() {
    }

    /** What was on screen: which piece (-1: the whole answer), how it was aggregated and scaled. */
    public record View(int piece, Aggregation aggregation, Scale scale) {
    }

    public static void writeCsv(AttentionMaps maps, Path file) throws IOException {
        try (Writer w = new BufferedWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
            writeCsv(maps, w);
        }
    }

    public static void writeCsv(AttentionMaps maps, Writer w) throws IOException {
        CellMapping m = maps.mapping();
        w.write("step,piece,text,layer");
        for (int i = 0; i < maps.imageTokens(); i++) {
            w.write(",r" + m.row(i) + "c" + m.col(i));
        }
        w.write("\n");
        int[] pieceOfStep = pieceOfStep(maps);
        for (int s = 0; s < maps.stepCount(); s++) {
            float[][] st = maps.step(s);
            int p = pieceOfStep[s];
            String text = p < 0 ? "" : maps.pieces().get(p).end() ? "</s>" : maps.pieces().get(p).text();
            for (int l = 0; l < st.length; l++) {
                w.write(s + "," + p + "," + csv(text) + "," + l);
                for (float v : st[l]) {
                    w.write(',');
                    w.write(Float.toString(v));
                }
                w.write("\n");
            }
        }
    }

    public static void writeJson(AttentionMaps maps, View view, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            writeJson(maps, view, out);
        }
    }

    public static void writeJson(AttentionMaps maps, View view, OutputStream out) throws IOException {
        CanvasGeometry g = maps.geometry();
        try (JsonGenerator j = new JsonFactory().createGenerator(out, JsonEncoding.UTF8)) {
            j.writeStartObject();
            j.writeStringField("description", "attention of each query over the image tokens, mean over heads; step k is the query "
                    + "that produced generated token k (step 0: the last prompt position); image token i is grid cell "
                    + "(i / cols, i % cols), covering canvas pixels [col * cell_size, (col + 1) * cell_size) x [row * cell_size, "
                    + "(row + 1) * cell_size)");
            j.writeArrayFieldStart("canvas");
            j.writeNumber(g.canvasWidth());
            j.writeNumber(g.canvasHeight());
            j.writeEndArray();
            j.writeObjectFieldStart("image_region");
            j.writeNumberField("x", g.imageX());
            j.writeNumberField("y", g.imageY());
            j.writeNumberField("width", g.imageWidth());
            j.writeNumberField("height", g.imageHeight());
            j.writeEndObject();
            j.writeArrayFieldStart("grid");
            j.writeNumber(g.gridRows());
            j.writeNumber(g.gridCols());
            j.writeEndArray();
            j.writeNumberField("cell_size", g.cellSize());
            j.writeNumberField("layers", maps.layers());
            j.writeNumberField("image_tokens", maps.imageTokens());
            j.writeStringField("text", maps.text());
            j.writeArrayFieldStart("pieces");
            for (TokenPiece p : maps.pieces()) {
                j.writeStartObject();
                j.writeStringField("text", p.text());
                j.writeNumberField("from_step", p.fromStep());
                j.writeNumberField("to_step", p.toStep());
                j.writeBooleanField("end", p.end());
                j.writeEndObject();
            }
            j.writeEndArray();
            if (view != null) {
                j.writeObjectFieldStart("view");
                j.writeNumberField("piece", view.piece());
                j.writeStringField("selection", view.piece() < 0 ? "whole answer" : maps.pieces().get(view.piece()).label());
                j.writeStringField("aggregation", view.aggregation().describe());
                j.writeStringField("scale", view.scale().name());
                float[] raw = maps.map(view.piece(), view.aggregation());
                j.writeNumberField("scale_top", maps.scaleTop(view.piece(), view.aggregation(), view.scale()));
                writeFloats(j, "map", raw);
                j.writeEndObject();
            }
            j.writeArrayFieldStart("steps");
            for (int s = 0; s < maps.stepCount(); s++) {
                j.writeStartArray();
                for (float[] layer : maps.step(s)) {
                    writeFloats(j, null, layer);
                }
                j.writeEndArray();
            }
            j.writeEndArray();
            j.writeEndObject();
        }
    }

    private static void writeFloats(JsonGenerator j, String name, float[] v) throws IOException {
        if (name != null) {
            j.writeFieldName(name);
        }
        j.writeStartArray();
        for (float x : v) {
            j.writeNumber(x);
        }
        j.writeEndArray();
    }

    /** The piece each step belongs to, or -1. */
    static int[] pieceOfStep(AttentionMaps maps) {
        int[] out = new int[maps.stepCount()];
        Arrays.fill(out, -1);
        List<TokenPiece> pieces = maps.pieces();
        for (int p = 0; p < pieces.size(); p++) {
            for (int s = pieces.get(p).fromStep(); s < pieces.get(p).toStep(); s++) {
                out[s] = p;
            }
        }
        return out;
    }

    static String csv(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0 && s.strip().equals(s)) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
