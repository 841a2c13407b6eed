package ai.convllava.app.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code convllava bench}: the benchmark is its own program, not part of the app (nor of the installer);
 * this says where it is instead of taking "bench" for an image to open.
 */
@Command(name = "bench", hidden = true, description = "The benchmark is not part of the app: see tests/bench/bench.sh in a source checkout.")
public final class BenchNotHere implements Callable<Integer> {
    static final String MESSAGE = "error: the benchmark is not part of the app; in a source checkout run tests/bench/bench.sh"
            + " (or java -jar bench/target/convllava-bench.jar after mvn package), with the same options";

    @Spec
    CommandSpec spec;

    @Unmatched
    List<String> ignored;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println(MESSAGE);
        return 1;
    }
}
