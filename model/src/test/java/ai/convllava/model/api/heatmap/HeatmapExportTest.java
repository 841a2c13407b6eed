package ai.convllava.model.api.heatmap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HeatmapExportTest {
    final AttentionMaps maps = AttentionMaps.of(AttentionMapsTest.G,
            List.of(AttentionMapsTest.step(new float[] {0.5f, 0.25f, 0, 0}, new float[] {0.1f, 0.2f, 0.3f, 0.4f}),
                    AttentionMapsTest.step(new float[] {0, 0, 0, 1}, new float[] {0, 0, 1, 0})),
            List.of("Yes,", " \"it\""), 2, false);

    @Test
    void csvHasOneRowPerStepAndLayerAndOneColumnPerCell() throws Exception {
        StringWriter w = new StringWriter();
        HeatmapExport.writeCsv(maps, w);
        String[] lines = w.toString().split("\n");
        assertEquals("step,piece,text,layer,r0c0,r0c1,r1c0,r1c1", lines[0]);
        assertEquals(1 + 2 * 2, lines.length);
        assertEquals("0,0,\"Yes,\",0,0.5,0.25,0.0,0.0", lines[1]);
        assertEquals("1,1,\" \"\"it\"\"\",1,0.0,0.0,1.0,0.0", lines[4]);
    }

    @Test
    void jsonHasGeometryPiecesStepsAndTheView() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HeatmapExport.writeJson(maps, new HeatmapExport.View(0, Aggregation.MEAN, Scale.PER_TOKEN), out);
        JsonNode j = new ObjectMapper().readTree(out.toByteArray());
        assertEquals(2, j.get("grid").get(0).asInt());
        assertEquals(64, j.get("cell_size").asInt());
        assertEquals(2, j.get("layers").asInt());
        assertEquals("Yes, \"it\"", j.get("text").asText());
        assertEquals(2, j.get("steps").size());
        assertEquals(0.4, j.get("steps").get(0).get(1).get(3).asDouble(), 1e-7);
        assertEquals("mean over layers", j.get("view").get("aggregation").asText());
        assertEquals(0.3, j.get("view").get("map").get(0).asDouble(), 1e-6);
        assertEquals(0.3, j.get("view").get("scale_top").asDouble(), 1e-6);
    }
}
