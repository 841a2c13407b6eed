package ai.convllava.app.gui;

import ai.convllava.app.gui.model.FirstRunViewModel;
import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.model.api.MachineSpeed;
import ai.convllava.model.api.MemoryPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FirstRunViewModelTest {
    @TempDir
    Path tmp;

    @Test
    void withoutAModelItSaysWhatToDoWithTheDownloadSizeMemoryAndTheEstimateForThisComputer() {
        Harness h = new Harness(tmp);
        h.vm.start(null);
        h.ui.runAll();
        FirstRunViewModel f = h.vm.firstRun();
        assertTrue(f.shownProperty().get());
        assertNull(f.demoModelProperty().get(), "no demo model bundled: no button for one");
        assertEquals("No model yet: to ask about images, download ConvLLaVA-768 (16.3 GB) or choose a model folder you already have.",
                f.sentenceProperty().get());
        String e = f.estimateProperty().get();
        assertTrue(e.startsWith("RAM it needs: " + MemoryPlan.ofStandard(768).describe() + ". "), e);
        assertTrue(e.endsWith("On this computer ConvLLaVA-768 should take: " + Harness.SPEED.estimate(768, 144).describe()
                + " (estimate, float16 on the CPU)."), e);
    }

    @Test
    void aBundledDemoModelIsOfferedAndUsedLikeAChosenFolder() {
        Harness h = new Harness(tmp, ModelViewModel.FolderCheck.ENGINE);
        Path demo = Harness.fixture("tiny/tiny-convllava");
        FirstRunViewModel f = new FirstRunViewModel(h.vm.model(), h.settings, Runnable::run, h.ui, () -> Harness.SPEED, () -> Optional.of(demo));
        f.start();
        h.ui.runAll();
        assertEquals(demo, f.demoModelProperty().get());
        assertTrue(f.sentenceProperty().get().contains("try the small demo model that came with the app"), f.sentenceProperty().get());

        f.useDemoModel();
        h.ui.runAll();
        assertEquals(demo, h.service.loads.get(0).modelDir());
        assertFalse(f.shownProperty().get(), "hidden while the demo model loads");
        h.service.completeLoad();
        h.ui.runAll();
        assertFalse(f.shownProperty().get());
    }

    @Test
    void withARememberedModelItIsHiddenAndThisComputerIsNotMeasured() {
        Harness h = new Harness(tmp);
        h.settings.modelDirProperty().set("/models/tiny");
        AtomicInteger measured = new AtomicInteger();
        FirstRunViewModel f = new FirstRunViewModel(h.vm.model(), h.settings, Runnable::run, h.ui, () -> {
            measured.incrementAndGet();
            return Harness.SPEED;
        }, Optional::empty);
        f.start();
        h.ui.runAll();
        assertFalse(f.shownProperty().get());
        assertEquals(0, measured.get(), "a couple of seconds of every core are not spent when they are not shown");
        assertEquals("", f.estimateProperty().get());
    }

    @Test
    void aFailedMeasurementFallsBackToThePublishedFigures() {
        Harness h = new Harness(tmp);
        FirstRunViewModel f = new FirstRunViewModel(h.vm.model(), h.settings, Runnable::run, h.ui, () -> {
            throw new IllegalStateException("no engine");
        }, Optional::empty);
        f.start();
        h.ui.runAll();
        assertTrue(f.estimateProperty().get().endsWith("Measured on the " + f.suggested().speedNote() + "."), f.estimateProperty().get());
    }

    @Test
    void theBundledDemoModelNeedsAConfigJson() throws Exception {
        String old = System.getProperty(FirstRunViewModel.DEMO_PROPERTY);
        try {
            System.setProperty(FirstRunViewModel.DEMO_PROPERTY, tmp.toString());
            assertEquals(Optional.empty(), FirstRunViewModel.bundledDemoModel(), "an empty folder is not a model");
            Path tiny = Harness.fixture("tiny/tiny-convllava");
            System.setProperty(FirstRunViewModel.DEMO_PROPERTY, tiny.toString());
            assertEquals(Optional.of(tiny), FirstRunViewModel.bundledDemoModel());
        } finally {
            if (old == null) {
                System.clearProperty(FirstRunViewModel.DEMO_PROPERTY);
            } else {
                System.setProperty(FirstRunViewModel.DEMO_PROPERTY, old);
            }
        }
    }
}
