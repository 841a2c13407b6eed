package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.Goldens;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The memory a streamed tower's blocks read their linear weights into, block after block. */
class BlockArenaTest {
    @Test
    void slicesAreAlignedAndAResetStartsAgainAtTheFront() {
        BlockArena arena = new BlockArena(1000);
        ByteBuffer a = arena.take("a", 10);
        ByteBuffer b = arena.take("b", 100);
        assertEquals(10, a.capacity());
        assertEquals(100, b.capacity());
        a.put(0, (byte) 7);
        b.put(0, (byte) 9);
        arena.reset();
        ByteBuffer again = arena.take("c", 64);
        assertEquals(7, again.get(0), "the first slice of every block is the same memory");
        assertEquals(9, arena.take("d", 1).get(0), "the second starts at the next 64-byte boundary (64), where b did");
    }

    @Test
    void aBlockTooBigForTheArenaIsRefusedWithTheNumbers() {
        BlockArena arena = new BlockArena(256);
        arena.take("first", 100);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> arena.take("pwconv2.weight", 200));
        assertTrue(e.getMessage().contains("pwconv2.weight") && e.getMessage().contains("256") && e.getMessage().contains("128")
                && e.getMessage().contains("200"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new BlockArena(0));
    }

    @Test
    void itHoldsTheWidestStagesTwoLinearsInTheStreamedFormat() {
        ConvNextConfig c = ConvNextConfig.read(Goldens.TINY.resolve("tiny-convllava-convnext/config.json"));
        int widest = 0;
        for (int s = 0; s < c.numStages(); s++) {
            widest = Math.max(widest, c.hiddenSize(s));
        }
        assertEquals(2 * (4L * widest * widest * 2 + 64), BlockArena.bytesFor(c, WeightFormat.F16));
        assertEquals(2 * (4L * widest * widest * 4 + 64), BlockArena.bytesFor(c, WeightFormat.F32));
    }

    /** Weights read into the arena are the ones read into new memory, block after block, whatever the format. */
    @Test
    void weightsReadIntoTheArenaEqualThoseReadIntoNewMemory() {
        String prefix = "encoder.stages.3.layers.0.";
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(Goldens.TINY.resolve("tiny-convllava-convnext"));
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            ConvNextConfig c = ConvNextConfig.read(Goldens.TINY.resolve("tiny-convllava-convnext/config.json"));
            long width = ckpt.info(prefix + "dwconv.weight").shape()[0];
            for (WeightFormat format : new WeightFormat[] {WeightFormat.F16, WeightFormat.F32}) {
                BlockArena arena = new BlockArena(BlockArena.bytesFor(c, format));
                // small load blocks, so the big linears are also filled piece by piece
                Weights root = new Weights(ckpt, m, format, "tower", List.of(), LoadListener.NONE, () -> false, 64);
                for (int round = 0; round < 2; round++) { // the second round reuses the memory the first one filled
                    try (NDManager fresh = m.newSubManager(); NDManager inArena = m.newSubManager()) {
                        Weights plain = root.streaming(fresh, format);
                        Weights arenaBacked = root.streaming(inArena, format, arena);
                        for (String key : new String[] {"pwconv1.weight", "pwconv2.weight"}) {
                            long out = key.startsWith("pwconv1") ? 4 * width : width;
                            long in = key.startsWith("pwconv1") ? width : 4 * width;
                            NDArray want = plain.linear(prefix + key, out, in);
                            NDArray got = arenaBacked.linear(prefix + key, out, in);
                            assertEquals(want.getDataType(), got.getDataType());
                            assertEquals(want.getShape(), got.getShape());
                            assertArrayEquals(want.toType(DataType.FLOAT32, false).toFloatArray(),
                                    got.toType(DataType.FLOAT32, false).toFloatArray(), format + " " + key);
                        }
                    }
                }
            }
        }
    }
}
