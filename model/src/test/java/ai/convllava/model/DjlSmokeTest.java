package ai.convllava.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DjlSmokeTest {
    @Test
    void pytorchEngineRunsOffline() {
        assertEquals("PyTorch", Engine.getInstance().getEngineName());
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {1, 2, 3, 4}, new ai.djl.ndarray.types.Shape(2, 2));
            NDArray b = a.matMul(a);
            assertEquals(7f, b.getFloat(0, 0));
        }
    }
}
