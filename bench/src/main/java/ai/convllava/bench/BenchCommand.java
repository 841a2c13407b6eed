package ai.convllava.bench;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.diagnostics.CudaDevices;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code java -jar bench/target/convllava-bench.jar} ({@code tests/bench/bench.sh}): speed and memory of a full-size ConvLLaVA with synthetic weights (no
 * download). Progress goes to stderr; the table (or with {@code --json} one JSON record) to stdout.
 */
@Command(name = "convllava-bench", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Measure speed and memory of a full-size ConvLLaVA built from random weights (no model file needed).",
                "With --layers N only N decoder layers run and the LLM numbers are extrapolated to 32 (labelled as such)."})
public final class BenchCommand implements Callable<Integer> {
    static final String TEMP_DIR = "temp";

    @Spec
    CommandSpec spec;

    @Option(names = "--model-size", defaultValue = "1536", paramLabel = "768|1024|1536",
            description = "ConvLLaVA canvas (same encoder and Vicuna-7B; 144, 256 or 576 visual tokens); default 1536")
    int modelSize;

    @Option(names = "--layers", defaultValue = "0", paramLabel = "N",
            description = "run only N (>= 2) of the 32 decoder layers and extrapolate; default all")
    int layers;

    @Option(names = "--weights", paramLabel = "auto|f32|f16|q8_0|q4_k", defaultValue = "auto",
            description = "LLM weights in memory: f16 (2 bytes a weight), q8_0 (8-bit, 1.06), q4_k (4-bit, 0.58); the 8/4-bit ones are read"
                    + " from the file `convllava models quantize` makes, or quantized while loading (auto: the most accurate that fits)")
    String weights;

    @Option(names = "--tower", defaultValue = "auto", paramLabel = "auto|resident|streamed",
            description = "vision tower and token embedding weights: kept in memory, or read when used (auto: resident when everything fits)")
    String tower;

    @Option(names = "--from-disk", arity = "0..1", fallbackValue = TEMP_DIR, paramLabel = "DIR",
            description = "write a synthetic BF16 safetensors checkpoint (once; reused if it matches) and load it, timing the load;"
                    + " default folder: a temporary one, deleted afterwards")
    String fromDisk;


    @Option(names = "--device", defaultValue = "cpu", paramLabel = "auto|cpu|gpu",
            description = "where the model runs: cpu (default), gpu (CUDA; float16 unless --weights f32), auto (a GPU when PyTorch sees one)")
    String device;

    @Option(names = "--device-path", description = "run the GPU's code (libtorch ops only, sampling on the device; float16 unless --weights f32)"
            + " on the CPU, to check or measure it without a GPU")
    boolean devicePath;

    @Option(names = "--context-tokens", defaultValue = "0", paramLabel = "N",
            description = "KV-cache positions each conversation reserves up front, so the peak RSS includes them (issue 19's target: 2048);"
                    + " default: the app's 1024, doubled as a conversation grows")
    int contextTokens;

    @Option(names = "--decode-tokens", defaultValue = "64", paramLabel = "N", description = "tokens generated for the decode rate")
    int decodeTokens;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "weights seed")
    long seed;

    @Option(names = "--json", description = "print one JSON record instead of the table")
    boolean json;

    @Option(names = "--output", paramLabel = "FILE", description = "also write the JSON record to FILE")
    Path output;

    @Option(names = "--no-machine", description = "skip the memory bandwidth and GEMM probes")
    boolean noMachine;

    @Option(names = "--compare-pytorch", description = "also run tests/bench/pytorch_bench.py (plain torch.nn, eager float32) and print ratios")
    boolean comparePytorch;

    @Option(names = "--python", defaultValue = "/usr/bin/python3", paramLabel = "EXE", description = "Python with torch (default Debian's)")
    Path python;

    @Option(names = "--pytorch-script", defaultValue = "tests/bench/pytorch_bench.py", paramLabel = "FILE")
    Path pytorchScript;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path temp = null;
        try {
            Device where = Device.parse(device);
            Optional<String> noGpu = where == Device.GPU ? CudaDevices.absentReason() : Optional.empty();
            if (noGpu.isPresent()) {
                err.println("error: --device gpu: " + noGpu.get());
                return 3;
            }
            BenchOptions o = BenchOptions.of(modelSize).withLayers(layers).withSeed(seed).withDecodeTokens(decodeTokens)
                    .withWeightFormat(WeightFormat.parse(weights)).withTowerMemory(TowerMemory.parse(tower)).withDevice(where)
                    .withDevicePathOnCpu(devicePath).withContextTokens(contextTokens);
            if (layers < 0 || layers == 1) {
                throw new IllegalArgumentException("--layers must be at least 2 (got " + layers + "); 0 runs all layers");
            }
            if (noMachine) {
                o = o.withMachineProbe(0, 0);
            }
            if (fromDisk != null) {
                if (fromDisk.equals(TEMP_DIR)) {
                    temp = Files.createTempDirectory("convllava-bench-");
                    o = o.withFromDisk(temp);
                } else {
                    o = o.withFromDisk(Path.of(fromDisk));
                }
            }
            BenchReport report = BenchRunner.run(o, line -> {
                err.println(line);
                err.flush();
            });
            if (comparePytorch) {
                try {
                    report.withPytorch(PytorchReference.run(python, pytorchScript, report, line -> {
                        err.println(line);
                        err.flush();
                    }));
                } catch (IOException e) {
                    err.println("error: " + e.getMessage());
                    return 1;
                }
            }
            String record = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(report.json());
            if (output != null) {
                if (output.toAbsolutePath().getParent() != null) {
                    Files.createDirectories(output.toAbsolutePath().getParent());
                }
                Files.writeString(output, record + System.lineSeparator());
            }
            if (json) {
                out.println(report.json().toString());
            } else {
                out.print(report.table());
            }
            out.flush();
            return 0;
        } catch (ConvLlavaException | IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            }
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return 1;
        } catch (IOException | RuntimeException e) {
            err.println("error: " + e);
            if (verbose) {
                e.printStackTrace(err);
            }
            return 1;
        } finally {
            if (temp != null) {
                deleteTree(temp);
            }
        }
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        System.exit(new CommandLine(new BenchCommand()).execute(args));
    }

    private static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
