package ai.convllava.model.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading a large tensor into the Java heap leaves no tensor-sized C buffer behind on the reading thread. */
class FileReadsTest {
    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream().filter(p -> p.getName().equals("direct"))
                .mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }

    @Test
    void aLargeReadGoesInPiecesAndKeepsNoLargeDirectBuffer(@TempDir Path dir) throws Exception {
        int size = 48 << 20;
        byte[] content = new byte[size];
        for (int i = 0; i < size; i++) {
            content[i] = (byte) (i * 31 + (i >>> 13));
        }
        Path file = dir.resolve("weights.bin");
        Files.write(file, content);
        AtomicLong kept = new AtomicLong();
        byte[][] read = new byte[2][];
        Throwable[] failed = new Throwable[1];
        // a fresh thread: the JDK's per-thread cache of temporary direct buffers starts empty
        Thread t = new Thread(() -> {
            try (MappedFile f = MappedFile.open(file)) {
                long before = directBytes();
                ByteBuffer heap = ByteBuffer.allocate(size - 100);
                f.readFully(100, heap, "a tensor");
                read[0] = heap.array();
                read[1] = f.read(0, size, "the whole file").array();
                kept.set(directBytes() - before);
            } catch (Throwable e) {
                failed[0] = e;
            }
        });
        t.start();
        t.join();
        if (failed[0] != null) {
            throw new AssertionError(failed[0]);
        }
        assertArrayEquals(java.util.Arrays.copyOfRange(content, 100, size), read[0]);
        assertArrayEquals(content, read[1]);
        assertTrue(kept.get() <= 2L * FileReads.PIECE, "direct memory kept after reading 48 MB: " + kept.get() + " bytes");
    }

    @Test
    void aReadIntoADirectBufferIsOneCall(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("small.bin");
        Files.write(file, new byte[] {1, 2, 3, 4, 5});
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            ByteBuffer d = ByteBuffer.allocateDirect(5);
            assertTrue(FileReads.read(ch, d, 0) == 5);
        }
    }
}
