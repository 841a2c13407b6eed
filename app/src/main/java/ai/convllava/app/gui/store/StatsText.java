package ai.convllava.app.gui.store;

import java.util.Locale;

/** The footer line under an answer. */
public final class StatsText {
    private StatsText() {
    }

    public static String of(SavedConversation.Stats s, String finish) {
        StringBuilder b = new StringBuilder();
        if (s.ttftMs() > 0) {
            b.append(String.format(Locale.ROOT, "first token %.2f s", s.ttftMs() / 1000));
        }
        if (s.tokensPerSecond() > 0) {
            sep(b).append(String.format(Locale.ROOT, "%.1f tokens/s", s.tokensPerSecond()));
        }
        if (s.promptTokens() > 0) {
            sep(b).append(s.promptTokens()).append(" prompt tokens (").append(s.imageTokens()).append(" visual)");
            if (s.readyPromptTokens() > 0) {
                sep(b).append(s.readyPromptTokens()).append(" of ").append(s.promptTokens()).append(" prompt tokens were ready");
            }
        }
        sep(b).append(s.generatedTokens()).append(" generated");
        String f = finishText(finish);
        if (!f.isEmpty()) {
            sep(b).append(f);
        }
        return b.toString();
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
