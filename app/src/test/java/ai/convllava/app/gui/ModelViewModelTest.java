package ai.convllava.app.gui;

import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.app.gui.settings.WeightChoice;
import ai.convllava.model.api.NotEnoughMemoryException;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.WeightFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelViewModelTest {
    @TempDir
    Path tmp;

    @Test
    void withoutAFolderItSaysWhatToDo() {
        Harness h = new Harness(tmp);
        h.vm.model().load();
        assertTrue(h.vm.model().errorProperty().get().startsWith("Choose a ConvLLaVA model folder"));
        assertTrue(h.service.loads.isEmpty());
        assertEquals(SessionState.NO_MODEL, h.vm.model().stateProperty().get());
    }

    @Test
    void loadShowsProgressThenWhatIsInUse() {
        Harness h = new Harness(tmp);
        h.settings.deviceProperty().set(Device.CPU);
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/tiny"));
        assertEquals(Path.of("/models/tiny"), h.service.loads.get(0).modelDir());
        assertEquals(Device.CPU, h.service.loads.get(0).device());
        h.ui.runAll();
        assertEquals(SessionState.LOADING, m.stateProperty().get());
        assertTrue(m.loadingProperty().get());
        assertEquals(0.5, m.progressProperty().get());
        assertEquals("Loading LLM (1 / 2 tensors)", m.progressTextProperty().get());

        h.service.completeLoad();
        h.ui.runAll();
        assertEquals(SessionState.READY, m.stateProperty().get());
        assertFalse(m.loadingProperty().get());
        assertTrue(m.infoTextProperty().get().contains("CPU (2 threads)"), m.infoTextProperty().get());
        assertTrue(m.infoTextProperty().get().contains("F32 weights"), m.infoTextProperty().get());
        assertTrue(m.isReady());
    }

    @Test
    void aMissingVisionTowerOffersToChooseIt() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/sft"));
        h.service.failLoad(new ConvLlavaException("no vision tower found for mm_vision_tower=ConvLLaVA-ConvNeXt-1536: looked in ..."));
        h.ui.runAll();
        assertEquals(SessionState.ERROR, m.stateProperty().get());
        assertTrue(m.errorProperty().get().startsWith("no vision tower found"));
        assertTrue(m.visionTowerProblemProperty().get());

        m.chooseVisionTower(Path.of("/models/tower"));
        assertEquals(Path.of("/models/tower"), h.service.loads.get(1).visionTower());
        assertNull(m.errorProperty().get());
        assertFalse(m.visionTowerProblemProperty().get());
    }

    @Test
    void aRefusalForMemoryOffersFourBitWeightsAndLoadsWithThem() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/sft-1536"));
        assertNull(h.service.loads.get(0).weightFormat(), "Auto leaves the choice to the engine");
        h.service.failLoad(new NotEnoughMemoryException("this model needs about 17.1 GB of RAM but only 7.5 GB is available"));
        h.ui.runAll();
        assertEquals(SessionState.ERROR, m.stateProperty().get());
        assertTrue(m.errorProperty().get().contains("7.5 GB"), m.errorProperty().get());
        assertTrue(m.canUseSmallerWeightsProperty().get());

        m.useSmallerWeights();
        assertEquals(WeightChoice.Q4_K, h.settings.weightsProperty().get(), "the choice is kept for the next start");
        assertEquals(WeightFormat.Q4_K, h.service.loads.get(1).weightFormat());
        assertFalse(m.canUseSmallerWeightsProperty().get());
        assertNull(m.errorProperty().get());

        // refused again with 4-bit weights: no button that would do the same again
        h.service.failLoad(new NotEnoughMemoryException("this model needs about 6.1 GB of RAM but only 3.0 GB is available"));
        h.ui.runAll();
        assertFalse(m.canUseSmallerWeightsProperty().get());
    }

    @Test
    void otherErrorsDoNotOfferSmallerWeights() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/broken"));
        h.service.failLoad(new ConvLlavaException("pytorch_model-00002-of-00002.bin: truncated"));
        h.ui.runAll();
        assertFalse(m.canUseSmallerWeightsProperty().get());
    }

    @Test
    void cancelStopsTheLoad() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/tiny"));
        m.cancelLoad();
        assertTrue(h.service.loadHandles.get(0).isCancelled());
        h.service.loadHandles.get(0).result().completeExceptionally(new java.util.concurrent.CancellationException());
        h.service.setState(SessionState.NO_MODEL);
        h.ui.runAll();
        assertNull(m.errorProperty().get());
        assertFalse(m.loadingProperty().get());
        assertEquals(SessionState.NO_MODEL, m.stateProperty().get());
    }

    @Test
    void aLoadedModelReRunsThePreviewWithItsCanvas() {
        Harness h = new Harness(tmp);
        h.vm.openImage(Harness.fixture("tiny/images/wide.png"));
        h.ui.runAll();
        assertEquals(1, h.service.images.size());
        h.withModel();
        assertEquals(2, h.service.images.size());
    }

    @Test
    void theEngineIsBusyWhileItLoadsEncodesReadsOrAnswers() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        for (SessionState s : SessionState.values()) {
            h.service.setState(s);
            h.ui.runAll();
            boolean busy = s == SessionState.LOADING || s == SessionState.ENCODING || s == SessionState.READING_DRAFT
                    || s == SessionState.GENERATING;
            assertEquals(busy, m.engineBusyProperty().get(), s.name());
        }
    }
}
