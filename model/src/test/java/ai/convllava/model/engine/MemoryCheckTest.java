package ai.convllava.model.engine;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.Goldens;
import ai.convllava.model.nn.LoadListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Out-of-memory is predicted from the configs and reported before loading. */
class MemoryCheckTest {
    @AfterEach
    void clear() {
        System.clearProperty("convllava.availableMemory");
        System.clearProperty("convllava.skipMemoryCheck");
    }

    @Test
    void aModelThatCannotFitIsRefusedBeforeLoadingWithTheNumbers() {
        System.setProperty("convllava.availableMemory", String.valueOf(200L << 20));
        ConvLlavaException e = assertThrows(ConvLlavaException.class, () -> ModelLoader.load(
                LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU), LoadListener.NONE, () -> false));
        assertTrue(e.getMessage().contains("needs about") && e.getMessage().contains("is available")
                && e.getMessage().contains("skipMemoryCheck"), e.getMessage());
        System.setProperty("convllava.skipMemoryCheck", "true");
        try (ConvLlava m = ModelLoader.load(LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU), LoadListener.NONE,
                () -> false)) {
            assertTrue(m.numLayers() == 2);
        }
    }
}
