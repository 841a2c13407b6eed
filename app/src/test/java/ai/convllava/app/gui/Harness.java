package ai.convllava.app.gui;

import ai.convllava.app.gui.main.MainViewModel;
import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.hub.ModelManager;
import ai.convllava.model.api.MachineSpeed;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** A main view-model on a fake service, a manual UI executor and timer, a direct I/O executor and a settable clock. */
final class Harness {
    final FakeVisionChatSession service = new FakeVisionChatSession();
    final AppSettings settings = new AppSettings();
    final ManualExecutor ui = new ManualExecutor();
    final ManualTimer timer = new ManualTimer();
    final AtomicLong clock = new AtomicLong(1_000_000);
    final AppPaths paths;
    final ConversationStore store;
    final MainViewModel vm;
    /** This computer as the fake measurement says (the first start's estimate). */
    static final MachineSpeed SPEED = new MachineSpeed(10, 50);

    /** Every chosen model folder passes the check (the fake service needs no files). */
    Harness(Path root) {
        this(root, options -> null);
    }

    /** With this check of chosen model folders ({@link ModelViewModel.FolderCheck#ENGINE} for the real one). */
    Harness(Path root, ModelViewModel.FolderCheck folderCheck) {
        paths = AppPaths.under(root);
        store = new ConversationStore(paths.conversationsDir(), paths.imagesDir());
        vm = new MainViewModel(service, settings, store, Runnable::run, ui, clock::get, timer, Runnable::run, ModelManager::fromEnvironment,
                new MainViewModel.Probes(folderCheck, () -> SPEED, Optional::empty));
    }

    /** Loads the fake model to READY. */
    Harness withModel() {
        settings.modelDirProperty().set("/models/tiny");
        vm.model().load();
        service.completeLoad();
        ui.runAll();
        return this;
    }

    static Path fixture(String rel) {
        String f = System.getProperty("convllava.fixtures");
        if (f == null) {
            throw new IllegalStateException("-Dconvllava.fixtures is not set");
        }
        return Path.of(f).resolve(rel);
    }
}
