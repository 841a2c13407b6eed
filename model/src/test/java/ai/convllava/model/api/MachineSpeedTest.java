package ai.convllava.model.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The speed estimate against the bench's own results, its scaling, bad inputs, and a real measurement. */
class MachineSpeedTest {
    @Test
    void reproducesTheBenchOnTheMachineItWasCalibratedOn() {
        // docs/bench/convllava-1536-layers4*.json: reads 16.7-18.6 GB/s, GEMM probe 100-114 GFLOP/s;
        // measured: first answer 107-137 s, decode 0.71-0.87 tokens/s
        MachineSpeed.Estimate e = new MachineSpeed(17.7, 107).estimate(1536, 576);
        assertTrue(e.firstAnswerSeconds() > 107 && e.firstAnswerSeconds() < 137, "first answer " + e.firstAnswerSeconds());
        assertTrue(e.decodeTokensPerSecond() > 0.71 && e.decodeTokensPerSecond() < 0.87, "decode " + e.decodeTokensPerSecond());
        assertEquals("first answer ~2.2 min, then ~0.8 tokens/s", e.describe());
    }

    @Test
    void decodeFollowsBandwidthAndTheFirstAnswerFollowsCompute() {
        MachineSpeed base = new MachineSpeed(20, 100);
        MachineSpeed.Estimate e = base.estimate(1536, 576);
        MachineSpeed.Estimate fasterMemory = new MachineSpeed(40, 100).estimate(1536, 576);
        MachineSpeed.Estimate fasterCores = new MachineSpeed(20, 400).estimate(1536, 576);
        assertEquals(2 * e.decodeTokensPerSecond(), fasterMemory.decodeTokensPerSecond(), 1e-9);
        assertEquals(e.firstAnswerSeconds(), fasterMemory.firstAnswerSeconds(), 1e-9);
        assertEquals(e.firstAnswerSeconds() / 4, fasterCores.firstAnswerSeconds(), 1e-9);
        assertTrue(base.estimate(768, 144).firstAnswerSeconds() < base.estimate(1024, 256).firstAnswerSeconds());
        assertTrue(base.estimate(1024, 256).firstAnswerSeconds() < e.firstAnswerSeconds());
        assertEquals("first answer ~17 s, then ~2.0 tokens/s", new MachineSpeed(45, 250).estimate(768, 144).describe(),
                "seconds under a minute and a half");
    }

    @Test
    void quantizedDecodeIsBoundByItsKernelsOrByTheBandwidthWhicheverIsSlower() {
        // the bench's machine on 2026-12-04: 66 GB/s of reads, 180 GFLOP/s; q8_0 decoded at 2.06 tokens/s, q4_k at 1.70
        MachineSpeed fast = new MachineSpeed(66, 180);
        assertEquals(2.06, fast.estimate(1536, 576, WeightFormat.Q8_0).decodeTokensPerSecond(), 0.1);
        assertEquals(1.70, fast.estimate(1536, 576, WeightFormat.Q4_K).decodeTokensPerSecond(), 0.1);
        assertEquals(fast.estimate(1536, 576).decodeTokensPerSecond(), fast.estimate(1536, 576, WeightFormat.F16).decodeTokensPerSecond(), 1e-9);
        assertEquals(fast.estimate(1536, 576).firstAnswerSeconds(), fast.estimate(1536, 576, WeightFormat.Q4_K).firstAnswerSeconds(), 1e-9);
        // slow memory: every format reads at the same share of the bandwidth, so fewer bytes decode faster
        MachineSpeed slowMemory = new MachineSpeed(8, 180);
        double f16 = slowMemory.estimate(1536, 576, WeightFormat.F16).decodeTokensPerSecond();
        double q8 = slowMemory.estimate(1536, 576, WeightFormat.Q8_0).decodeTokensPerSecond();
        assertEquals(2 / WeightFormat.Q8_0.bytesPerWeight(), q8 / f16, 1e-9);
    }

    @Test
    void badFiguresAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new MachineSpeed(0, 100));
        assertThrows(IllegalArgumentException.class, () -> new MachineSpeed(20, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new MachineSpeed(Double.POSITIVE_INFINITY, 100));
        assertThrows(IllegalArgumentException.class, () -> new MachineSpeed(20, 100).estimate(0, 576));
    }

    @Test
    void measuresThisMachine() {
        MachineSpeed m = MachineSpeed.measure();
        assertTrue(m.readBandwidthGbs() > 0.5 && m.readBandwidthGbs() < 2000, m.describe());
        assertTrue(m.gemmGflops() > 1 && m.gemmGflops() < 100_000, m.describe());
    }
}
