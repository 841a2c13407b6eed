package ai.convllava.bench;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.WeightFormat;

import java.nio.file.Path;

/**
 * What {@link BenchRunner} measures.
 *
 * @param modelSize      768, 1024 or 1536 (the canvas), or 0 for {@code custom}
 * @param custom         a model to use instead of the published shapes (tests); null for the published ones
 * @param layers         decoder layers actually run; fewer than the model's means a quick run whose
 *                       LLM numbers are extrapolated to the full depth (needs at least 2)
 * @param weightFormat   LLM weights in memory, null = the engine's choice (F16 for 7B)
 * @param fromDisk       write (once) and load a synthetic BF16 safetensors checkpoint in this folder; null = in memory
 * @param decodeTokens   tokens generated for the decode rate (64)
 * @param machineBytes   array size for the bandwidth probe (0 skips the machine probe)
 * @param gemmSize       n of the n x n float32 GEMM probe
 * @param device         where the model runs (AUTO: a GPU when PyTorch sees one)
 * @param devicePathOnCpu the GPU's code (libtorch ops only, sampling on the device) on the CPU device, to measure or check it
 *                       without a GPU
 * @param contextTokens  KV-cache positions each conversation reserves up front (0: the session's default, doubled as needed)
 */
public record BenchOptions(int modelSize, SyntheticModel custom, int layers, long seed, WeightFormat weightFormat, Path fromDisk,
                           int decodeTokens, long machineBytes, int gemmSize, TowerMemory towerMemory, Device device, boolean devicePathOnCpu,
                           int contextTokens) {
    public BenchOptions(int modelSize, SyntheticModel custom, int layers, long seed, WeightFormat weightFormat, Path fromDisk,
                        int decodeTokens, long machineBytes, int gemmSize) {
        this(modelSize, custom, layers, seed, weightFormat, fromDisk, decodeTokens, machineBytes, gemmSize, TowerMemory.AUTO, Device.CPU, false, 0);
    }

    public BenchOptions {
        if (towerMemory == null) {
            towerMemory = TowerMemory.AUTO;
        }
        if (device == null) {
            device = Device.CPU;
        }
        if (devicePathOnCpu && device != Device.CPU) {
            throw new IllegalArgumentException("--device-path runs the GPU's code on the CPU device; it does not go with --device " + device);
        }
        if (custom == null && modelSize != 768 && modelSize != 1024 && modelSize != 1536) {
            throw new IllegalArgumentException("--model-size must be 768, 1024 or 1536 (got " + modelSize + ")");
        }
        if (contextTokens < 0) {
            throw new IllegalArgumentException("--context-tokens must be >= 0 (got " + contextTokens + ")");
        }
        if (decodeTokens < 2) {
            throw new IllegalArgumentException("decode tokens must be at least 2 (got " + decodeTokens + ")");
        }
    }

    public static BenchOptions of(int modelSize) {
        return new BenchOptions(modelSize, null, 0, 42, null, null, 64, 1L << 30, 2048);
    }

    public SyntheticModel model() {
        return custom != null ? custom : SyntheticModel.convLlava(modelSize);
    }

    /** Layers run: {@code layers} when in (0, full), else the full depth. */
    public int layersRun() {
        int full = model().config().llm().numHiddenLayers();
        return layers > 0 && layers < full ? layers : full;
    }

    public BenchOptions withLayers(int n) {
        return new BenchOptions(modelSize, custom, n, seed, weightFormat, fromDisk, decodeTokens, machineBytes, gemmSize, towerMemory, device, devicePathOnCpu, contextTokens);
    }

    public BenchOptions withFromDisk(Path dir) {
        return new BenchOptions(modelSize, custom, layers, seed, weightFormat, dir, decodeTokens, machineBytes, gemmSize, towerMemory, device, devicePathOnCpu, contextTokens);
    }

    public BenchOptions withWeightFormat(WeightFormat f) {
        return new BenchOptions(modelSize, custom, layers, seed, f, fromDisk, decodeTokens, machineBytes, gemmSize, towerMemory, device, devicePathOnCpu, contextTokens);
    }

    public BenchOptions withSeed(long s) {
        return new BenchOptions(modelSize, custom, layers, s, weightFormat, fromDisk, decodeTokens, machineBytes, gemmSize, towerMemory, device, devicePathOnCpu, contextTokens);
    }

    public BenchOptions withDecodeTokens(int n) {
        return new BenchOptions(modelSize, custom, layers, seed, weightFormat, fromDisk, n, machineBytes, gemmSize, towerMemory, device, devicePathOnCpu, contextTokens);
    }

    public BenchOptions withMachineProbe(long bytes, int gemm) {
        return new BenchOptions(modelSize, custom, layers, seed, weightFormat, fromDisk, decodeTokens, bytes, gemm, towerMemory, device, devicePathOnCpu, contextTokens);
    }

    public BenchOptions withTowerMemory(TowerMemory t) {
        return new BenchOptions(modelSize, custom, layers, seed, weightFormat, fromDisk, decodeTokens, machineBytes, gemmSize, t, device, devicePathOnCpu, contextTokens);
    }

    public BenchOptions withDevice(Device d) {
        return new BenchOptions(modelSize, custom, layers, seed, weightFormat, fromDisk, decodeTokens, machineBytes, gemmSize, towerMemory, d,
                devicePathOnCpu, contextTokens);
    }

    public BenchOptions withDevicePathOnCpu(boolean on) {
        return new BenchOptions(modelSize, custom, layers, seed, weightFormat, fromDisk, decodeTokens, machineBytes, gemmSize, towerMemory,
                on ? Device.CPU : device, on, contextTokens);
    }

    public BenchOptions withContextTokens(int tokens) {
        return new BenchOptions(modelSize, custom, layers, seed, weightFormat, fromDisk, decodeTokens, machineBytes, gemmSize, towerMemory, device,
                devicePathOnCpu, tokens);
    }

    public static BenchOptions custom(SyntheticModel m) {
        return new BenchOptions(0, m, 0, 42, null, null, 64, 1L << 30, 2048);
    }
}
