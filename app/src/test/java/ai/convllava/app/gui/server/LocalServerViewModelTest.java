package ai.convllava.app.gui.server;

import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.NotEnoughMemoryException;
import ai.convllava.model.api.WeightFormat;
import javafx.beans.property.SimpleObjectProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings > Local server: started with the app's model, restarted on a new port or model, stopped when turned off, refusals shown. */
class LocalServerViewModelTest {
    final AppSettings settings = new AppSettings();
    final SimpleObjectProperty<ModelInfo> model = new SimpleObjectProperty<>();
    final List<String> events = new CopyOnWriteArrayList<>();
    volatile RuntimeException failure;
    LocalServerViewModel vm;

    final LocalServerViewModel.Starter fake = (load, port) -> {
        if (failure != null) {
            throw failure;
        }
        events.add("start " + load.modelDir() + " " + load.weightFormat() + " :" + port);
        return new LocalServerViewModel.Running() {
            @Override
            public String url() {
                return "http://127.0.0.1:" + port + "/v1";
            }

            @Override
            public long requests() {
                return 0;
            }

            @Override
            public void close() {
                events.add("stop :" + port);
            }
        };
    };

    @AfterEach
    void close() {
        if (vm != null) {
            vm.close();
        }
    }

    static void until(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 60 s for: " + what);
            }
            Thread.onSpinWait();
        }
    }

    static ModelInfo info(String dir, WeightFormat f) {
        return new ModelInfo(Path.of(dir), dir, 256, 64, "tower", "CPU", f, 2, 1024, 1);
    }

    @Test
    void followsTheSettingThePortAndTheAppsModel() {
        vm = new LocalServerViewModel(settings, model, Runnable::run, fake);
        vm.apply();
        until("off", () -> vm.statusProperty().get().equals("off"));
        settings.localServerProperty().set(true);
        assertEquals("on: waits for a model to be loaded in the app", vm.statusProperty().get());
        model.set(info("/m/sft-1536", WeightFormat.Q4_K));
        until("listening", () -> vm.statusProperty().get().startsWith("listening"));
        assertEquals("listening on http://127.0.0.1:8080/v1", vm.statusProperty().get());
        assertEquals(List.of("start /m/sft-1536 Q4_K :8080"), events, "the app's model, in the weights it was loaded with");
        settings.localServerPortProperty().set(9090);
        until("restarted", () -> vm.statusProperty().get().contains(":9090"));
        model.set(info("/m/sft-768", WeightFormat.F16));
        until("the new model", () -> events.size() == 5);
        settings.localServerProperty().set(false);
        until("stopped", () -> vm.statusProperty().get().equals("off"));
        assertEquals(List.of("start /m/sft-1536 Q4_K :8080", "stop :8080", "start /m/sft-1536 Q4_K :9090", "stop :9090",
                "start /m/sft-768 F16 :9090", "stop :9090"), events);
    }

    @Test
    void aSecondCopyThatDoesNotFitIsRefusedWithItsNumbers() {
        failure = new NotEnoughMemoryException("this model needs about 9.1 GB of RAM; 4.2 GB is available");
        vm = new LocalServerViewModel(settings, model, Runnable::run, fake);
        model.set(info("/m/sft-1536", WeightFormat.Q4_K));
        settings.localServerProperty().set(true);
        until("refused", () -> vm.statusProperty().get().startsWith("not running"));
        assertTrue(vm.statusProperty().get().contains("9.1 GB of RAM; 4.2 GB is available"), vm.statusProperty().get());
    }

    @Test
    void theRealServerAnswersOnItsPortWithTheTinyModel() throws Exception {
        Path tiny = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"), "tiny", "tiny-convllava");
        vm = new LocalServerViewModel(settings, model, Runnable::run, LocalServerViewModel.REAL);
        settings.localServerPortProperty().set(0); // any free port: the status says which
        model.set(new ModelInfo(tiny, "tiny-convllava", 256, 64, "tower", "CPU", WeightFormat.F32, 2, 1024, 1));
        settings.localServerProperty().set(true);
        until("listening", () -> vm.statusProperty().get().startsWith("listening"));
        String base = vm.statusProperty().get().replaceFirst("listening on (\\S+).*", "$1");
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/models")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().contains("tiny-convllava"), r.body());
        settings.localServerProperty().set(false);
        until("off", () -> vm.statusProperty().get().equals("off"));
    }
}
