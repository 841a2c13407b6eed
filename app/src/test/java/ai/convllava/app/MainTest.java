package ai.convllava.app;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    @Test
    void subcommandsAndOptionsRunTheCommandLineAnythingElseTheApp() {
        assertTrue(Main.isGui(new String[0]));
        assertTrue(Main.isGui(new String[] {"photo.png"}));
        assertFalse(Main.isGui(new String[] {"ask", "--model", "m"}));
        assertFalse(Main.isGui(new String[] {"bench"}));
        assertFalse(Main.isGui(new String[] {"models"}));
        assertFalse(Main.isGui(new String[] {"--help"}));
        assertFalse(Main.isGui(new String[] {"-V"}));
    }

    @Test
    void everySubcommandRunsTheCommandLine() {
        // serve was once left out of CLI_WORDS: `java -jar convllava.jar serve` then took the GUI path
        for (String name : new picocli.CommandLine(new ai.convllava.app.cli.ConvLlavaCli()).getSubcommands().keySet()) {
            assertFalse(Main.isGui(new String[] {name}), name + " must run the command line");
        }
    }

    @Test
    void selfTestOptionIsTheSelfTestSubcommand() {
        assertArrayEquals(new String[] {"self-test", "--model", "m"}, Main.aliases(new String[] {"--self-test", "--model", "m"}));
        assertFalse(Main.isGui(Main.aliases(new String[] {"--self-test"})));
        assertArrayEquals(new String[] {"photo.png"}, Main.aliases(new String[] {"photo.png"}));
    }

    @Test
    void theJvmRunsWithTheFloat16KernelsUnrollingLimit() {
        // surefire's argLine carries -XX:LoopUnrollLimit=40 as the launchers do; Main re-executes a java -jar without it
        assertEquals(ai.convllava.model.api.JitOptions.LOOP_UNROLL_LIMIT, ai.convllava.model.api.JitOptions.loopUnrollLimit());
    }
}
