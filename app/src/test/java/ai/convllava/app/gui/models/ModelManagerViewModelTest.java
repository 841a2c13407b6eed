package ai.convllava.app.gui.models;

import ai.convllava.model.download.HubSettings;
import ai.convllava.model.download.ModelManager;
import ai.convllava.model.download.ModelStatus;
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
}
