package ai.convllava.model.api.heatmap;

/** What the top of the colour scale means. */
public enum Scale {
    /** Each map is divided by its own maximum: where this token looked, whatever how much. */
    PER_TOKEN,
    /** Every map is divided by the maximum over the whole answer: tokens can be compared with each other. */
    ANSWER
}
