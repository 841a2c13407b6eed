package ai.convllava.app.gui;

import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.app.gui.settings.WeightChoice;
import ai.convllava.model.api.NotEnoughMemoryException;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.WeightFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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
        h.ui.runAll();
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
        h.ui.runAll();
        h.service.failLoad(new ConvLlavaException("no vision tower found for mm_vision_tower=ConvLLaVA-ConvNeXt-1536: looked in ..."));
        h.ui.runAll();
        assertEquals(SessionState.ERROR, m.stateProperty().get());
        assertTrue(m.errorProperty().get().startsWith("no vision tower found"));
        assertTrue(m.visionTowerProblemProperty().get());

        m.chooseVisionTower(Path.of("/models/tower"));
        h.ui.runAll();
        assertEquals(Path.of("/models/tower"), h.service.loads.get(1).visionTower());
        assertNull(m.errorProperty().get());
        assertFalse(m.visionTowerProblemProperty().get());
    }

    @Test
    void aRefusalForMemoryOffersFourBitWeightsAndLoadsWithThem() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/sft-1536"));
        h.ui.runAll();
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
        h.ui.runAll();
        h.service.failLoad(new ConvLlavaException("pytorch_model-00002-of-00002.bin: truncated"));
        h.ui.runAll();
        assertFalse(m.canUseSmallerWeightsProperty().get());
    }

    @Test
    void cancelStopsTheLoad() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/tiny"));
        h.ui.runAll();
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

    @Test
    void aModelUsedWhileAChosenFolderIsStillBeingCheckedWinsOverThatCheck() {
        Harness h = new Harness(tmp).withModel();
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/chosen")); // its check's answer waits in the UI queue
        m.useDownloaded(Path.of("/models/downloaded"), null); // the model manager's Use, meanwhile
        h.ui.runAll();
        assertEquals("/models/downloaded", h.settings.modelDirProperty().get());
        assertEquals(2, h.service.loads.size(), "the model before and the downloaded one: the older choice's check does not load");
        assertEquals(Path.of("/models/downloaded"), h.service.loads.get(1).modelDir());
    }

    @Test
    void afterAnotherLoadAVisionTowerGoesWithTheModelInUseNotAFolderRefusedEarlier() {
        Path refused = Path.of("/models/no-tower");
        Harness h = new Harness(tmp, options -> {
            if (options.modelDir().equals(refused) && options.visionTower() == null) {
                throw new IllegalArgumentException("no vision tower found for " + refused);
            }
            return null;
        }).withModel();
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(refused);
        h.ui.runAll();
        assertTrue(m.visionTowerProblemProperty().get(), m.errorProperty().get());
        m.useDownloaded(Path.of("/models/downloaded"), null);
        h.service.completeLoad();
        h.ui.runAll();
        m.chooseVisionTower(Path.of("/towers/convnext"));
        h.ui.runAll();
        LoadOptions last = h.service.loads.get(h.service.loads.size() - 1);
        assertEquals(Path.of("/models/downloaded"), last.modelDir(), "the tower goes with the model in use");
        assertEquals(Path.of("/towers/convnext"), last.visionTower());
    }

    @Test
    void aFileChosenAsModelFolderIsRefusedAndTheWorkingModelStays() throws Exception {
        Harness h = new Harness(tmp, ModelViewModel.FolderCheck.ENGINE).withModel();
        ModelViewModel m = h.vm.model();
        Path file = Files.writeString(tmp.resolve("notes.txt"), "not a model");
        m.chooseModelFolder(file);
        h.ui.runAll();
        String e = m.errorProperty().get();
        assertTrue(e.contains(file.toString()) && e.contains("is a file, not a folder"), e);
        assertTrue(e.contains("still using tiny"), e);
        assertEquals(1, h.service.loads.size(), "the working model is not unloaded");
        assertEquals("/models/tiny", h.settings.modelDirProperty().get(), "the refused folder is not remembered for the next start");
        assertTrue(m.isReady());
        assertTrue(m.infoTextProperty().get().startsWith("tiny"), m.infoTextProperty().get());
    }

    @Test
    void aFolderWithoutAModelOrThatIsGoneIsRefusedWithWhatIsWrong() throws Exception {
        Harness h = new Harness(tmp, ModelViewModel.FolderCheck.ENGINE).withModel();
        ModelViewModel m = h.vm.model();
        Path empty = Files.createDirectories(tmp.resolve("Downloads"));
        m.chooseModelFolder(empty);
        h.ui.runAll();
        assertTrue(m.errorProperty().get().contains(empty + " has no config.json"), m.errorProperty().get());

        Path gone = tmp.resolve("ConvLLaVA-sft-768");
        m.chooseModelFolder(gone);
        h.ui.runAll();
        assertTrue(m.errorProperty().get().contains("the model folder " + gone + " does not exist"), m.errorProperty().get());
        assertEquals(1, h.service.loads.size());
        assertTrue(m.isReady());
    }

    @Test
    void aUsableFolderIsLoadedAndJoinsTheRecentModels() {
        Harness h = new Harness(tmp, ModelViewModel.FolderCheck.ENGINE).withModel();
        ModelViewModel m = h.vm.model();
        Path tiny = Harness.fixture("tiny/tiny-convllava");
        m.chooseModelFolder(tiny);
        h.ui.runAll();
        assertNull(m.errorProperty().get());
        assertEquals(tiny, h.service.loads.get(1).modelDir());
        assertEquals(tiny.toString(), h.settings.modelDirProperty().get());
        h.service.completeLoad();
        h.ui.runAll();
        assertEquals(List.of(tiny.toString(), "/models/tiny"), h.settings.recentModelsProperty().get());
    }

    @Test
    void theRecentModelsKeepTheLatestOnceEachAndDropTheOldest() {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        for (int i = 0; i < ModelViewModel.RECENT_MODELS + 2; i++) {
            m.chooseModelFolder(Path.of("/models/m" + i));
            h.ui.runAll();
            h.service.completeLoad();
            h.ui.runAll();
        }
        m.chooseModelFolder(Path.of("/models/m3"));
        h.ui.runAll();
        h.service.completeLoad();
        h.ui.runAll();
        assertEquals(List.of("/models/m3", "/models/m7", "/models/m6", "/models/m5", "/models/m4", "/models/m2"),
                h.settings.recentModelsProperty().get());
    }

    @Test
    void aFolderRefusedForItsVisionTowerTakesTheTowerChosenNext() {
        Harness h = new Harness(tmp, options -> {
            if (options.visionTower() == null) {
                throw new ConvLlavaException("no vision tower found for mm_vision_tower=ConvLLaVA-ConvNeXt-768: looked in /models");
            }
            return null;
        }).withModel();
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/models/sft-768"));
        h.ui.runAll();
        assertTrue(m.visionTowerProblemProperty().get());
        assertTrue(m.errorProperty().get().startsWith("no vision tower found"), m.errorProperty().get());
        assertEquals(1, h.service.loads.size(), "the working model stays until the tower is there");

        m.chooseVisionTower(Path.of("/models/tower-768"));
        h.ui.runAll();
        assertEquals(Path.of("/models/sft-768"), h.service.loads.get(1).modelDir());
        assertEquals(Path.of("/models/tower-768"), h.service.loads.get(1).visionTower());
        assertNull(m.errorProperty().get());
    }

    @Test
    void aTowerChosenAfterARefusalForAnotherReasonGoesWithTheModelInUse() {
        Harness h = new Harness(tmp, options -> {
            if (options.modelDir().equals(Path.of("/home/me/Downloads"))) {
                throw new ConvLlavaException("/home/me/Downloads has no config.json: choose the ConvLLaVA-sft-768/1024/1536 folder itself");
            }
            return null;
        }).withModel();
        ModelViewModel m = h.vm.model();
        m.chooseModelFolder(Path.of("/home/me/Downloads"));
        h.ui.runAll();
        assertFalse(m.visionTowerProblemProperty().get());
        m.chooseVisionTower(Path.of("/models/tower"));
        h.ui.runAll();
        assertEquals(Path.of("/models/tiny"), h.service.loads.get(1).modelDir(), "not the folder refused for having no model");
        assertEquals(Path.of("/models/tower"), h.service.loads.get(1).visionTower());
    }

    @Test
    void theFolderChooserOpensBesideTheLastModelThatIsStillThere() throws Exception {
        Harness h = new Harness(tmp);
        ModelViewModel m = h.vm.model();
        assertEquals(Path.of(System.getProperty("user.home")), m.chooserStartFolder(), "nothing known: home, not the toolkit's Recent");
        Path models = Files.createDirectories(tmp.resolve("models"));
        h.settings.recentModelsProperty().setAll(tmp.resolve("deleted/ConvLLaVA-sft-768").toString(), models.resolve("sft-1536").toString());
        assertEquals(models, m.chooserStartFolder());
        h.settings.modelDirProperty().set(tmp.resolve("tiny-convllava").toString());
        assertEquals(tmp, m.chooserStartFolder());
    }
}
