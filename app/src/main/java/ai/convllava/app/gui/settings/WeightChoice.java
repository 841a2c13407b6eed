package ai.convllava.app.gui.settings;

import ai.convllava.model.api.WeightFormat;

/** The "Weights" setting: how the language model's weights are held in memory (Auto lets the engine pick what fits). */
public enum WeightChoice {
    AUTO("Auto", null),
    F16("16-bit (f16)", WeightFormat.F16),
    Q8_0("8-bit (q8_0)", WeightFormat.Q8_0),
    Q4_K("4-bit (q4_k)", WeightFormat.Q4_K);

    private final String label;
    private final WeightFormat format;

    WeightChoice(String label, WeightFormat format) {
        this.label = label;
        this.format = format;
    }

    /** The engine's format, or null for Auto. */
    public WeightFormat format() {
        return format;
    }

    /** The choice for an engine format (Auto for null or a format the setting does not offer). */
    public static WeightChoice of(WeightFormat f) {
        for (WeightChoice c : values()) {
            if (c.format == f) {
                return c;
            }
        }
        return AUTO;
    }

    @Override
    public String toString() {
        return label;
    }
}
