package ai.convllava.app.cli;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.server.OpenAiServer;
import ai.convllava.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/** {@code convllava serve}: the model behind an OpenAI-compatible HTTP endpoint on this machine, until Ctrl+C. */
@Command(name = "serve", description = "Serve the model over HTTP (OpenAI's POST /v1/chat/completions and GET /v1/models) until Ctrl+C.")
public final class ServeCommand implements Callable<Integer> {
    /** The environment variable read when --api-key is not given (a key on the command line shows in the process list). */
    static final String API_KEY_ENV = "CONVLLAVA_API_KEY";

    @Spec
    CommandSpec spec;

    @Option(names = "--host", defaultValue = ServerOptions.DEFAULT_HOST, paramLabel = "ADDRESS",
            description = "address to listen on (default 127.0.0.1: this machine only; any other needs an API key)")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "N", description = "port (default 8080; 0 picks a free one)")
    int port;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "ConvLLaVA-sft-768/1024/1536 folder")
    Path model;

    @Option(names = "--vision-tower", paramLabel = "DIR", description = "ConvLLaVA-ConvNeXt folder (default: found from mm_vision_tower)")
    Path visionTower;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "require Authorization: Bearer KEY on every request (default: $" + API_KEY_ENV + ", else none)")
    String apiKey;

    @Option(names = "--allow-files", paramLabel = "DIR",
            description = "also accept file:// image URLs, for files inside DIR only (default: data: URLs only)")
    Path allowFiles;

    @Option(names = "--max-queued", defaultValue = "" + ServerOptions.DEFAULT_MAX_QUEUED, paramLabel = "N",
            description = "requests that may wait behind the running one; more get 429 (default ${DEFAULT-VALUE})")
    int maxQueued;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu")
    String device;

    @Mixin
    WeightOptions memory;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    /** Completed by Ctrl+C (the shutdown hook), or by a test. */
    final CompletableFuture<Void> stop = new CompletableFuture<>();

    /** Completed with the server once it listens (tests wait on it). */
    final CompletableFuture<OpenAiServer> started = new CompletableFuture<>();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            String key = apiKey != null ? apiKey : System.getenv(API_KEY_ENV);
            ServerOptions options;
            try {
                options = ServerOptions.defaults().withApiKey(key).withHost(host).withPort(port).withMaxQueued(maxQueued);
            } catch (IllegalArgumentException e) {
                err.println("error: " + e.getMessage());
                return 2;
            }
            if (allowFiles != null) {
                if (!Files.isDirectory(allowFiles)) {
                    err.println("error: --allow-files " + allowFiles + " is not a folder");
                    return 2;
                }
                options = options.withAllowedFolder(allowFiles);
            }
            LoadOptions load = LoadOptions.of(model).withVisionTower(visionTower).withDevice(Device.parse(device))
                    .withWeightFormat(memory.weightFormat()).withTowerMemory(memory.towerMemory());
            try (VisionChatSession session = VisionChatSession.local()) {
                ModelInfo info = session.loadModel(load, ProgressListener.NONE).join();
                try (OpenAiServer s = OpenAiServer.start(session, options, log -> { })) {
                    started.complete(s);
                    Thread hook = new Thread(() -> stop.complete(null), "convllava-serve-stop");
                    Runtime.getRuntime().addShutdownHook(hook);
                    out.println("serving " + info.name() + " at " + s.baseUri() + " (POST /chat/completions, GET /models)"
                            + (options.apiKey() != null ? "; API key required" : "") + (options.allowedFolder() != null
                            ? "; file:// images from " + options.allowedFolder() : "") + "; Ctrl+C stops");
                    out.flush();
                    stop.join();
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException e) {
                        // already shutting down: the hook is what stopped us
                    }
                }
            }
            return 0;
        } catch (IOException e) {
            err.println("error: cannot listen on " + host + ":" + port + ": " + e.getMessage());
            return 1;
        } catch (ConvLlavaException | IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }
}
