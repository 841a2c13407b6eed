package ai.convllava.app.cli;

import ai.convllava.app.selftest.SelfTest;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelfTestCommandTest {
    private static final Path TINY = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures")).resolve("tiny");

    @Test
    void tinyFixtureGivesTheReferenceAnswerAndVersions() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = ConvLlavaCli.run(new String[] {"self-test", "--model", TINY.resolve("tiny-convllava").toString()},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, out + "\n" + err);
        String s = out.toString();
        assertTrue(s.contains("answer:     " + SelfTest.TINY_ANSWER), s);
        assertTrue(s.contains("self-test OK (answer as expected)"), s);
        assertTrue(s.contains("djl:        0.36.0"), s);
        assertTrue(s.contains("pytorch:    2.7.1"), s);
        assertTrue(s.matches("(?s).*\\npdf pages:  PDFBox 3\\.0\\.8, a page of text rendered at 2048 x 1024 \\(\\d+ dark pixels\\).*"), s);
    }

    @Test
    void aWrongExpectationFailsWithExitCodeOne() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = ConvLlavaCli.run(new String[] {"self-test", "--model", TINY.resolve("tiny-convllava").toString(), "--expect", "something else"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(1, code);
        assertTrue(err.toString().contains("self-test FAILED: the answer differs"), err.toString());
    }

    @Test
    void aMissingModelFailsWithOneLine() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = ConvLlavaCli.run(new String[] {"self-test", "--model", "/nonexistent/model"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(1, code);
        assertTrue(err.toString().startsWith("self-test FAILED: "), err.toString());
    }

    @Test
    void helpMenuSelfTestFindsTheTinyModelInACheckout() {
        StringWriter out = new StringWriter();
        int code = SelfTest.run(SelfTest.Options.defaults(), new PrintWriter(out, true), new PrintWriter(out, true)); // Help > Self-test: no options
        assertEquals(0, code, out.toString());
        assertTrue(out.toString().contains("self-test OK (answer as expected)"), out.toString());
    }
}
