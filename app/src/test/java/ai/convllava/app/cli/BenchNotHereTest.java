package ai.convllava.app.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BenchNotHereTest {
    @Test
    void theAppSaysWhereTheBenchmarkIsInsteadOfOpeningAnImageCalledBench() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = ConvLlavaCli.run(new String[] {"bench", "--model-size", "768"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(1, code);
        assertEquals(BenchNotHere.MESSAGE + System.lineSeparator(), err.toString());
        assertEquals("", out.toString());
    }
}
