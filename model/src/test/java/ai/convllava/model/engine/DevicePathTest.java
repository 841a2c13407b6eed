package ai.convllava.model.engine;

import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.nn.ComputePath;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device path (the code a GPU runs: libtorch ops only, the KV cache and the sampling on the device)
 * forced onto the CPU device, against the CPU path (Java kernels, Java sampler) on the tiny fixture
 * model. In float32 both must choose the same tokens; in float16 the logits move by float16's rounding,
 * and how far is measured and bounded here (docs/bench/gpu.md has the numbers and why the bounds).
 */
class DevicePathTest {
    @Test
    void float32DevicePathChoosesTheCpuPathsGreedyTokensOverMultiTurnImageConversations() {
        List<int[]> cpu;
        try (ConvLlava m = DevicePaths.cpu()) {
            assertFalse(m.computePath().deviceOps());
            cpu = DevicePaths.conversations(m, GenerationConfig.greedy(DevicePaths.TOKENS_PER_TURN));
        }
        try (ConvLlava m = DevicePaths.devicePath(WeightFormat.F32)) {
            assertEquals(ComputePath.device(DataType.FLOAT32), m.computePath());
            try (Conversation conv = m.newConversation(64)) {
                assertEquals(DataType.FLOAT32, conv.cache.type(), "the device path's cache holds its math type");
                assertEquals(m.device(), conv.cache.device(), "the KV cache lives on the model's device");
            }
            List<int[]> device = DevicePaths.conversations(m, GenerationConfig.greedy(DevicePaths.TOKENS_PER_TURN));
            assertEquals(cpu.size(), device.size());
            int tokens = 0;
            for (int i = 0; i < cpu.size(); i++) {
                assertTrue(cpu.get(i).length > 0, "turn " + i + " generated nothing: the comparison would be empty");
                assertArrayEquals(cpu.get(i), device.get(i), "turn " + i + " (image " + DevicePaths.IMAGES.get(i / DevicePaths.QUESTIONS.size()) + ")");
                tokens += cpu.get(i).length;
            }
            // a step leaves the logits on the device: nothing of the vocabulary's row reaches the Java heap
            try (ImageFeatures f = m.encodeImage(DevicePaths.image(m, "wide.png"), null, () -> false); Conversation conv = m.newConversation(256)) {
                int[] ids = ai.convllava.model.tokenizer.ConversationPrompt.imageQuestion(DevicePaths.QUESTIONS.get(0)).inputIds(m.tokenizer());
                ConvLlava.Fed prefill = m.feed(conv, m.embedder().slotsOf(ids, f), f, null, () -> false);
                assertNull(prefill.logits(), "the prefill's logits stay on the device");
                prefill.deviceLogits().close();
                ConvLlava.Fed step = m.decodeStep(conv, cpu.get(0)[0], null, () -> false);
                assertNull(step.logits(), "a decode step's logits stay on the device");
                assertEquals(m.device(), step.deviceLogits().getDevice());
                step.deviceLogits().close();
            }
            System.out.println("device path, float32: " + tokens + " greedy tokens over " + cpu.size() + " turns equal the CPU path's");
        }
    }

    @Test
    void float16DevicePathStaysCloseToFloat32() {
        try (ConvLlava full = DevicePaths.cpu(); ConvLlava half = DevicePaths.devicePath(WeightFormat.F16)) {
            assertEquals(ComputePath.device(DataType.FLOAT16), half.computePath());
            try (Conversation conv = half.newConversation(64)) {
                assertEquals(DataType.FLOAT16, conv.cache.type());
            }
            DevicePaths.HalfVsFloat32 c = DevicePaths.halfVsFloat32(full, half);
            System.out.println("device path on the CPU, float16 vs the CPU path in float32: " + c.describe());
            // bounds from the measurement (docs/bench/gpu.md) with margin, not tuned to pass
            assertTrue(c.worstPrefill() < PREFILL_BOUND, "prefill logit error " + c.worstPrefill() + " >= " + PREFILL_BOUND);
            assertTrue(c.worstDecode() < DECODE_BOUND, "decode logit error " + c.worstDecode() + " >= " + DECODE_BOUND);
            assertTrue(c.argmaxSame() >= c.steps() - 1, "teacher-forced argmax agreement " + c.argmaxSame() + " of " + c.steps());
        }
    }

    /**
     * Measured on 2026-12-04 (docs/bench/gpu.md): prefill 0.0054, decode 0.015, with logits up to 4.9; the
     * bounds are about 4x and 3x that, about 1% of the largest logit: an op that fell back to float32 would
     * pass, but one that loses range (an overflow, a float16 softmax) or mixes up a cast moves logits by
     * far more.
     */
    static final double PREFILL_BOUND = 0.02;
    static final double DECODE_BOUND = 0.05;
}
