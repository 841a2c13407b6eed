package ai.convllava.model.api;

import java.util.Objects;

/**
 * One exchange of a conversation. {@code assistant} is null for the pending last turn (the model answers it).
 */
public record Turn(String user, String assistant) {
    public Turn {
        Objects.requireNonNull(user, "user");
    }

    /** A question awaiting its answer. */
    public static Turn pending(String user) {
        return new Turn(user, null);
    }
}
