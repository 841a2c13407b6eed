package ai.convllava.app.cli;

import ai.convllava.app.selftest.SelfTest;
import ai.convllava.model.api.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code convllava self-test} (also {@code convllava --self-test}; the check itself is {@link SelfTest}): loads a
 * tiny ConvLLaVA-shaped model (the one bundled in the installed app under {@code selftest/}, or
 * {@code --model DIR}), answers one question about one image greedily, checks the answer when it is
 * known, and prints the versions (app, Java, JavaFX, DJL, PyTorch), the device and the timings.
 * Exit code 0 when everything worked, 1 otherwise. It proves that the bundled runtime, JavaFX and
 * libtorch load offline on this machine.
 */
@Command(name = "self-test", description = "Check the installation: load the tiny bundled model (or --model DIR), answer one question, print versions and timings.")
public final class SelfTestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "model folder (default: the bundled tiny model)")
    Path model;

    @Option(names = "--image", paramLabel = "FILE", description = "image (default: the bundled wide.png)")
    Path image;

    @Option(names = "--question", paramLabel = "TEXT", description = "question (default: \"" + SelfTest.QUESTION + "\")")
    String question;

    @Option(names = "--max-new-tokens", defaultValue = "16", paramLabel = "N")
    int maxNewTokens;

    @Option(names = "--expect", paramLabel = "TEXT",
            description = "expected answer (default: the known answer when the model is the tiny fixture and question, image and token count are the defaults)")
    String expect;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
            description = "where to run it (default: auto, the GPU when there is one; gpu fails when there is none, with the reason)")
    String device;

    @Override
    public Integer call() {
        return SelfTest.run(new SelfTest.Options(model, image, question, maxNewTokens, expect, verbose, Device.parse(device)), spec.commandLine().getOut(),
                spec.commandLine().getErr());
    }
}
