package ai.convllava.app.gui.store;

import java.util.Locale;

/**
 * The footer under an answer: a line in plain words ({@link #of}), and the numbers with their technical
 * names for the tooltip and the export ({@link #details}).
 */
public final class StatsText {
    private StatsText() {
    }

    /** "first words after 1.50 s · 16 tokens at 10.0 a second · 76% already read · stopped". */
    public static String of(SavedConversation.Stats s, String finish) {
        StringBuilder b = new StringBuilder();
        if (s.ttftMs() > 0) {
            b.append(String.format(Locale.ROOT, "first words after %.2f s", s.ttftMs() / 1000));
        }
        sep(b).append(s.generatedTokens()).append(s.generatedTokens() == 1 ? " token" : " tokens");
        if (s.tokensPerSecond() > 0) {
            b.append(String.format(Locale.ROOT, " at %.1f a second", s.tokensPerSecond()));
        }
        if (s.promptTokens() > 0 && s.readyPromptTokens() > 0) {
            sep(b).append(Math.round(100.0 * s.readyPromptTokens() / s.promptTokens())).append("% already read");
        }
        String f = finishText(finish);
        if (!f.isEmpty()) {
            sep(b).append(f);
        }
        return b.toString();
    }

    /** The numbers behind {@link #of}, one per line, with what they are called. */
    public static String details(SavedConversation.Stats s, String finish) {
        StringBuilder b = new StringBuilder();
        if (s.ttftMs() > 0) {
            b.append(String.format(Locale.ROOT, "Time to first token: %.2f s (encoding the image and reading the prompt)%n", s.ttftMs() / 1000));
        }
        if (s.tokensPerSecond() > 0) {
            b.append(String.format(Locale.ROOT, "Writing speed: %.1f tokens/s (a token is a word or a part of one)%n", s.tokensPerSecond()));
        }
        if (s.promptTokens() > 0) {
            b.append("Prompt: ").append(s.promptTokens()).append(" tokens (").append(s.imageTokens()).append(" visual)").append('\n');
            if (s.readyPromptTokens() > 0) {
                b.append("Read ahead: ").append(s.readyPromptTokens()).append(" of ").append(s.promptTokens())
                        .append(" prompt tokens were ready in the cache (the question read while it was typed, or the conversation so far)\n");
            }
        }
        b.append("Generated: ").append(s.generatedTokens()).append(" tokens");
        String f = finishText(finish);
        if (!f.isEmpty()) {
            b.append('\n').append("Finish: ").append(f);
        }
        return b.toString().replace("\r\n", "\n");
    }

    public static String finishText(String finish) {
        if (finish == null) {
            return "";
        }
        switch (finish) {
            case "LENGTH":
                return "stopped at max new tokens";
            case "CANCELLED":
                return "stopped";
            case "ERROR":
                return "failed";
            case "STREAMING":
                return "interrupted";
            default:
                return "";
        }
    }

    private static StringBuilder sep(StringBuilder b) {
        return b.length() > 0 ? b.append(" \u00b7 ") : b;
    }
}
