package ai.convllava.app.gui.settings;

import ai.convllava.app.gui.store.AtomicFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import javafx.beans.InvalidationListener;
import javafx.beans.Observable;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ListProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.Property;
import javafx.beans.property.StringProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Settings as one JSON file ({@code settings.json} in the config folder), written atomically. Unknown
 * or invalid entries are ignored (the default stays), so an old or hand-edited file never stops the app;
 * the window size and divider positions are put back into their ranges ({@link AppSettings#clampLayout}).
 */
public final class SettingsStore {
    private static final Logger LOG = LoggerFactory.getLogger(SettingsStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    public SettingsStore(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    public AppSettings load() {
        AppSettings s = new AppSettings();
        if (!Files.isRegularFile(file)) {
            return s;
        }
        try {
            JsonNode root = JSON.readTree(file.toFile());
            for (Observable o : s.all()) {
                Property<?> p = (Property<?>) o;
                JsonNode v = root.get(p.getName());
                if (v != null && !v.isNull()) {
                    read(p, v);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("settings file {} could not be read, using defaults: {}", file, e.getMessage());
        }
        s.clampLayout();
        return s;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void read(Property<?> p, JsonNode v) {
        if (p instanceof DoubleProperty d && v.isNumber()) {
            d.set(v.asDouble());
        } else if (p instanceof IntegerProperty i && v.canConvertToInt()) {
            i.set(v.asInt());
        } else if (p instanceof BooleanProperty b && v.isBoolean()) {
            b.set(v.asBoolean());
        } else if (p instanceof StringProperty str && v.isTextual()) {
            str.set(v.asText());
        } else if (p instanceof ListProperty list && v.isArray()) {
            List<String> items = new ArrayList<>();
            v.forEach(item -> {
                if (item.isTextual()) {
                    items.add(item.asText());
                }
            });
            list.setAll(items);
        } else if (p instanceof ObjectProperty op && op.get() instanceof Enum<?> e && v.isTextual()) {
            try {
                op.set(Enum.valueOf(e.getDeclaringClass(), v.asText()));
            } catch (IllegalArgumentException ignored) {
                LOG.warn("unknown value {} for setting {}", v.asText(), p.getName());
            }
        }
    }

    public void save(AppSettings s) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        for (Observable o : s.all()) {
            Property<?> p = (Property<?>) o;
            Object v = p.getValue();
            if (v instanceof Double d) {
                if (!d.isNaN()) {
                    root.put(p.getName(), d);
                }
            } else if (v instanceof Integer i) {
                root.put(p.getName(), i);
            } else if (v instanceof Boolean b) {
                root.put(p.getName(), b);
            } else if (v instanceof Enum<?> e) {
                root.put(p.getName(), e.name());
            } else if (v instanceof List<?> list) {
                ArrayNode a = root.putArray(p.getName());
                list.forEach(item -> a.add(String.valueOf(item)));
            } else if (v != null) {
                root.put(p.getName(), v.toString());
            }
        }
        AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    }

    /**
     * Saves whenever a setting changes, on {@code io}; bursts (a window being dragged) coalesce into one
     * write.
     */
    public void autoSave(AppSettings s, Executor io) {
        AtomicBoolean pending = new AtomicBoolean();
        InvalidationListener l = o -> {
            if (pending.compareAndSet(false, true)) {
                io.execute(() -> {
                    pending.set(false);
                    try {
                        save(s);
                    } catch (IOException | RuntimeException e) {
                        LOG.warn("settings could not be saved to {}: {}", file, e.getMessage());
                    }
                });
            }
        };
        for (Observable o : s.all()) {
            o.addListener(l);
        }
    }
}
