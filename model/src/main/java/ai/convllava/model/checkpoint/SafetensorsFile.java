package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.spi.DType;
import ai.convllava.model.spi.TensorInfo;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file: {@code u64 LE header length}, a JSON header
 * {@code {"key": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}},
 * then the data section. Every entry is validated against the file before anything is mapped;
 * tensor bytes are mapped on demand, one tensor at a time.
 */
public final class SafetensorsFile implements TensorFile {
    /** Upper bound on the JSON header, as the safetensors library enforces. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
                    .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final MappedFile file;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(MappedFile file, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.file = file;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        MappedFile file = MappedFile.open(path);
        try {
            return parse(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(MappedFile file) {
        String name = file.name();
        if (file.size() < 8) {
            throw new CheckpointFormatException(name + ": " + file.size()
                    + " bytes is too short for a safetensors file (needs an 8-byte header length); the file is truncated");
        }
        long headerLength = file.read(0, 8, "header length").getLong();
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw new CheckpointFormatException(name + ": header length " + Long.toUnsignedString(headerLength)
                    + " is absurd (limit " + MAX_HEADER_BYTES + " bytes); not a safetensors file or corrupt");
        }
        if (headerLength > file.size() - 8) {
            throw new CheckpointFormatException(name + ": header length " + headerLength + " runs past the end of the file ("
                    + file.size() + " bytes); the file is truncated");
        }
        ByteBuffer header = file.read(8, (int) headerLength, "JSON header");
        JsonNode root;
        try {
            root = JSON.readTree(header.array(), 0, (int) headerLength);
        } catch (JacksonException e) {
            throw new CheckpointFormatException(name + ": header is not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new CheckpointFormatException(name + ": cannot parse header (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointFormatException(name + ": header is not a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataSize = file.size() - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode v = e.getValue();
            if (key.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw new CheckpointFormatException(name + ": __metadata__ is not an object");
                }
                v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.put(key, entry(name, file.path(), key, v, dataStart, dataSize));
        }
        return new SafetensorsFile(file, dataStart, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo entry(String name, Path path, String key, JsonNode v, long dataStart, long dataSize) {
        String where = name + ": tensor '" + key + "'";
        if (!v.isObject()) {
            throw new CheckpointFormatException(where + " entry is not an object");
        }
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw new CheckpointFormatException(where + " has no dtype");
        }
        DType dtype = dtypeOf(dt.asText());
        if (dtype == null) {
            throw new CheckpointFormatException(where + " has unsupported dtype " + dt.asText()
                    + " (supported: F32, F16, BF16, I8, I64, I32, U8, BOOL)");
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) {
            throw new CheckpointFormatException(where + " has no shape array");
        }
        List<Long> dims = new ArrayList<>();
        for (JsonNode d : sh) {
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new CheckpointFormatException(where + " has an invalid shape " + sh);
            }
            dims.add(d.asLong());
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new CheckpointFormatException(where + " has invalid data_offsets " + off + " (expected [begin, end])");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new CheckpointFormatException(where + " has invalid data_offsets [" + begin + ", " + end + "] (need 0 <= begin <= end)");
        }
        if (end > dataSize) {
            throw new CheckpointFormatException(where + " data_offsets [" + begin + ", " + end
                    + "] beyond the data section (" + dataSize + " bytes)");
        }
        long numel = 1;
        try {
            for (long d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            Math.multiplyExact(numel, (long) dtype.bytes());
        } catch (ArithmeticException ex) {
            throw new CheckpointFormatException(where + " shape " + sh + " overflows a 64-bit element count");
        }
        if (end - begin != numel * dtype.bytes()) {
            throw new CheckpointFormatException(where + " " + dtype + " shape " + sh + " needs " + numel * dtype.bytes()
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
        }
        return new TensorInfo(key, dtype, shape, path, dataStart + begin, end - begin);
    }

    static DType dtypeOf(String s) {
        for (DType d : DType.values()) {
            if (d.name().equals(s)) {
                return d;
            }
        }
        return null;
    }

    @Override
    public Path path() {
        return file.path();
    }

    @Override
    public String format() {
        return "safetensors";
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} entries (string values), e.g. {@code format=pt}. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** File offset of the data section (8 + header length). */
    public long dataStart() {
        return dataStart;
    }

    @Override
    public ByteBuffer map(TensorInfo info) {
        return file.map(info.offset(), info.byteLength(), "tensor '" + info.name() + "'");
    }

    @Override
    public void read(TensorInfo info, long byteOffset, ByteBuffer dst) {
        file.readTensor(info, byteOffset, dst);
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + file.path() + ", " + tensors.size() + " tensors]";
    }
}
