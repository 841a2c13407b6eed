package ai.convllava.model.reliability;

import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImagePreprocessor;
import ai.convllava.model.image.PilResize;
import ai.convllava.model.api.image.RgbImage;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Found by {@link ImageFuzzTest} (seed 20240607, case 722: a GIF lying that its frame is 25 x 46341):
 * pad mode resized every row of the 46341 x 46341 padded square over all its columns, 45 s for a
 * 1.2-megapixel image. Padded rows now add only the pasted pixels' difference from the background;
 * the result must stay bit-identical to PIL's resize of the materialized square.
 */
class PaddedResizeRegressionTest {
    static final int[] BG = {122, 116, 104};

    static RgbImage noise(int w, int h, Random rnd) {
        byte[] b = new byte[w * h * 3];
        rnd.nextBytes(b);
        return new RgbImage(w, h, b);
    }

    /** expand2square done the obvious way. */
    static RgbImage square(RgbImage src) {
        int s = Math.max(src.width(), src.height());
        RgbImage sq = RgbImage.filled(s, s, BG[0], BG[1], BG[2]);
        int ox = (s - src.width()) / 2;
        int oy = (s - src.height()) / 2;
        for (int y = 0; y < src.height(); y++) {
            System.arraycopy(src.rgb(), y * src.width() * 3, sq.rgb(), ((oy + y) * s + ox) * 3, src.width() * 3);
        }
        return sq;
    }

    @Test
    void paddedResizeIsBitIdenticalToResizingTheSquare() {
        Random rnd = new Random(7);
        int[][] sizes = {{1, 300}, {300, 1}, {25, 700}, {700, 25}, {33, 64}, {64, 33}, {199, 200}, {3, 3}, {5, 900}, {512, 77}};
        for (int[] wh : sizes) {
            RgbImage src = noise(wh[0], wh[1], rnd);
            for (int side : new int[] {64, 256, 1000}) {
                RgbImage expected = PilResize.bicubic(square(src), side, side);
                assertEquals(expected, PilResize.padToSquareAndResize(src, BG, side), wh[0] + " x " + wh[1] + " -> " + side);
            }
        }
    }

    /**
     * A 25 x 46341 strip: expand2square would make a 46341 x 46341 square (6.4 GB as RGB). The padded
     * resize must never build it: what the thread allocates stays far below that, whatever the machine's speed.
     */
    @Test
    void longThinImageInPadModeNeverBuildsTheSquare() {
        RgbImage strip = noise(25, 46341, new Random(1));
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(tid);
        long t0 = System.nanoTime();
        ImagePreprocessor.clip(256).preprocess(strip, CanvasMode.PAD);
        ImagePreprocessor.clip(1536).preprocess(strip, CanvasMode.PAD);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;
        System.out.println("[report] 25 x 46341 pad-mode preprocess (canvas 256 and 1536): " + (System.nanoTime() - t0) / 1_000_000
                + " ms, " + allocated / (1 << 20) + " MiB allocated");
        assertTrue(allocated < (1L << 30), "allocated " + allocated + " bytes: the 6.4 GB square, or a copy as large as the strip times the canvas");
    }
}
