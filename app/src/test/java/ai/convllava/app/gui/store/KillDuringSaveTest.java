package ai.convllava.app.gui.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conversation store survives kill -9 in the middle of writes: a child JVM saves a growing
 * conversation as fast as it can and is killed at a random moment; the parent then reloads it. Every
 * time, the file parses and holds at least what the child had confirmed as saved.
 */
class KillDuringSaveTest {

    /** The child: saves conversation "c" with 1, 2, 3, ... messages, printing each count once saved. */
    public static void main(String[] args) throws Exception {
        ConversationStore store = new ConversationStore(Path.of(args[0]), Path.of(args[0]).resolve("images"));
        List<SavedConversation.Message> messages = new ArrayList<>();
        String text = "x".repeat(20_000);
        for (int n = 1; ; n++) {
            messages.add(new SavedConversation.Message(n % 2 == 1 ? "user" : "assistant", n + ":" + text, "STREAMING", null));
            store.save(new SavedConversation("c", "kill test", 1, n, null, null, "PAD", null, messages));
            System.out.println(n);
            System.out.flush();
        }
    }

    @Test
    void everyKillLeavesAReadableConversationWithEverythingConfirmed(@TempDir Path dir) throws Exception {
        Random random = new Random(20261127);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int kills = 12;
        for (int i = 0; i < kills; i++) {
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), KillDuringSaveTest.class.getName(),
                    dir.toString()).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int target = 3 + random.nextInt(40);
            int confirmed = 0;
            String line;
            while ((line = out.readLine()) != null) {
                if (line.matches("\\d+")) {
                    confirmed = Integer.parseInt(line);
                    if (confirmed >= target) {
                        break;
                    }
                }
            }
            Thread.sleep(random.nextInt(15)); // land somewhere inside a later write
            p.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no flush
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            assertTrue(confirmed >= target, "the child saved " + confirmed + " times before it was killed");
            ConversationStore store = new ConversationStore(dir, dir.resolve("images"));
            Optional<SavedConversation> c = store.load("c");
            assertTrue(c.isPresent(), "kill " + i + ": the conversation is readable");
            int n = c.get().messages().size();
            assertTrue(n >= confirmed, "kill " + i + ": " + n + " messages on disk but " + confirmed + " were confirmed saved");
            for (int m = 0; m < n; m++) {
                assertTrue(c.get().messages().get(m).text().startsWith((m + 1) + ":"), "message " + m + " intact");
            }
            assertEquals(1, store.list().size(), "temporary files are never listed as conversations");
        }
    }
}
