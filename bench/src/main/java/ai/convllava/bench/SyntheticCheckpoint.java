package ai.convllava.bench;

import ai.convllava.model.spi.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes {@link SyntheticWeights} as a Hugging Face sharded safetensors checkpoint (BF16 shards
 * {@code model-0000i-of-0000n.safetensors} of at most {@link #SHARD_BYTES}, plus
 * {@code model.safetensors.index.json}), once: a marker file records model, layers and seed, and a
 * folder whose marker matches is reused as is.
 */
public final class SyntheticCheckpoint {
    /** Shard size limit, as {@code save_pretrained(max_shard_size="2GB")}. */
    public static final long SHARD_BYTES = 2_000_000_000L;
    public static final String INDEX = "model.safetensors.index.json";
    public static final String MARKER = "synthetic-checkpoint.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private SyntheticCheckpoint() {
    }

    /** True if {@code dir} already holds this exact synthetic checkpoint (same model, layers, seed). */
    public static boolean isUpToDate(Path dir, SyntheticWeights w) {
        Path marker = dir.resolve(MARKER);
        if (!Files.isRegularFile(marker) || !Files.isRegularFile(dir.resolve(INDEX))) {
            return false;
        }
        try {
            return JSON.readTree(marker.toFile()).toString().equals(marker(w).toString()); // as text: int vs long nodes
        } catch (IOException e) {
            return false;
        }
    }

    private static JsonNode marker(SyntheticWeights w) {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", w.model().name());
        o.put("llm_layers", w.model().llmLayers());
        o.put("seed", w.seed());
        o.put("tensors", w.keys().size());
        o.put("bytes", w.totalBytes());
        return o;
    }

    /** Writes the checkpoint into {@code dir} (created if needed); returns the shard files. */
    public static List<Path> write(Path dir, SyntheticWeights w) {
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(dir.resolve(MARKER));
            List<List<String>> shards = new ArrayList<>();
            List<String> current = new ArrayList<>();
            long size = 0;
            for (String key : w.keys()) {
                long b = w.info(key).byteLength();
                if (!current.isEmpty() && size + b > SHARD_BYTES) {
                    shards.add(current);
                    current = new ArrayList<>();
                    size = 0;
                }
                current.add(key);
                size += b;
            }
            shards.add(current);
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", w.totalBytes());
            ObjectNode map = index.putObject("weight_map");
            List<Path> files = new ArrayList<>();
            for (int s = 0; s < shards.size(); s++) {
                String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
                writeShard(dir.resolve(name), shards.get(s), w);
                for (String k : shards.get(s)) {
                    map.put(k, name);
                }
                files.add(dir.resolve(name));
            }
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(INDEX).toFile(), index);
            JSON.writeValue(dir.resolve(MARKER).toFile(), marker(w));
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the synthetic checkpoint to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void writeShard(Path file, List<String> keys, SyntheticWeights w) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (String k : keys) {
            TensorInfo info = w.info(k);
            ObjectNode t = header.putObject(k);
            t.put("dtype", "BF16");
            ArrayNode shape = t.putArray("shape");
            for (long d : info.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + info.byteLength());
            offset += info.byteLength();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // the data section starts 8-aligned
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(ch, head);
            long largest = keys.stream().mapToLong(k -> w.info(k).byteLength()).max().orElse(0);
            ByteBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(largest)); // one buffer for the shard
            for (String k : keys) {
                ByteBuffer data = buffer.clear().limit(Math.toIntExact(w.info(k).byteLength()));
                w.readBf16(k, data);
                data.flip();
                writeFully(ch, data);
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
