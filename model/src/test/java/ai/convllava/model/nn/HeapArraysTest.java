package ai.convllava.model.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeapArraysTest {
    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream().filter(b -> b.getName().equals("direct"))
                .mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }

    @Test
    void eachTensorKeepsItsValuesWhenTheBufferIsReused() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            float[] a = {1, 2, 3, 4, 5, 6};
            float[] b = {-1, -2, -3, -4, -5, -6};
            NDArray ta = HeapArrays.toTensor(m, a, new Shape(2, 3));
            NDArray tb = HeapArrays.toTensor(m, b, new Shape(3, 2));
            assertEquals(new Shape(2, 3), ta.getShape());
            assertArrayEquals(a, ta.toFloatArray(), "the first tensor is its own copy, not a view of the reused buffer");
            assertArrayEquals(b, tb.toFloatArray());
            float[] big = new float[HeapArrays.MAX_REUSED_FLOATS + 1];
            big[big.length - 1] = 7;
            assertEquals(7, HeapArrays.toTensor(m, big, new Shape(big.length)).toFloatArray()[big.length - 1]);
        }
    }

    @Test
    void manyTensorsLeaveNoDirectMemoryBehind() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            float[] y = new float[17 * 11008]; // a 17-token prompt through an MLP projection
            HeapArrays.toTensor(m, y, new Shape(17, 11008)).close(); // the thread's buffer
            long before = directBytes();
            for (int i = 0; i < 300; i++) {
                HeapArrays.toTensor(m, y, new Shape(17, 11008)).close();
            }
            // at most what was there: a GC during the loop may free direct buffers that earlier tests left
            long after = directBytes();
            assertTrue(after <= before, "direct memory grew from " + before + " to " + after
                    + " bytes: DJL's create(float[]) would leave up to 300 x 750 KB here until a GC");
        }
    }
}
