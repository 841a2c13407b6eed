package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.DesktopApp;
import javafx.stage.Stage;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The one fixture every UI test uses ({@code @ExtendWith(UiFixture.class)}, then a {@code UiFixture}
 * and/or {@code FxRobot} parameter): the headless toolkit started once, the apps and windows a test
 * opens closed after it, and any exception thrown on the FX thread during the test failing it (an
 * exception the app lets escape to the toolkit is a bug, even when the screen looks right).
 */
public final class UiFixture implements BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final List<Throwable> FX_ERRORS = new CopyOnWriteArrayList<>();
    private static volatile boolean started;

    private final List<DesktopApp> apps = new ArrayList<>();
    private final List<Stage> stages = new ArrayList<>();
    private final FxRobot robot = new FxRobot();

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        if (!started) {
            FxToolkit.registerPrimaryStage();
            WaitForAsyncUtils.asyncFx(() -> Thread.currentThread().setUncaughtExceptionHandler((t, e) -> FX_ERRORS.add(e)))
                    .get(10, TimeUnit.SECONDS);
            started = true;
        }
        FX_ERRORS.clear();
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        try {
            for (DesktopApp app : apps) {
                UiSupport.close(app);
            }
            for (Stage s : stages) {
                WaitForAsyncUtils.asyncFx(s::close).get(30, TimeUnit.SECONDS);
            }
            WaitForAsyncUtils.waitForFxEvents();
        } finally {
            apps.clear();
            stages.clear();
        }
        if (!FX_ERRORS.isEmpty()) {
            AssertionError e = new AssertionError(FX_ERRORS.size() + " exception(s) escaped to the FX thread; the first: " + FX_ERRORS.get(0));
            FX_ERRORS.forEach(e::addSuppressed);
            throw e;
        }
    }

    /** Opens the real app (the tiny model as its settings say) on these data folders; closed after the test. */
    public DesktopApp open(AppPaths paths) throws Exception {
        DesktopApp app = UiSupport.open(paths);
        apps.add(app);
        return app;
    }

    /** Opens the real app on a given session (a scripted one, to stream answers step by step); closed after the test. */
    public DesktopApp open(AppPaths paths, ai.convllava.model.api.VisionChatSession session) throws Exception {
        DesktopApp app = UiSupport.open(paths, session);
        apps.add(app);
        return app;
    }

    /** Closes an app now (a restart in the middle of a test). */
    public void close(DesktopApp app) throws Exception {
        apps.remove(app);
        UiSupport.close(app);
    }

    /** A window the test opened itself; closed after the test. */
    public Stage track(Stage stage) {
        stages.add(stage);
        return stage;
    }

    public FxRobot robot() {
        return robot;
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
        Class<?> t = p.getParameter().getType();
        return t == UiFixture.class || t == FxRobot.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext c) {
        return p.getParameter().getType() == UiFixture.class ? this : robot;
    }
}
