package ai.convllava.model.config;

import ai.convllava.model.spi.WeightSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A ConvLLaVA model folder as users have it on disk, and the search for its vision tower.
 * {@code mm_vision_tower} is resolved, in order, as: an absolute path; a folder of that name (or
 * its last path segment) beside or inside the model folder; the Hugging Face cache
 * ({@code $HF_HUB_CACHE}, {@code $HF_HOME/hub} or {@code ~/.cache/huggingface/hub},
 * {@code models--Org--Name/snapshots/<rev>/}); and if none is found, the encoder weights inside the
 * main shards with the 5-stage shape inferred from those weights.
 */
public final class ModelFolder {
    private static final Pattern STAGE_LAYER = Pattern.compile("encoder\\.stages\\.(\\d+)\\.layers\\.(\\d+)\\.dwconv\\.weight");
    private static final Pattern TRAILING_NUMBER = Pattern.compile("(\\d{3,4})(?!.*\\d)");

    private final Path dir;
    private final LlavaConfig config;

    private ModelFolder(Path dir, LlavaConfig config) {
        this.dir = dir;
        this.config = config;
    }

    /** A model described in memory (synthetic benchmarks); {@code dir} is only used in messages. */
    public static ModelFolder of(Path dir, LlavaConfig config) {
        return new ModelFolder(dir, config);
    }

    /** Reads and validates config.json of a ConvLLaVA-sft folder. */
    public static ModelFolder open(Path dir) {
        if (dir == null || !Files.isDirectory(dir)) {
            throw new ConfigException("model folder " + dir + " does not exist or is not a folder");
        }
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            throw new ConfigException(dir + " has no config.json: choose the ConvLLaVA-sft-768/1024/1536 folder itself");
        }
        return new ModelFolder(dir.toAbsolutePath().normalize(), LlavaConfig.read(cfg));
    }

    public Path dir() {
        return dir;
    }

    public LlavaConfig config() {
        return config;
    }

    /** The separate vision-tower folder if one is found (see class comment), else empty. */
    public Optional<Path> findVisionTowerFolder(Map<String, String> env, Path userHome) {
        for (Path candidate : towerCandidates(env, userHome)) {
            if (Files.isRegularFile(candidate.resolve("config.json")) && hasWeights(candidate)) {
                return Optional.of(candidate.toAbsolutePath().normalize());
            }
        }
        return Optional.empty();
    }

    /** Every place looked at, in order; also used to tell the user where we searched. */
    public List<Path> towerCandidates(Map<String, String> env, Path userHome) {
        String name = config.mmVisionTower();
        List<Path> out = new ArrayList<>();
        Path asPath = safePath(name);
        if (asPath != null && asPath.isAbsolute()) {
            out.add(asPath);
        }
        String last = lastSegment(name);
        for (String n : new String[] {name, last}) {
            Path p = safePath(n);
            if (p == null || p.isAbsolute() || n.isEmpty()) {
                continue;
            }
            add(out, dir.resolveSibling(n));
            add(out, dir.resolve(n));
        }
        for (Path hub : hubCaches(env, userHome)) {
            String repo = name.contains("/") ? name : "ConvLLaVA/" + last;
            addSnapshots(out, hub.resolve("models--" + repo.replace("/", "--")));
            if (!name.contains("/")) {
                try (Stream<Path> s = Files.isDirectory(hub) ? Files.list(hub) : Stream.empty()) {
                    s.filter(p -> p.getFileName().toString().endsWith("--" + last)).sorted().forEach(p -> addSnapshots(out, p));
                } catch (IOException ignored) {
                    // an unreadable cache is the same as no cache
                }
            }
        }
        return out;
    }

    private static void add(List<Path> out, Path p) {
        if (!out.contains(p)) {
            out.add(p);
        }
    }

    private static Path safePath(String s) {
        try {
            return Path.of(s);
        } catch (RuntimeException e) {
            return null;
        }
    }

    static List<Path> hubCaches(Map<String, String> env, Path userHome) {
        List<Path> out = new ArrayList<>();
        if (env.get("HF_HUB_CACHE") != null) {
            out.add(Path.of(env.get("HF_HUB_CACHE")));
        }
        if (env.get("HF_HOME") != null) {
            out.add(Path.of(env.get("HF_HOME"), "hub"));
        }
        if (env.get("XDG_CACHE_HOME") != null) {
            out.add(Path.of(env.get("XDG_CACHE_HOME"), "huggingface", "hub"));
        }
        if (userHome != null) {
            out.add(userHome.resolve(".cache").resolve("huggingface").resolve("hub"));
        }
        return out;
    }

    /** The snapshot named by refs/main first, then the others, newest first. */
    private static void addSnapshots(List<Path> out, Path repoDir) {
        Path snaps = repoDir.resolve("snapshots");
        if (!Files.isDirectory(snaps)) {
            return;
        }
        try {
            Path ref = repoDir.resolve("refs").resolve("main");
            if (Files.isRegularFile(ref)) {
                String rev = Files.readString(ref).trim();
                if (rev.matches("[0-9a-fA-F]{6,64}")) {
                    add(out, snaps.resolve(rev));
                }
            }
            try (Stream<Path> s = Files.list(snaps)) {
                s.filter(Files::isDirectory)
                        .sorted(Comparator.comparing((Path p) -> p.toFile().lastModified()).reversed())
                        .forEach(p -> add(out, p));
            }
        } catch (IOException ignored) {
            // unreadable snapshot folder: not a candidate
        }
    }

    private static boolean hasWeights(Path folder) {
        for (String f : new String[] {"model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json"}) {
            if (Files.isRegularFile(folder.resolve(f))) {
                return true;
            }
        }
        return false;
    }

    /** The vision tower read from a separate ConvLLaVA-ConvNeXt folder. */
    public VisionTower separateTower(Path folder, String why) {
        if (!Files.isRegularFile(folder.resolve("config.json")) || !hasWeights(folder)) {
            throw new ConfigException("vision tower folder " + folder + " has no " + (Files.isRegularFile(folder.resolve("config.json"))
                    ? "pytorch_model.bin or model.safetensors" : "config.json") + ": choose the ConvLLaVA-ConvNeXt folder that matches "
                    + dir.getFileName() + " (mm_vision_tower=" + config.mmVisionTower() + ")");
        }
        ConvNextConfig vc = ConvNextConfig.read(folder.resolve("config.json"));
        checkTowerWidth(vc, folder.resolve("config.json").toString());
        Path pre = folder.resolve("preprocessor_config.json");
        PreprocessorConfig pc = Files.isRegularFile(pre) ? PreprocessorConfig.read(pre) : PreprocessorConfig.clip(vc.imageSize());
        return new VisionTower(VisionTower.Source.SEPARATE_FOLDER, folder, "", vc, pc,
                "vision tower: " + folder + " (" + why + "), " + vc.numStages() + " stages " + Arrays.toString(vc.hiddenSizes())
                        + ", canvas " + pc.canvasSide());
    }

    /**
     * The encoder weights inside the main shards ({@code model.vision_tower.vision_tower.*}), with
     * depths and widths inferred from the weights; the canvas side comes from {@code canvasOverride}
     * (&gt; 0), else the number ending mm_vision_tower or the folder name (ConvLLaVA-ConvNeXt-1536).
     */
    public VisionTower embeddedTower(WeightSource weights, int canvasOverride) {
        String prefix = VisionTower.EMBEDDED_PREFIX;
        TreeMap<Integer, Integer> depths = new TreeMap<>();
        TreeMap<Integer, Integer> widths = new TreeMap<>();
        for (String key : weights.keys()) {
            if (!key.startsWith(prefix)) {
                continue;
            }
            Matcher m = STAGE_LAYER.matcher(key.substring(prefix.length()));
            if (m.matches()) {
                int stage = Integer.parseInt(m.group(1));
                int layer = Integer.parseInt(m.group(2));
                depths.merge(stage, layer + 1, Math::max);
                widths.put(stage, (int) weights.info(key).shape()[0]);
            }
        }
        String stem = prefix + "embeddings.patch_embeddings.weight";
        if (depths.isEmpty() || !weights.contains(stem)) {
            throw new ConfigException("no vision tower found for mm_vision_tower=" + config.mmVisionTower()
                    + ": no folder of that name beside or inside " + dir + " nor in the Hugging Face cache, and the model's weights"
                    + " hold no encoder (" + prefix + "*). Download ConvLLaVA/" + lastSegment(config.mmVisionTower())
                    + " next to the model folder or pass --vision-tower DIR.");
        }
        int n = depths.lastKey() + 1;
        if (depths.size() != n) {
            throw new ConfigException(weights.describe() + ": encoder stages " + depths.keySet() + " are not contiguous from 0");
        }
        int[] d = new int[n];
        int[] w = new int[n];
        for (int i = 0; i < n; i++) {
            d[i] = depths.get(i);
            w[i] = widths.get(i);
        }
        long[] stemShape = weights.info(stem).shape();
        int side = canvasOverride > 0 ? canvasOverride : inferCanvas();
        ConvNextConfig vc = new ConvNextConfig(3, (int) stemShape[stemShape.length - 1], w, d,
                weights.contains(prefix + "encoder.stages.0.layers.0.layer_scale_parameter"), side);
        checkTowerWidth(vc, weights.describe());
        return new VisionTower(VisionTower.Source.EMBEDDED_IN_MODEL, null, prefix, vc, PreprocessorConfig.clip(side),
                "vision tower: encoder weights inside the model shards (" + prefix + "*; no folder " + config.mmVisionTower()
                        + " found), inferred " + n + " stages depths " + Arrays.toString(d) + " widths "
                        + Arrays.toString(w) + ", canvas " + side + (canvasOverride > 0 ? " (given)" : " (from the name)"));
    }

    private int inferCanvas() {
        for (String s : new String[] {lastSegment(config.mmVisionTower()), dir.getFileName().toString()}) {
            Matcher m = TRAILING_NUMBER.matcher(s);
            if (m.find()) {
                int v = Integer.parseInt(m.group(1));
                if (v >= 64 && v % 64 == 0) {
                    return v;
                }
            }
        }
        throw new ConfigException("cannot tell the image size of the embedded vision tower from mm_vision_tower="
                + config.mmVisionTower() + " or the folder name " + dir.getFileName()
                + ": pass the canvas side (e.g. --canvas 1536) or the ConvLLaVA-ConvNeXt folder (--vision-tower DIR)");
    }

    private void checkTowerWidth(ConvNextConfig vc, String where) {
        if (vc.outputSize() != config.mmHiddenSize()) {
            throw new ConfigException(where + ": the vision tower's last width " + vc.outputSize() + " does not match mm_hidden_size="
                    + config.mmHiddenSize() + " in " + config.file() + ": this tower belongs to another model size");
        }
    }

    static String lastSegment(String name) {
        String s = name.replace('\\', '/');
        return s.substring(s.lastIndexOf('/') + 1);
    }
}
