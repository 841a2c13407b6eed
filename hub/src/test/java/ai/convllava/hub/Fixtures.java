package ai.convllava.hub;

import java.nio.file.Path;

/** The reference data in tests/fixtures (the build passes its path as {@code convllava.fixtures}). */
final class Fixtures {
    static final Path TINY = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures")).resolve("tiny");

    private Fixtures() {
    }
}
