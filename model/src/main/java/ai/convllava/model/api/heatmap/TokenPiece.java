package ai.convllava.model.api.heatmap;

/**
 * A piece of the answer that gets one map: one generated token, or several when a character took more
 * than one token (the stream emits "" until the character is complete), or the end of the answer.
 *
 * @param text     what the piece adds to the answer ("" never: incomplete tokens are grouped)
 * @param fromStep first recorded step (index into the recorded attention) of the piece
 * @param toStep   one past its last step
 * @param end      the end-of-sequence decision (no text of its own)
 */
public record TokenPiece(String text, int fromStep, int toStep, boolean end) {
    public TokenPiece {
        if (fromStep < 0 || toStep <= fromStep) {
            throw new IllegalArgumentException("a piece spans at least one step (got " + fromStep + ".." + toStep + ")");
        }
    }

    public int tokenCount() {
        return toStep - fromStep;
    }

    /** The text for a chip: whitespace shown, newlines as a return sign. */
    public String label() {
        if (end) {
            return "\u27e8end\u27e9";
        }
        String t = text.replace("\r\n", "\u21b5").replace('\n', '\u21b5').replace('\t', ' ');
        return t.isBlank() ? "\u2423" : t.strip();
    }
}
