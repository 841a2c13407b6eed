package ai.convllava.server;

import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.ImageDecodeException;
import ai.convllava.model.api.image.ImageFiles;
import ai.convllava.model.api.image.RgbImage;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads a {@code POST /v1/chat/completions} body into a {@link ParsedChat}, refusing anything it does
 * not understand with a 400 that names the field: a field we would silently ignore (say
 * {@code frequency_penalty: 0.5}) would give an answer the client did not ask for.
 */
final class ChatRequestParser {
    /** Every top-level field we accept; the OpenAI Python client sends only the ones its caller passed. */
    static final Set<String> FIELDS = Set.of("model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "seed", "stop", "n", "user", "frequency_penalty", "presence_penalty", "logprobs", "convllava");
    static final int DEFAULT_MAX_TOKENS = 512;
    static final int MAX_MESSAGES = 256;
    /** All message text together; the context (4096 tokens for ConvLLaVA) would refuse more anyway, but only after tokenizing it. */
    static final int MAX_TEXT_CHARS = 1 << 20;

    private final ServerOptions options;
    /**
     * The last image decoded, by the hash of its bytes: a client resends the conversation's image with
     * every turn, and decoding it again was the largest part of the server's own time per request.
     */
    private volatile Decoded lastDecoded;

    private record Decoded(String key, RgbImage image) {
    }

    ChatRequestParser(ServerOptions options) {
        this.options = options;
    }

    ParsedChat parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.invalid(null, "the request body must be a JSON object (got " + (body == null ? "nothing" : body.getNodeType()) + ")");
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw ApiException.invalid(f, "unknown field '" + f + "'; this server accepts " + String.join(", ", FIELDS.stream().sorted().toList()));
            }
        }
        String model = optText(body, "model");
        boolean stream = optBool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!stream) {
                throw ApiException.invalid("stream_options", "stream_options is only allowed with stream: true");
            }
            if (!so.isObject()) {
                throw ApiException.invalid("stream_options", "stream_options must be an object (got " + so.getNodeType() + ")");
            }
            for (Iterator<String> it = so.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                // include_obfuscation pads chunks against length side channels over the internet; on one machine it has nothing to hide
                if (!f.equals("include_usage") && !f.equals("include_obfuscation")) {
                    throw ApiException.invalid("stream_options." + f, "unknown field 'stream_options." + f + "'; accepted: include_usage");
                }
            }
            includeUsage = optBool(so, "include_usage", false);
        }
        int n = (int) optLong(body, "n", 1, 1, 1);
        assert n == 1;
        requireDefault(body, "frequency_penalty", 0);
        requireDefault(body, "presence_penalty", 0);
        if (optBool(body, "logprobs", false)) {
            throw ApiException.invalid("logprobs", "logprobs are not supported by this server");
        }
        optText(body, "user"); // accepted and not used: one machine, one user

        Long maxTokens = body.has("max_tokens") && !body.get("max_tokens").isNull() ? optLong(body, "max_tokens", 0, 1, options.maxTokens()) : null;
        Long maxCompletion = body.has("max_completion_tokens") && !body.get("max_completion_tokens").isNull()
                ? optLong(body, "max_completion_tokens", 0, 1, options.maxTokens()) : null;
        if (maxTokens != null && maxCompletion != null && !maxTokens.equals(maxCompletion)) {
            throw ApiException.invalid("max_completion_tokens", "max_tokens (" + maxTokens + ") and max_completion_tokens (" + maxCompletion
                    + ") disagree; send one of them");
        }
        int max = (int) (maxCompletion != null ? maxCompletion : maxTokens != null ? maxTokens : Math.min(DEFAULT_MAX_TOKENS, options.maxTokens()));
        double temperature = optDouble(body, "temperature", 1.0, 0, 2);
        double topP = optDouble(body, "top_p", 1.0, Double.MIN_VALUE, 1);
        Long seed = body.has("seed") && !body.get("seed").isNull() ? optLong(body, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE) : null;
        List<String> stop = stops(body.get("stop"));

        CanvasMode mode = CanvasMode.PAD;
        boolean attention = false;
        JsonNode ext = body.get("convllava");
        if (ext != null && !ext.isNull()) {
            if (!ext.isObject()) {
                throw ApiException.invalid("convllava", "convllava must be an object (got " + ext.getNodeType() + ")");
            }
            for (Iterator<String> it = ext.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!f.equals("mode") && !f.equals("image_attention")) {
                    throw ApiException.invalid("convllava." + f, "unknown field 'convllava." + f + "'; accepted: mode, image_attention");
                }
            }
            String m = optText(ext, "mode");
            if (m != null) {
                switch (m) {
                    case "pad" -> mode = CanvasMode.PAD;
                    case "native" -> mode = CanvasMode.NATIVE;
                    default -> throw ApiException.invalid("convllava.mode", "convllava.mode must be pad or native (got " + m + ")");
                }
            }
            attention = optBool(ext, "image_attention", false);
        }

        Conversation c = conversation(body.get("messages"));
        // OpenAI's default temperature is 1; ConvLLaVA's own (the app, ask) is 0, but a client that sends none expects OpenAI's
        GenerationConfig gen = new GenerationConfig(max, temperature, topP, 0, 1.0, seed, attention);
        return new ParsedChat(model, c.turns, c.system, c.image, mode, c.image == null ? null : c.imageKey + "/" + mode, gen, stream, includeUsage,
                stop, attention);
    }

    private static final class Conversation {
        final List<Turn> turns = new ArrayList<>();
        String system;
        RgbImage image;
        String imageKey;
        String imageParam;
    }

    private Conversation conversation(JsonNode messages) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array"
                    + (messages == null ? " (missing)" : " (got " + (messages.isArray() ? "an empty array" : messages.getNodeType()) + ")"));
        }
        if (messages.size() > MAX_MESSAGES) {
            throw ApiException.invalid("messages", "at most " + MAX_MESSAGES + " messages (got " + messages.size() + ")");
        }
        Conversation c = new Conversation();
        StringBuilder system = null;
        StringBuilder user = null;
        long chars = 0;
        for (int i = 0; i < messages.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode m = messages.get(i);
            if (!m.isObject()) {
                throw ApiException.invalid(at, at + " must be an object (got " + m.getNodeType() + ")");
            }
            for (Iterator<String> it = m.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!f.equals("role") && !f.equals("content") && !f.equals("name")) {
                    throw ApiException.invalid(at + "." + f, "unknown field '" + f + "' in " + at + "; accepted: role, content, name");
                }
            }
            String role = optText(m, "role");
            if (role == null) {
                throw ApiException.invalid(at + ".role", at + ".role is required (system, developer, user or assistant)");
            }
            String text = content(m.get("content"), at + ".content", role.equals("user"), c);
            chars += text.length();
            if (chars > MAX_TEXT_CHARS) {
                throw ApiException.invalid("messages", "the messages hold more than " + MAX_TEXT_CHARS + " characters of text");
            }
            switch (role) {
                case "system", "developer" -> {
                    if (!c.turns.isEmpty() || user != null) {
                        throw ApiException.invalid(at + ".role", "a " + role + " message must come before the conversation (" + at + " follows it)");
                    }
                    system = system == null ? new StringBuilder(text) : system.append('\n').append(text);
                }
                case "user" -> user = user == null ? new StringBuilder(text) : user.append('\n').append(text);
                case "assistant" -> {
                    if (user == null) {
                        throw ApiException.invalid(at + ".role", "an assistant message must answer a user message (" + at + " has none before it)");
                    }
                    c.turns.add(new Turn(user.toString(), text));
                    user = null;
                }
                default -> throw ApiException.invalid(at + ".role", at + ".role must be system, developer, user or assistant (got " + role + ")");
            }
        }
        if (user == null) {
            throw ApiException.invalid("messages", "the last message must be the user's question (got an assistant message)");
        }
        c.turns.add(Turn.pending(user.toString()));
        c.system = system == null ? null : system.toString();
        if (c.image == null) {
            throw ApiException.invalid("messages", "ConvLLaVA answers questions about an image: no user message has an image_url part");
        }
        return c;
    }

    /** The text of a message's content (a string, or text parts joined); image parts go to {@code c}. */
    private String content(JsonNode content, String at, boolean imagesAllowed, Conversation c) {
        if (content == null || content.isNull()) {
            throw ApiException.invalid(at, at + " is required (a string or an array of parts)");
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw ApiException.invalid(at, at + " must be a string or an array of parts (got " + content.getNodeType() + ")");
        }
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
            String pat = at + "[" + j + "]";
            JsonNode part = content.get(j);
            String type = part.isObject() ? optText(part, "type") : null;
            if (type == null) {
                throw ApiException.invalid(pat + ".type", pat + " must be an object with a type (text or image_url)");
            }
            switch (type) {
                case "text" -> {
                    onlyFields(part, pat, "type", "text");
                    String t = optText(part, "text");
                    if (t == null) {
                        throw ApiException.invalid(pat + ".text", pat + ".text is required");
                    }
                    if (!text.isEmpty()) {
                        text.append('\n');
                    }
                    text.append(t);
                }
                case "image_url" -> {
                    if (!imagesAllowed) {
                        throw ApiException.invalid(pat, "only user messages can hold images (" + pat + ")");
                    }
                    onlyFields(part, pat, "type", "image_url");
                    JsonNode iu = part.get("image_url");
                    if (iu == null || !iu.isObject()) {
                        throw ApiException.invalid(pat + ".image_url", pat + ".image_url must be an object with a url");
                    }
                    onlyFields(iu, pat + ".image_url", "url", "detail");
                    String detail = optText(iu, "detail");
                    if (detail != null && !Set.of("auto", "low", "high").contains(detail)) {
                        throw ApiException.invalid(pat + ".image_url.detail", "detail must be auto, low or high (got " + detail + ")");
                    }
                    String url = optText(iu, "url");
                    if (url == null) {
                        throw ApiException.invalid(pat + ".image_url.url", pat + ".image_url.url is required");
                    }
                    addImage(c, url, pat + ".image_url.url");
                }
                default -> throw ApiException.invalid(pat + ".type", pat + ".type must be text or image_url (got " + type + ")");
            }
        }
        return text.toString();
    }

    /** ConvLLaVA was trained on one image per conversation: the same image may be repeated, another one is refused. */
    private void addImage(Conversation c, String url, String param) {
        byte[] bytes = imageBytes(url, param);
        String key = sha256(bytes);
        if (c.image != null) {
            if (!key.equals(c.imageKey)) {
                throw ApiException.invalid(param, "ConvLLaVA answers about one image per conversation: " + param + " is a second image ("
                        + c.imageParam + " was the first)");
            }
            return;
        }
        Decoded last = lastDecoded;
        if (last != null && last.key().equals(key)) {
            c.image = last.image(); // RgbImage is never written after decoding: sharing it between requests is safe
        } else {
            try {
                c.image = ImageFiles.decodeImage(bytes, param, options.maxImagePixels());
            } catch (ImageDecodeException e) {
                throw ApiException.invalid(param, e.getMessage());
            }
            lastDecoded = new Decoded(key, c.image);
        }
        c.imageKey = key;
        c.imageParam = param;
    }

    private byte[] imageBytes(String url, String param) {
        String lower = url.substring(0, Math.min(url.length(), 16)).toLowerCase(Locale.ROOT);
        if (lower.startsWith("data:")) {
            int comma = url.indexOf(',');
            String meta = comma < 0 ? "" : url.substring(5, comma).toLowerCase(Locale.ROOT);
            if (comma < 0 || !meta.endsWith(";base64")) {
                throw ApiException.invalid(param, param + " must be a base64 data URL (data:image/png;base64,...)");
            }
            String mime = meta.substring(0, meta.length() - ";base64".length());
            if (!Set.of("image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif", "image/bmp").contains(mime)) {
                throw ApiException.invalid(param, param + " has media type '" + mime + "'; accepted: image/png, image/jpeg, image/webp, image/gif, image/bmp");
            }
            try {
                // strict (the MIME decoder skips what is not base64, so garbage would become an empty image); line breaks allowed
                return Base64.getDecoder().decode(url.substring(comma + 1).replaceAll("[\\r\\n ]", ""));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid(param, param + " is not valid base64 (" + e.getMessage() + ")");
            }
        }
        if (lower.startsWith("file:")) {
            return fileBytes(url, param);
        }
        throw ApiException.invalid(param, param + " must be a data: URL" + (options.allowedFolder() != null ? " or a file:// URL" : "")
                + "; the server fetches nothing from the network (got " + url.substring(0, Math.min(url.length(), 40)) + ")");
    }

    /**
     * A file URL, read only inside the allowed folder: both are resolved to real paths (symbolic links
     * and ".." followed) before comparing, so no link or relative path leads out of it.
     */
    private byte[] fileBytes(String url, String param) {
        Path allowed = options.allowedFolder();
        if (allowed == null) {
            throw ApiException.invalid(param, "file:// image URLs are off; start the server with --allow-files DIR to read images from DIR");
        }
        Path file;
        try {
            file = Path.of(new URI(url));
        } catch (URISyntaxException | IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw ApiException.invalid(param, param + " is not a valid file URL (" + e.getMessage() + ")");
        }
        Path real;
        Path root;
        try {
            root = allowed.toRealPath();
            real = file.toRealPath();
        } catch (NoSuchFileException e) {
            throw new ApiException(403, "invalid_request_error", param, "file_not_allowed", param + ": " + file + " is not a file inside the allowed folder");
        } catch (IOException e) {
            throw new ApiException(403, "invalid_request_error", param, "file_not_allowed", param + ": " + file + " cannot be read (" + e.getMessage() + ")");
        }
        if (!real.startsWith(root) || !Files.isRegularFile(real)) {
            // the same message whether the file exists or not: the answer must not reveal what lies outside the folder
            throw new ApiException(403, "invalid_request_error", param, "file_not_allowed", param + ": " + file + " is not a file inside the allowed folder");
        }
        try {
            long size = Files.size(real);
            if (size > options.maxBodyBytes()) {
                throw new ApiException(413, "invalid_request_error", param, "image_too_large", param + ": " + file + " is " + size
                        + " bytes; the limit is " + options.maxBodyBytes());
            }
            // the checked path itself, not following a link put in its place since the check
            try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(real, java.nio.file.StandardOpenOption.READ,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) size);
                while (buf.hasRemaining() && ch.read(buf) > 0) {
                    // read to the size checked above; a file grown since is cut there
                }
                return java.util.Arrays.copyOf(buf.array(), buf.position());
            }
        } catch (IOException e) {
            throw new ApiException(403, "invalid_request_error", param, "file_not_allowed", param + ": " + file + " cannot be read (" + e.getMessage() + ")");
        }
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> stops(JsonNode s) {
        if (s == null || s.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (s.isTextual()) {
            out.add(s.asText());
        } else if (s.isArray()) {
            if (s.size() > 4) {
                throw ApiException.invalid("stop", "stop takes at most 4 strings (got " + s.size() + ")");
            }
            for (JsonNode x : s) {
                if (!x.isTextual()) {
                    throw ApiException.invalid("stop", "stop must hold strings (got " + x.getNodeType() + ")");
                }
                out.add(x.asText());
            }
        } else {
            throw ApiException.invalid("stop", "stop must be a string or an array of strings (got " + s.getNodeType() + ")");
        }
        for (String x : out) {
            if (x.isEmpty()) {
                throw ApiException.invalid("stop", "a stop string must not be empty");
            }
        }
        return out;
    }

    private static void onlyFields(JsonNode o, String at, String... allowed) {
        Set<String> ok = Set.of(allowed);
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ok.contains(f)) {
                throw ApiException.invalid(at + "." + f, "unknown field '" + f + "' in " + at + "; accepted: " + String.join(", ", allowed));
            }
        }
    }

    private static void requireDefault(JsonNode body, String field, double value) {
        JsonNode v = body.get(field);
        if (v != null && !v.isNull() && (!v.isNumber() || v.asDouble() != value)) {
            throw ApiException.invalid(field, field + " is not supported by this server (only " + value + "; got " + v + ")");
        }
    }

    private static String optText(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(field, field + " must be a string (got " + v.getNodeType() + ")");
        }
        return v.asText();
    }

    private static boolean optBool(JsonNode o, String field, boolean dflt) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(field, field + " must be true or false (got " + v + ")");
        }
        return v.asBoolean();
    }

    private static long optLong(JsonNode o, String field, long dflt, long min, long max) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid(field, field + " must be an integer (got " + v + ")");
        }
        long x = v.asLong();
        if (x < min || x > max) {
            throw ApiException.invalid(field, field + " must be in [" + min + ", " + max + "] (got " + x + ")");
        }
        return x;
    }

    private static double optDouble(JsonNode o, String field, double dflt, double min, double max) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiException.invalid(field, field + " must be a number (got " + v + ")");
        }
        double x = v.asDouble();
        if (!(x >= min && x <= max)) {
            throw ApiException.invalid(field, field + " must be in [" + (min == Double.MIN_VALUE ? "0 exclusive" : min) + ", " + max + "] (got " + x + ")");
        }
        return x;
    }
}
