package ai.convllava.model.api;

/**
 * What became of a question read while it was being typed ({@link VisionChatSession#readDraft}).
 *
 * @param outcome        READ: the conversation's KV cache now holds the draft; SKIPPED: not read (the
 *                       reason says why); SUPERSEDED: a newer draft or a request came first
 * @param draftTokens    positions of the draft prompt, visual tokens included (0 unless READ)
 * @param computedTokens of those, the positions computed now (the rest were already in the cache)
 * @param reason         why a draft was skipped or superseded, else null
 */
public record DraftResult(Outcome outcome, int draftTokens, int computedTokens, String reason) {
    public enum Outcome { READ, SKIPPED, SUPERSEDED }

    public static DraftResult read(int draftTokens, int computedTokens) {
        return new DraftResult(Outcome.READ, draftTokens, computedTokens, null);
    }

    public static DraftResult skipped(String reason) {
        return new DraftResult(Outcome.SKIPPED, 0, 0, reason);
    }

    public static DraftResult superseded(String reason) {
        return new DraftResult(Outcome.SUPERSEDED, 0, 0, reason);
    }
}
