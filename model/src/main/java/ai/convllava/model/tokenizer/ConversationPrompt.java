package ai.convllava.model.tokenizer;

import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.Turn;
import ai.convllava.model.spi.TextTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A ConvLLaVA prompt in conv-llava's {@code conv_vicuna_v1} template ({@code SeparatorStyle.TWO},
 * roles "USER"/"ASSISTANT", sep " ", sep2 "&lt;/s&gt;"), the template ConvLLaVA was trained with:
 *
 * <pre>{@code
 * system + " " + "USER: " + "<image>\n" + q1 + " " + "ASSISTANT: " + a1 + "</s>"
 *              + "USER: " + q2 + " " + "ASSISTANT:"
 * }</pre>
 *
 * <p>{@link #inputIds} reproduces conv-llava's {@code tokenizer_image_token} with the slow LlamaTokenizer
 * of transformers 4.33: BOS only at the very start, {@code <image>} becomes {@link #IMAGE_TOKEN_INDEX},
 * {@code </s>} becomes the EOS id, and every text segment between them is encoded on its own
 * (with its own SentencePiece dummy prefix).
 *
 * <p>One deliberate difference: the markers are placed from the structure, not found by splitting the
 * text, so a user who types "&lt;image&gt;" or "&lt;/s&gt;" gets that text encoded like any other text
 * ({@link TextTokenizer#encode} semantics) instead of a second image slot or an end-of-turn. For
 * messages without those strings the ids are identical to the reference.
 *
 * <p>Immutable; {@code with...} methods return new prompts.
 */
public final class ConversationPrompt {

    /** conv_vicuna_v1's system prompt. */
    public static final String VICUNA_V1_SYSTEM = ChatRequest.VICUNA_V1_SYSTEM;
    /** Where the image features go in the ids (LLaVA's {@code IMAGE_TOKEN_INDEX}). */
    public static final int IMAGE_TOKEN_INDEX = -200;
    /** LLaVA's {@code DEFAULT_IMAGE_TOKEN}, as it appears in {@link #text()}. */
    public static final String IMAGE_PLACEHOLDER = "<image>";

    static final String USER = "USER";
    static final String ASSISTANT = "ASSISTANT";
    static final String SEP = " ";
    static final String SEP2 = "</s>";

    private final String system;
    private final List<Turn> turns;
    private final boolean image;

    private ConversationPrompt(String system, List<Turn> turns, boolean image) {
        this.system = Objects.requireNonNull(system, "system");
        if (turns.isEmpty()) {
            throw new IllegalArgumentException("a prompt needs at least one turn");
        }
        for (int i = 0; i < turns.size() - 1; i++) {
            if (turns.get(i).assistant() == null) {
                throw new IllegalArgumentException("only the last turn may await an answer (turn " + i + " of " + turns.size() + " has none)");
            }
        }
        this.turns = List.copyOf(turns);
        this.image = image;
    }

    /** A conversation about an image: the image is attached to the first user message. */
    public static ConversationPrompt withImage(List<Turn> turns) {
        return new ConversationPrompt(VICUNA_V1_SYSTEM, turns, true);
    }

    /** A conversation without an image. */
    public static ConversationPrompt textOnly(List<Turn> turns) {
        return new ConversationPrompt(VICUNA_V1_SYSTEM, turns, false);
    }

    /** The prompt of a request: its turns, with the image placeholder in the first when there is an image, and its system prompt. */
    public static ConversationPrompt of(ChatRequest request, boolean withImage) {
        ConversationPrompt p = withImage ? withImage(request.turns()) : textOnly(request.turns());
        return request.systemPrompt() == null ? p : p.withSystem(request.systemPrompt());
    }

    /** The usual first prompt: one question about an image. */
    public static ConversationPrompt imageQuestion(String question) {
        return withImage(List.of(Turn.pending(question)));
    }

    public ConversationPrompt withSystem(String newSystem) {
        return new ConversationPrompt(newSystem, turns, image);
    }

    /** This conversation with {@code turn} appended (the current last turn must have its answer). */
    public ConversationPrompt withTurn(Turn turn) {
        List<Turn> more = new ArrayList<>(turns);
        more.add(turn);
        return new ConversationPrompt(system, more, image);
    }

    /**
     * This conversation with the pending last turn answered (the text the model generated), ready for
     * {@link #withTurn} with the next question.
     *
     * @throws IllegalStateException if the last turn already has its answer
     */
    public ConversationPrompt withAnswer(String answer) {
        Objects.requireNonNull(answer, "answer");
        Turn last = turns.get(turns.size() - 1);
        if (last.assistant() != null) {
            throw new IllegalStateException("the last turn already has an answer");
        }
        List<Turn> answered = new ArrayList<>(turns);
        answered.set(answered.size() - 1, new Turn(last.user(), answer));
        return new ConversationPrompt(system, answered, image);
    }

    public String system() {
        return system;
    }

    public List<Turn> turns() {
        return turns;
    }

    public boolean hasImage() {
        return image;
    }

    /** The prompt text, as conv-llava's {@code conv.get_prompt()} builds it. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (Object part : parts()) {
            if (part instanceof String s) {
                sb.append(s);
            } else if (part == Marker.IMAGE) {
                sb.append(IMAGE_PLACEHOLDER);
            } else {
                sb.append(SEP2);
            }
        }
        return sb.toString();
    }

    /** The model input: BOS, encoded text segments, {@link #IMAGE_TOKEN_INDEX} for the image, EOS between turns. */
    public int[] inputIds(TextTokenizer tokenizer) {
        return ids(tokenizer, false);
    }

    /**
     * The ids up to and including {@link #IMAGE_TOKEN_INDEX}: BOS + "system USER: " + image. They do not
     * depend on the question, so the prefill of this part (and its KV cache) can be reused.
     *
     * @throws IllegalStateException for a text-only prompt
     */
    public int[] imagePrefixIds(TextTokenizer tokenizer) {
        if (!image) {
            throw new IllegalStateException("a text-only prompt has no image prefix");
        }
        return ids(tokenizer, true);
    }

    /**
     * The ids of a question still being typed: {@link #inputIds} without the {@code " ASSISTANT:"} that
     * closes the pending last turn, so everything up to the end of the typed text can be read into the
     * KV cache before the question is sent.
     *
     * <p>The last text segment is encoded on its own, so its final tokens need not be a prefix of
     * {@link #inputIds}: a draft ending in a space ends with {@code ▁} where the sent prompt has
     * {@code ▁▁} (that space and the one before "ASSISTANT:" merged), and a word still being typed may
     * be cut differently once it is finished. Reuse goes by the longest common prefix of ids, so such a
     * boundary only costs the tokens after it.
     *
     * @throws IllegalStateException if the last turn already has its answer
     */
    public int[] draftIds(TextTokenizer tokenizer) {
        if (turns.get(turns.size() - 1).assistant() != null) {
            throw new IllegalStateException("the last turn already has an answer: there is no question being typed");
        }
        return ids(tokenizer, parts(true), false);
    }

    private int[] ids(TextTokenizer tokenizer, boolean stopAtImage) {
        return ids(tokenizer, parts(false), stopAtImage);
    }

    private int[] ids(TextTokenizer tokenizer, List<Object> parts, boolean stopAtImage) {
        List<Integer> ids = new ArrayList<>();
        ids.add(tokenizer.bosId());
        for (Object part : parts) {
            if (part instanceof String s) {
                for (int id : tokenizer.encode(s)) {
                    ids.add(id);
                }
            } else if (part == Marker.IMAGE) {
                ids.add(IMAGE_TOKEN_INDEX);
                if (stopAtImage) {
                    break;
                }
            } else {
                ids.add(tokenizer.eosId());
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private enum Marker { IMAGE, EOS }

    private List<Object> parts() {
        return parts(false);
    }

    /** Text segments (non-empty Strings) and markers, in order; a draft stops at the end of the pending question's text. */
    private List<Object> parts(boolean draft) {
        List<Object> parts = new ArrayList<>();
        StringBuilder sb = new StringBuilder(system).append(SEP);
        for (int i = 0; i < turns.size(); i++) {
            Turn t = turns.get(i);
            sb.append(USER).append(": ");
            if (i == 0 && image) {
                flush(sb, parts);
                parts.add(Marker.IMAGE);
                sb.append('\n');
            }
            sb.append(t.user()).append(SEP);
            if (t.assistant() != null) {
                sb.append(ASSISTANT).append(": ").append(t.assistant());
                flush(sb, parts);
                parts.add(Marker.EOS);
            } else if (draft) {
                sb.setLength(sb.length() - SEP.length());
            } else {
                sb.append(ASSISTANT).append(':');
            }
        }
        flush(sb, parts);
        return parts;
    }

    private static void flush(StringBuilder sb, List<Object> parts) {
        if (sb.length() > 0) {
            parts.add(sb.toString());
            sb.setLength(0);
        }
    }

    @Override
    public String toString() {
        return "ConversationPrompt[" + turns.size() + " turn(s), image=" + image + "]";
    }
}
