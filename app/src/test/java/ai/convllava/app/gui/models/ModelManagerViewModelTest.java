package ai.convllava.app.gui.models;

import ai.convllava.model.api.MachineSpeed;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.hub.HubSettings;
import ai.convllava.hub.ModelManager;
import ai.convllava.hub.ModelStatus;
import javafx.beans.property.SimpleBooleanProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model manager's view-model over a real (temporary) Hugging Face cache; no network. */
class ModelManagerViewModelTest {
    static final Path TINY = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"), "tiny");
    static final Executor NOW = Runnable::run;

    static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    /** A snapshot laid out as huggingface_hub leaves it (refs/main naming the snapshot). */
    static Path install(Path cache, String repo, Path content) throws IOException {
        String rev = "0123456789abcdef0123456789abcdef01234567";
        Path dir = cache.resolve("models--" + repo.replace("/", "--"));
        copy(content, dir.resolve("snapshots").resolve(rev));
        Files.createDirectories(dir.resolve("refs"));
        Files.writeString(dir.resolve("refs/main"), rev);
        return dir.resolve("snapshots").resolve(rev);
    }

    ModelManagerViewModel vm(Path cache, URI endpoint) {
        HubSettings s = HubSettings.of(endpoint, cache).withRetries(0, Duration.ofMillis(1), Duration.ofMillis(1))
                .withTimeouts(Duration.ofMillis(500), Duration.ofMillis(500));
        return new ModelManagerViewModel(new ModelManager(s), NOW, NOW);
    }

    @Test
    void listsTheThreeSizesWithTheirCostsAndStates(@TempDir Path cache) throws IOException {
        Path model = install(cache, "ConvLLaVA/ConvLLaVA-sft-768", TINY.resolve("tiny-convllava"));
        Path tower = install(cache, "ConvLLaVA/ConvLLaVA-ConvNeXt-768", TINY.resolve("tiny-convllava-convnext"));
        ModelManagerViewModel vm = vm(cache, URI.create("http://127.0.0.1:9"));
        vm.refresh();
        List<ModelManagerViewModel.Row> rows = vm.rows();
        assertEquals(List.of("768", "1024", "1536"), rows.stream().map(r -> r.variant().id()).toList());
        assertTrue(rows.get(2).title().contains("576 visual tokens") && rows.get(2).title().contains("GB download"), rows.get(2).title());
        assertEquals(ModelStatus.State.INSTALLED, rows.get(0).stateProperty().get());
        assertTrue(rows.get(0).statusProperty().get().startsWith("Installed"), rows.get(0).statusProperty().get());
        assertEquals(ModelStatus.State.NOT_INSTALLED, rows.get(2).stateProperty().get());

        List<Path> used = new ArrayList<>();
        vm.setOnUse((m, t) -> {
            used.add(m);
            used.add(t);
        });
        vm.use(rows.get(0));
        assertEquals(List.of(model, tower), used);
        vm.use(rows.get(2));
        assertEquals(2, used.size(), "a size that is not installed cannot be used");
        assertTrue(rows.get(2).errorProperty().get().contains("not completely downloaded"));
    }

    @Test
    void aFailedDownloadShowsItsReasonAndFreesTheRow(@TempDir Path cache) throws Exception {
        ModelManagerViewModel vm = vm(cache, URI.create("http://127.0.0.1:9")); // nothing listens on the discard port
        ModelManagerViewModel.Row r = vm.rows().get(0);
        vm.download(r);
        long until = System.nanoTime() + 20_000_000_000L;
        while (r.busyProperty().get() && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        assertFalse(r.busyProperty().get(), "the download ended");
        assertNotNull(r.errorProperty().get());
        assertFalse(r.errorProperty().get().isBlank());
        assertEquals(ModelStatus.State.NOT_INSTALLED, r.stateProperty().get());
    }

    @Test
    void progressTextShowsBytesSpeedAndTimeLeft() {
        var p = new ai.convllava.hub.DownloadProgress(ai.convllava.hub.DownloadProgress.Phase.DOWNLOADING,
                2_500_000_000L, 16_300_000_000L, 25e6, Duration.ofSeconds(632), 3, 9, List.of());
        assertEquals("Downloading \u00b7 2.5 GB of 16.3 GB \u00b7 25.0 MB/s \u00b7 10 min 32 s left", ModelManagerViewModel.describe(p));
    }

    /**
     * A manager over an empty cache whose probe counts its calls and reports 17.7 GB/s and 107 GFLOP/s;
     * its background work waits in a queue until the test runs it.
     */
    static final class Probed {
        final List<Runnable> background = new ArrayList<>();
        final SimpleBooleanProperty engineBusy;
        final ModelManagerViewModel vm;
        int measured;

        Probed(Path cache, boolean busy) {
            engineBusy = new SimpleBooleanProperty(busy);
            vm = new ModelManagerViewModel(new ModelManager(HubSettings.of(URI.create("http://127.0.0.1:9"), cache)), background::add, NOW,
                    () -> {
                        measured++;
                        return new MachineSpeed(17.7, 107);
                    }, engineBusy);
        }

        /** Runs what is queued now (what that queues waits for the next call). */
        void runBackground() {
            List<Runnable> now = new ArrayList<>(background);
            background.clear();
            now.forEach(Runnable::run);
        }

        String bigRow() {
            return vm.rows().get(2).speedProperty().get();
        }
    }

    @Test
    void thisComputerIsMeasuredOnceAndEachSizeGetsItsEstimate(@TempDir Path cache) {
        Probed p = new Probed(cache, false);
        ModelManagerViewModel vm = p.vm;
        ModelManagerViewModel.Row big = vm.rows().get(2);
        assertEquals(ModelManagerViewModel.NOT_MEASURED, p.bigRow(), "before anything");
        vm.refresh();
        assertEquals("Measuring this computer\u2026", p.bigRow());
        vm.refresh(); // opened again while measuring: not measured twice
        p.runBackground();
        assertEquals(1, p.measured);
        assertEquals("This computer (18 GB/s memory reads, 107 GFLOP/s, measured now), float16 on the CPU: first answer ~2.2 min, "
                + "then ~0.8 tokens/s (estimate).", p.bigRow(), "this computer's figures only, not the project's test machine's");
        String small = vm.rows().get(0).speedProperty().get();
        assertTrue(small.contains("first answer ~") && small.contains("then ~0.8 tokens/s"), small);
        assertFalse(small.equals(p.bigRow()), "the first answer depends on the size");
    }

    @Test
    void whenTheMeasurementFailsTheRowsSaySoAndWhy(@TempDir Path cache) {
        HubSettings hs = HubSettings.of(URI.create("http://127.0.0.1:9"), cache);
        ModelManagerViewModel vm = new ModelManagerViewModel(new ModelManager(hs), NOW, NOW, () -> {
            throw new IllegalStateException("no engine");
        });
        vm.refresh();
        for (ModelManagerViewModel.Row r : vm.rows()) {
            assertEquals("This computer's speed could not be measured: no engine", r.speedProperty().get());
        }
    }

    @Test
    void thisComputerIsMeasuredOnlyWhileTheEngineIsIdle(@TempDir Path cache) {
        Probed p = new Probed(cache, true);
        p.vm.refresh(); // opened while an answer is written: nothing runs beside it
        assertEquals("This computer is measured once the model is idle", p.bigRow(), "no test machine's figures meanwhile");
        p.runBackground(); // the installed-state reads only
        assertEquals(0, p.measured);

        p.engineBusy.set(false); // the answer is done
        assertTrue(p.bigRow().startsWith("Measuring this computer"), p.bigRow());
        p.engineBusy.set(true); // a new question while the probe runs: its figures would be too low
        p.runBackground();
        assertEquals(1, p.measured);
        assertTrue(p.bigRow().startsWith("This computer is measured once the model is idle"), "a disturbed measurement is not shown: " + p.bigRow());

        p.engineBusy.set(false);
        p.runBackground();
        assertEquals(2, p.measured);
        assertTrue(p.bigRow().startsWith("This computer (18 GB/s memory reads, 107 GFLOP/s, measured now)"), p.bigRow());

        p.engineBusy.set(true); // measured once: later answers change nothing
        p.engineBusy.set(false);
        p.vm.refresh();
        p.runBackground();
        assertEquals(2, p.measured);
    }

    @Test
    void aClosedManagerNoLongerFollowsTheEngine(@TempDir Path cache) {
        Probed p = new Probed(cache, true);
        p.vm.refresh();
        p.vm.dispose();
        p.engineBusy.set(false);
        p.runBackground();
        assertEquals(0, p.measured);
    }

    private static void waitUntilIdle(ModelManagerViewModel.Row r) throws InterruptedException {
        long end = System.nanoTime() + 60_000_000_000L;
        while (r.busyProperty().get() && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertFalse(r.busyProperty().get(), "the task ended");
    }

    @Test
    void eachSizeSaysWhatItNeedsPerFormatAndMakesItsEightBitWeights(@TempDir Path cache) throws Exception {
        Path model = install(cache, "ConvLLaVA/ConvLLaVA-sft-768", TINY.resolve("tiny-convllava"));
        install(cache, "ConvLLaVA/ConvLLaVA-ConvNeXt-768", TINY.resolve("tiny-convllava-convnext"));
        ModelManagerViewModel vm = vm(cache, URI.create("http://127.0.0.1:9"));
        vm.refresh();
        ModelManagerViewModel.Row tiny = vm.rows().get(0);
        String memory = vm.rows().get(2).memoryProperty().get();
        assertTrue(memory.contains("f16") && memory.contains("8-bit") && memory.contains("4-bit"), memory);
        assertEquals("8-bit weights: not made \u00b7 4-bit weights: not made", tiny.weightsProperty().get());

        vm.makeWeights(tiny, WeightFormat.Q8_0);
        waitUntilIdle(tiny);
        assertEquals(null, tiny.errorProperty().get());
        assertTrue(tiny.statusProperty().get().startsWith("8-bit weights made"), tiny.statusProperty().get());
        assertTrue(Files.exists(model.resolve("convllava-q8_0.gguf")), "the file is beside the checkpoint");
        assertTrue(tiny.weightsProperty().get().startsWith("8-bit weights: made ("), tiny.weightsProperty().get());

        // the tiny model's rows (32 wide) are no whole 4-bit blocks: refused, naming why, no file
        vm.makeWeights(tiny, WeightFormat.Q4_K);
        waitUntilIdle(tiny);
        assertNotNull(tiny.errorProperty().get());
        assertTrue(tiny.errorProperty().get().contains("256"), tiny.errorProperty().get());
        assertFalse(Files.exists(model.resolve("convllava-q4_k.gguf")));
    }
}
