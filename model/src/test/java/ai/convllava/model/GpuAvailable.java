package ai.convllava.model;

import ai.convllava.model.diagnostics.CudaDevices;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.Optional;

/**
 * Runs a test class only where PyTorch sees a CUDA device ({@code @ExtendWith(GpuAvailable.class)}, with
 * {@code @Tag("gpu")} so that {@code tests/gpu-check.sh} can run them alone); elsewhere they are reported
 * skipped with the reason, e.g. "no CUDA device: the CPU: no NVIDIA GPU found (no NVIDIA driver found (nvidia-smi
 * is not installed or not on the PATH))", which is also printed once so it shows in the build's output.
 */
public final class GpuAvailable implements ExecutionCondition {
    private static volatile boolean told;

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<String> absent = CudaDevices.absentReason();
        if (absent.isEmpty()) {
            return ConditionEvaluationResult.enabled("CUDA device: " + CudaDevices.describeFirst().orElse("?"));
        }
        if (!told) {
            told = true;
            System.out.println("GPU tests skipped: " + absent.get());
        }
        return ConditionEvaluationResult.disabled(absent.get());
    }
}
