package ai.convllava.tests.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.Slice;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The architecture, checked on the compiled production classes of every module: the app sees the
 * engine only through its session API; the engine knows no JavaFX; the model hub knows neither the
 * engine nor the app; the benchmark goes through the API, the engine's SPI (and its diagnostics, for the
 * machine probe); the local server goes through the session API alone; the app's packages, and the engine's below its API, have no cycles; views start no
 * threads and make no model hub.
 */
class ArchitectureTest {
    private static final java.util.regex.Pattern TEST_JAR = java.util.regex.Pattern.compile(".*-tests\\.jar!/.*");
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                // the app's test classes reach this module as a test-jar (the UI tests' scripted session): tests too
                .withImportOption(location -> !location.matches(TEST_JAR))
                .importPackages("ai.convllava");
    }

    private static void check(ArchRule rule) {
        rule.check(classes);
    }

    @Test
    void allModulesAreImported() {
        for (String pkg : new String[] {"ai.convllava.app", "ai.convllava.model.api", "ai.convllava.model.engine", "ai.convllava.hub",
                "ai.convllava.bench", "ai.convllava.server"}) {
            if (!classes.containPackage(pkg)) {
                throw new AssertionError("no classes of " + pkg + " were found: the rules below would check nothing");
            }
        }
    }

    @Test
    void theAppUsesTheEngineOnlyThroughTheSessionApi() {
        check(noClasses().that().resideInAPackage("ai.convllava.app..").should().dependOnClassesThat(
                resideInAPackage("ai.convllava.model..").and(not(resideInAPackage("ai.convllava.model.api.."))))
                .because("the app, the CLI and the self-test run the model through VisionChatSession and its types only"));
    }

    @Test
    void theAppKnowsNoDjlAndNoBenchmark() {
        check(noClasses().that().resideInAPackage("ai.convllava.app..").should().dependOnClassesThat()
                .resideInAnyPackage("ai.djl..", "ai.convllava.bench.."));
    }

    @Test
    void theEngineKnowsNoJavaFxAppHubOrBenchmark() {
        check(noClasses().that().resideInAPackage("ai.convllava.model..").should().dependOnClassesThat()
                .resideInAnyPackage("javafx..", "ai.convllava.app..", "ai.convllava.hub..", "ai.convllava.bench.."));
    }

    @Test
    void theSessionApiExposesNoDjl() {
        check(noClasses().that().resideInAPackage("ai.convllava.model.api..").should().dependOnClassesThat().resideInAPackage("ai.djl.."));
    }

    @Test
    void theModelHubStandsAlone() {
        check(noClasses().that().resideInAPackage("ai.convllava.hub..").should().dependOnClassesThat()
                .resideInAnyPackage("ai.convllava.model..", "ai.convllava.app..", "ai.djl..", "javafx.."));
    }

    @Test
    void theBenchmarkGoesThroughTheApiAndTheSpi() {
        check(noClasses().that().resideInAPackage("ai.convllava.bench..").should().dependOnClassesThat(
                resideInAPackage("ai.convllava.model..").and(not(resideInAnyPackage("ai.convllava.model.api..", "ai.convllava.model.spi..",
                        "ai.convllava.model.config..", "ai.convllava.model.diagnostics..")))));
    }

    @Test
    void theServerGoesThroughTheSessionApiOnly() {
        check(noClasses().that().resideInAPackage("ai.convllava.server..").should().dependOnClassesThat(
                resideInAPackage("ai.convllava.model..").and(not(resideInAPackage("ai.convllava.model.api.."))))
                .orShould().dependOnClassesThat().resideInAnyPackage("ai.djl..", "javafx..", "ai.convllava.app..", "ai.convllava.hub..",
                        "ai.convllava.bench..")
                .because("the local server is one more thin adapter over VisionChatSession, like the CLI and the app"));
    }

    @Test
    void theEngineAndTheBenchmarkKnowNoServer() {
        check(noClasses().that().resideInAnyPackage("ai.convllava.model..", "ai.convllava.bench..", "ai.convllava.hub..").should()
                .dependOnClassesThat().resideInAPackage("ai.convllava.server.."));
    }

    @Test
    void theAppsPackagesHaveNoCycles() {
        check(slices().matching("ai.convllava.app.(**)").should().beFreeOfCycles());
    }

    /**
     * The API hands out the implementation (VisionChatSession.local(), ImageFiles, EngineInfo) and the
     * implementation speaks the API's types, so the rule leaves the API packages out: below them, the
     * engine's packages form no cycle.
     */
    @Test
    void theEnginesInternalPackagesHaveNoCycles() {
        DescribedPredicate<Slice> belowTheApi = DescribedPredicate.describe("below the API",
                slice -> !Set.of("api", "spi").contains(slice.getNamePart(1)));
        check(slices().matching("ai.convllava.model.(*)..").that(belowTheApi).should().beFreeOfCycles());
    }

    @Test
    void viewsStartNoThreadsAndMakeNoModelHub() {
        check(noClasses().that().resideInAPackage("ai.convllava.app.gui..").and().haveSimpleNameEndingWith("View").should()
                .callConstructor(Thread.class, Runnable.class).orShould().callConstructor(Thread.class, Runnable.class, String.class)
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.util.concurrent.Executors")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("ai.convllava.hub.ModelManager"));
    }
}
