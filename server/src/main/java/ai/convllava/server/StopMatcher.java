package ai.convllava.server;

import java.util.List;

/**
 * OpenAI's {@code stop}: the answer ends before the first occurrence of any stop string, which is not
 * part of the answer. The model streams text in pieces that can split a stop string, so text that
 * could still become the start of one is held back until the next piece decides it.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder text = new StringBuilder();
    /** Characters of {@link #text} already handed out. */
    private int emitted;
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Adds a piece; returns the text that is now certainly part of the answer (may be empty). */
    String add(String piece) {
        if (stopped) {
            return "";
        }
        text.append(piece);
        int cut = -1;
        for (String s : stops) {
            int i = text.indexOf(s, Math.max(0, emitted - s.length() + 1));
            if (i >= 0 && (cut < 0 || i < cut)) {
                cut = i;
            }
        }
        int safe;
        if (cut >= 0) {
            stopped = true;
            safe = cut;
        } else {
            safe = text.length() - heldBack();
        }
        String out = safe > emitted ? text.substring(emitted, safe) : "";
        emitted = Math.max(emitted, safe);
        return out;
    }

    /** Longest tail of the text that is a proper prefix of some stop string. */
    private int heldBack() {
        int hold = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, text.length()); k > hold; k--) {
                if (text.length() - k >= emitted && s.startsWith(text.substring(text.length() - k))) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }

    /** At the end without a stop: what was held back is part of the answer after all. */
    String flush() {
        if (stopped) {
            return "";
        }
        String out = text.substring(emitted);
        emitted = text.length();
        return out;
    }

    boolean stopped() {
        return stopped;
    }

    /** The answer so far, cut before the stop string when one was found. */
    String answer() {
        return text.substring(0, stopped ? emitted : text.length());
    }
}
