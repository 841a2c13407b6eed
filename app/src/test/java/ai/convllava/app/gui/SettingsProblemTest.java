package ai.convllava.app.gui;

import ai.convllava.app.gui.settings.AppSettings;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** What the settings sheet says beside a number field as it is typed: the engine's own range check, naming the value. */
class SettingsProblemTest {
    private final AppSettings s = new AppSettings();

    @Test
    void aTypedNumberIsCheckedByTheEnginesRulesAndTheReasonNamesTheValue() {
        assertEquals("a number is needed (got \"abc\")", s.problem(s.temperatureProperty(), "abc"));
        assertEquals("a number is needed", s.problem(s.temperatureProperty(), " "));
        assertEquals("temperature must be in [0, 100] (got 150.0)", s.problem(s.temperatureProperty(), "150"));
        assertNull(s.problem(s.temperatureProperty(), "0.7"));
        assertEquals("top-p must be in (0, 1] (got 0.0)", s.problem(s.topPProperty(), "0"));
        assertEquals("top-k must be >= 0, 0 meaning off (got -3)", s.problem(s.topKProperty(), "-3"));
        assertEquals("a whole number is needed (got \"1.5\")", s.problem(s.maxNewTokensProperty(), "1.5"));
        assertEquals("max new tokens must be in [1, 32768] (got 0)", s.problem(s.maxNewTokensProperty(), "0"));
        assertEquals("repetition penalty must be in (0, 10] (got 11.0)", s.problem(s.repetitionPenaltyProperty(), "11"));
        assertNull(s.problem(s.seedProperty(), "-1"), "-1: a new seed each time");
        assertEquals("a whole number is needed (got \"x\")", s.problem(s.seedProperty(), "x"));
    }

    @Test
    void aNegativeHeatmapCapIsRefusedWithTheFieldAndTheValue() {
        assertEquals("heatmaps kept (MB) must be >= 0, 0 saving none (got -5)", s.problem(s.heatmapStoreMbProperty(), "-5"));
        assertNull(s.problem(s.heatmapStoreMbProperty(), "0"));
        assertNull(s.problem(s.heatmapStoreMbProperty(), "256"));
        assertEquals("a whole number is needed (got \"2.5\")", s.problem(s.heatmapStoreMbProperty(), "2.5"));
    }

    @Test
    void anotherSettingOutOfRangeDoesNotMakeThisOneWrong() {
        s.topPProperty().set(7); // a hand-edited settings file
        assertNull(s.problem(s.temperatureProperty(), "0.5"));
    }
}
