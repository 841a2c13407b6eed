package ai.convllava.model.api;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** Option values as users type them (lower case) into the API's enums. */
final class Options {
    private Options() {
    }

    static <E extends Enum<E>> E parse(Class<E> type, String s, String option) {
        try {
            return Enum.valueOf(type, s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            List<String> names = Arrays.stream(type.getEnumConstants()).map(c -> c.name().toLowerCase(Locale.ROOT))
                    .collect(Collectors.toCollection(ArrayList::new));
            if (type == WeightFormat.class) {
                names.add(0, "auto");
            }
            String allowed = String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
            throw new IllegalArgumentException(option + " must be " + allowed + " (got " + s + ")");
        }
    }
}
