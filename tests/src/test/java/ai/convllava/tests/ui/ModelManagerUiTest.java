package ai.convllava.tests.ui;

import ai.convllava.app.gui.models.ModelManagerView;
import ai.convllava.app.gui.models.ModelManagerViewModel;
import ai.convllava.hub.HubSettings;
import ai.convllava.hub.ModelManager;
import javafx.application.Platform;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The "Download models" window over a Hugging Face cache holding one installed size. */
@ExtendWith(UiFixture.class)
class ModelManagerUiTest {
    static final Path TINY = Path.of(System.getProperty("convllava.fixtures"), "tiny");

    static void install(Path cache, String repo, Path content) throws IOException {
        String rev = "0123456789abcdef0123456789abcdef01234567";
        Path snap = cache.resolve("models--" + repo.replace("/", "--")).resolve("snapshots").resolve(rev);
        Files.createDirectories(snap);
        try (Stream<Path> s = Files.list(content)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Files.copy(f, snap.resolve(f.getFileName()));
            }
        }
        Path refs = cache.resolve("models--" + repo.replace("/", "--")).resolve("refs");
        Files.createDirectories(refs);
        Files.writeString(refs.resolve("main"), rev);
    }

    @Test
    void showsTheSizesAndUsesAnInstalledOne(@TempDir Path cache) throws Exception {
        install(cache, "ConvLLaVA/ConvLLaVA-sft-1024", TINY.resolve("tiny-convllava"));
        install(cache, "ConvLLaVA/ConvLLaVA-ConvNeXt-1024", TINY.resolve("tiny-convllava-convnext"));
        ModelManagerViewModel vm = new ModelManagerViewModel(new ModelManager(HubSettings.of(URI.create("http://127.0.0.1:9"), cache)),
                Runnable::run, Platform::runLater);
        List<Path> used = new ArrayList<>();
        vm.setOnUse((model, tower) -> used.add(model));
        Stage stage = fx(() -> ModelManagerView.show(null, vm, List.of()));
        try {
            Node root = stage.getScene().getRoot();
            await("the installed size to show", 10, () -> fx(() -> root.lookupAll(".model-status").stream()
                    .anyMatch(n -> ((Label) n).getText().startsWith("Installed"))));
            assertEquals(3, fx(() -> root.lookupAll(".model-row").size()));
            List<Button> use = fx(() -> root.lookupAll(".button").stream().map(n -> (Button) n)
                    .filter(b -> b.getText().equals("Use")).toList());
            assertEquals(3, use.size());
            assertTrue(fx(() -> use.get(0).isDisabled()), "768 is not installed");
            assertFalse(fx(() -> use.get(1).isDisabled()), "1024 is installed");
            assertTrue(fx(() -> use.get(2).isDisabled()), "1536 is not installed");
            run(() -> use.get(1).fire());
            assertEquals(1, used.size());
            assertTrue(used.get(0).toString().contains("models--ConvLLaVA--ConvLLaVA-sft-1024"), used.toString());
            assertTrue(fx(() -> root.lookupAll(".model-title").stream().anyMatch(n -> ((Label) n).getText().contains("576 visual tokens"))));
        } finally {
            run(stage::close);
        }
    }

    /**
     * What is cut off in the window: a wrapped text lower than its lines, a button narrower than its
     * label, or a text below or beside the window with nothing to scroll it into view.
     */
    private static List<String> cutOff(Node root) {
        List<String> cut = new ArrayList<>();
        for (Node n : fx(() -> List.copyOf(root.lookupAll("*")))) {
            if (!(n instanceof javafx.scene.control.Labeled l) || !n.isVisible() || l.getText() == null || l.getText().isEmpty()) {
                continue;
            }
            if (l.isWrapText() && l.getHeight() + 0.5 < l.prefHeight(l.getWidth())) {
                cut.add("'" + l.getText() + "' is " + Math.round(l.getHeight()) + " px high of the " + Math.round(l.prefHeight(l.getWidth())) + " it needs");
            }
            javafx.geometry.Bounds b = n.localToScene(n.getLayoutBounds());
            boolean scrolls = false;
            for (Node p = n.getParent(); p != null; p = p.getParent()) {
                scrolls |= p instanceof javafx.scene.control.ScrollPane;
            }
            if (!scrolls && (b.getMaxX() > n.getScene().getWidth() + 0.5 || b.getMaxY() > n.getScene().getHeight() + 0.5)) {
                cut.add("'" + l.getText() + "' is outside the window, out of reach: " + b);
            }
            if (n instanceof Button && l.getWidth() + 0.5 < l.prefWidth(-1)) {
                cut.add("button '" + l.getText() + "' is " + Math.round(l.getWidth()) + " px wide of the " + Math.round(l.prefWidth(-1)) + " it needs");
            }
        }
        return cut;
    }

    private static void layout(Stage stage) {
        run(() -> {
            stage.getScene().getRoot().applyCss();
            stage.getScene().getRoot().layout();
        });
        org.testfx.util.WaitForAsyncUtils.waitForFxEvents();
    }

    @Test
    void theWholeTextIsShownAboutThisComputerAndCloseOrEscClosesTheWindow(@TempDir Path cache, UiFixture ui) throws Exception {
        install(cache, "ConvLLaVA/ConvLLaVA-sft-1024", TINY.resolve("tiny-convllava"));
        install(cache, "ConvLLaVA/ConvLLaVA-ConvNeXt-1024", TINY.resolve("tiny-convllava-convnext"));
        ModelManagerViewModel vm = new ModelManagerViewModel(new ModelManager(HubSettings.of(URI.create("http://127.0.0.1:9"), cache)),
                Runnable::run, Platform::runLater);
        Stage stage = ui.track(fx(() -> ModelManagerView.show(null, vm, List.of())));
        Node root = stage.getScene().getRoot();
        await("the installed size to show", 10, () -> root.lookupAll(".model-status").stream()
                .anyMatch(n -> ((Label) n).getText().startsWith("Installed")));
        for (double[] size : new double[][] {{fx(stage::getWidth), fx(stage::getHeight)}, {640, 300}}) {
            run(() -> {
                stage.setWidth(size[0]);
                stage.setHeight(size[1]);
            });
            layout(stage);
            List<String> cut = fx(() -> cutOff(root));
            assertTrue(cut.isEmpty(), "at " + size[0] + "x" + size[1] + ": " + cut);
        }
        List<String> texts = fx(() -> root.lookupAll(".label").stream().map(n -> ((Label) n).getText()).toList());
        assertTrue(texts.stream().noneMatch(t -> t != null && t.contains("test machine")), "speaks of this computer, not the project's: " + texts);
        assertTrue(texts.contains(ModelManagerViewModel.NOT_MEASURED), texts.toString());

        Button close = fx(() -> root.lookupAll(".button").stream().map(n -> (Button) n).filter(b -> "Close".equals(b.getText()))
                .findFirst().orElseThrow(() -> new AssertionError("no Close button")));
        ui.robot().clickOn(close);
        await("Close to close the window", 10, () -> !stage.isShowing());

        Stage again = ui.track(fx(() -> ModelManagerView.show(null, vm, List.of())));
        await("the window to show", 10, again::isShowing);
        run(again::requestFocus);
        ui.robot().type(javafx.scene.input.KeyCode.ESCAPE);
        await("Esc to close the window", 10, () -> !again.isShowing());
    }
}
