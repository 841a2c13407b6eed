package ai.convllava.app.gui.models;

import ai.convllava.model.bench.MachineSpeed;
import ai.convllava.model.download.HubSettings;
import ai.convllava.model.download.ModelManager;
import ai.convllava.model.download.ModelStatus;
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
        var p = new ai.convllava.model.download.DownloadProgress(ai.convllava.model.download.DownloadProgress.Phase.DOWNLOADING,
                2_500_000_000L, 16_300_000_000L, 25e6, Duration.ofSeconds(632), 3, 9, List.of());
        assertEquals("Downloading \u00b7 2.5 GB of 16.3 GB \u00b7 25.0 MB/s \u00b7 10 min 32 s left", ModelManagerViewModel.describe(p));
    }

    @Test
    void thisComputerIsMeasuredOnceAndEachSizeGetsItsEstimate(@TempDir Path cache) {
        HubSettings hs = HubSettings.of(URI.create("http://127.0.0.1:9"), cache);
        List<Runnable> background = new ArrayList<>();
        int[] measured = {0};
        ModelManagerViewModel vm = new ModelManagerViewModel(new ModelManager(hs), background::add, NOW, () -> {
            measured[0]++;
            return new MachineSpeed(17.7, 107);
        });
        ModelManagerViewModel.Row big = vm.rows().get(2);
        assertTrue(big.speedProperty().get().startsWith("2-core test machine"), "before anything: " + big.speedProperty().get());
        vm.refresh();
        assertTrue(big.speedProperty().get().startsWith("Measuring this computer"), big.speedProperty().get());
        vm.refresh(); // opened again while measuring: not measured twice
        new ArrayList<>(background).forEach(Runnable::run);
        assertEquals(1, measured[0]);
        assertEquals("This computer (18 GB/s memory reads, 107 GFLOP/s, measured now), float16 on the CPU: first answer ~2.2 min, "
                + "then ~0.8 tokens/s (estimate). " + big.variant().speedNote() + ".", big.speedProperty().get());
        String small = vm.rows().get(0).speedProperty().get();
        assertTrue(small.contains("first answer ~") && small.contains("then ~0.8 tokens/s"), small);
        assertFalse(small.equals(big.speedProperty().get()), "the first answer depends on the size");
    }

    @Test
    void whenTheMeasurementFailsTheTestMachinesFiguresStay(@TempDir Path cache) {
        HubSettings hs = HubSettings.of(URI.create("http://127.0.0.1:9"), cache);
        ModelManagerViewModel vm = new ModelManagerViewModel(new ModelManager(hs), NOW, NOW, () -> {
            throw new IllegalStateException("no engine");
        });
        vm.refresh();
        for (ModelManagerViewModel.Row r : vm.rows()) {
            assertEquals(r.variant().speedNote(), r.speedProperty().get());
        }
    }

    @Test
    void thisComputerIsMeasuredOnlyWhileTheEngineIsIdle(@TempDir Path cache) {
        HubSettings hs = HubSettings.of(URI.create("http://127.0.0.1:9"), cache);
        List<Runnable> background = new ArrayList<>();
        int[] measured = {0};
        SimpleBooleanProperty busy = new SimpleBooleanProperty(true);
        ModelManagerViewModel vm = new ModelManagerViewModel(new ModelManager(hs), background::add, NOW, () -> {
            measured[0]++;
            return new MachineSpeed(17.7, 107);
        }, busy);
        ModelManagerViewModel.Row big = vm.rows().get(2);
        vm.refresh(); // opened while an answer is written: nothing runs beside it
        assertTrue(big.speedProperty().get().startsWith("This computer is measured once the model is idle"), big.speedProperty().get());
        background.forEach(Runnable::run); // the installed-state reads only
        assertEquals(0, measured[0]);
        background.clear();

        busy.set(false); // the answer is done
        assertTrue(big.speedProperty().get().startsWith("Measuring this computer"), big.speedProperty().get());
        busy.set(true); // a new question while the probe runs: its figures would be too low
        new ArrayList<>(background).forEach(Runnable::run);
        background.clear();
        assertEquals(1, measured[0]);
        assertTrue(big.speedProperty().get().startsWith("This computer is measured once the model is idle"),
                "a disturbed measurement is not shown: " + big.speedProperty().get());

        busy.set(false);
        new ArrayList<>(background).forEach(Runnable::run);
        background.clear();
        assertEquals(2, measured[0]);
        assertTrue(big.speedProperty().get().startsWith("This computer (18 GB/s memory reads, 107 GFLOP/s, measured now)"),
                big.speedProperty().get());

        busy.set(true); // measured once: later answers change nothing
        busy.set(false);
        vm.refresh();
        new ArrayList<>(background).forEach(Runnable::run);
        assertEquals(2, measured[0]);
    }

    @Test
    void aClosedManagerNoLongerFollowsTheEngine(@TempDir Path cache) {
        HubSettings hs = HubSettings.of(URI.create("http://127.0.0.1:9"), cache);
        List<Runnable> background = new ArrayList<>();
        int[] measured = {0};
        SimpleBooleanProperty busy = new SimpleBooleanProperty(true);
        ModelManagerViewModel vm = new ModelManagerViewModel(new ModelManager(hs), background::add, NOW, () -> {
            measured[0]++;
            return new MachineSpeed(17.7, 107);
        }, busy);
        vm.refresh();
        vm.dispose();
        busy.set(false);
        new ArrayList<>(background).forEach(Runnable::run);
        assertEquals(0, measured[0]);
    }
}
