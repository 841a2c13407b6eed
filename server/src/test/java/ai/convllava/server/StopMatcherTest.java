package ai.convllava.server;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stop strings split across streamed pieces: nothing of a stop string is ever streamed, nothing else is held back at the end. */
class StopMatcherTest {
    @Test
    void aStopSplitAcrossPiecesIsNeverStreamed() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("ab", m.add("abE")); // "E" could start END: held back
        assertEquals("", m.add("N"));
        assertEquals("", m.add("Dxyz"));
        assertTrue(m.stopped());
        assertEquals("ab", m.answer());
        assertEquals("", m.add("more"));
    }

    @Test
    void aFalseStartIsReleasedWithTheNextPiece() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("a", m.add("aEN"));
        assertEquals("ENd", m.add("d"));
        assertFalse(m.stopped());
        assertEquals("", m.add("E"));
        assertEquals("E", m.flush()); // the end came without a stop: what was held back belongs to the answer
        assertEquals("aENdE", m.answer());
    }

    @Test
    void theEarliestOfSeveralStopsWins() {
        StopMatcher m = new StopMatcher(List.of("\n\n", "USER:"));
        assertEquals("Hi", m.add("Hi USER: x\n\ny").substring(0, 2));
        assertEquals("Hi ", m.answer());
    }

    @Test
    void withoutStopsEverythingPassesAtOnce() {
        StopMatcher m = new StopMatcher(List.of());
        assertEquals("abc", m.add("abc"));
        assertEquals("", m.flush());
    }
}
