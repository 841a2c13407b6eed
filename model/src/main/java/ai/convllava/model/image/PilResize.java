package ai.convllava.model.image;

import ai.convllava.model.api.image.RgbImage;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * A port of Pillow's {@code Image.resize(size, Image.BICUBIC)} for 8-bit RGB images
 * ({@code src/libImaging/Resample.c}: {@code precompute_coeffs}, {@code normalize_coeffs_8bpc},
 * {@code ImagingResampleHorizontal_8bpc}, {@code ImagingResampleVertical_8bpc},
 * {@code ImagingResampleInner}), bit for bit: the same double-precision coefficients, the same
 * fixed-point rounding ({@code PRECISION_BITS = 22}), clipping to uint8 after each pass, horizontal
 * pass first over only the source rows the vertical pass needs.
 *
 * <p>ConvLLaVA was trained on canvases made by PIL, so this is the resize the model expects; Java2D's
 * bicubic neither antialiases when downscaling nor rounds the same way.
 */
public final class PilResize {
    /** 8 bits for the result, 2 for overflow (filters have negative lobes), the rest fraction. */
    static final int PRECISION_BITS = 32 - 8 - 2;
    private static final int HALF = 1 << (PRECISION_BITS - 1);
    private static final double BICUBIC_SUPPORT = 2.0;
    /** Rows per parallel task; below this much work everything runs on the calling thread. */
    private static final int CHUNK_ROWS = 16;
    private static final long PARALLEL_MIN_WORK = 1L << 20;

    private PilResize() {
    }

    /** {@code src.resize((width, height), Image.BICUBIC)}. */
    public static RgbImage bicubic(RgbImage src, int width, int height) {
        return resample(src, src.width(), src.height(), 0, 0, null, width, height);
    }

    /**
     * {@code expand2square(src, background).resize((side, side), Image.BICUBIC)}, without allocating the
     * square: the source is pasted at {@code ((s - w) // 2, (s - h) // 2)} on an {@code s x s} background,
     * {@code s = max(w, h)}, and the padding is produced row by row.
     */
    public static RgbImage padToSquareAndResize(RgbImage src, int[] background, int side) {
        int s = Math.max(src.width(), src.height());
        return resample(src, s, s, (s - src.width()) / 2, (s - src.height()) / 2, background, side, side);
    }

    /** PIL's {@code bicubic_filter}: Keys' cubic with a = -0.5. */
    static double bicubicFilter(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** Filter taps for one pass: output i reads {@code bounds[2i+1]} inputs from {@code bounds[2i]}. */
    record Coeffs(int ksize, int[] bounds, int[] kk) {
    }

    /** {@code precompute_coeffs} followed by {@code normalize_coeffs_8bpc}. */
    static Coeffs precomputeCoeffs(int inSize, float in0, float in1, int outSize) {
        double scale = (double) (in1 - in0) / outSize;
        double filterscale = scale;
        if (filterscale < 1.0) {
            filterscale = 1.0;
        }
        // support widened by the downscale factor: this is what antialiases
        double support = BICUBIC_SUPPORT * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        if ((long) outSize * ksize > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("resize too large: " + inSize + " -> " + outSize);
        }
        int[] bounds = new int[outSize * 2];
        int[] kk = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            double ss = 1.0 / filterscale;
            int xmin = (int) (center - support + 0.5); // C truncation, as (int) in Java
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            for (int x = 0; x < xmax; x++) {
                double w = bicubicFilter((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                if (ww != 0.0) {
                    k[x] /= ww;
                }
            }
            for (int x = 0; x < xmax; x++) {
                double v = k[x];
                kk[xx * ksize + x] = v < 0
                        ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                        : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return new Coeffs(ksize, bounds, kk);
    }

    /** {@code clip8}: the accumulator's integer part clamped to 0..255 (arithmetic shift, as in C). */
    static int clip8(int in) {
        int v = in >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /**
     * {@code ImagingResampleInner} on a virtual {@code inW x inH} source: {@code src} pasted at
     * (offX, offY) on {@code background} (null when the source is {@code src} itself).
     */
    private static RgbImage resample(RgbImage src, int inW, int inH, int offX, int offY, int[] background,
                                     int outW, int outH) {
        if (outW <= 0 || outH <= 0) {
            throw new IllegalArgumentException("resize target must be positive (got " + outW + " x " + outH + ")");
        }
        if ((long) outW * outH * 3 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("resize target too large (" + outW + " x " + outH + ")");
        }
        Source source = new Source(src, inW, inH, offX, offY, background);
        // need_horizontal = xsize != imIn->xsize || box[0] || box[2] != xsize, with box = (0, 0, inW, inH)
        boolean needHorizontal = outW != inW;
        boolean needVertical = outH != inH;
        if (!needHorizontal && !needVertical) {
            return new RgbImage(inW, inH, source.materialize()); // PIL copies
        }
        Coeffs vert = precomputeCoeffs(inH, 0f, (float) inH, outH);
        // first and one past the last source row the vertical pass reads
        int yboxFirst = vert.bounds[0];
        int yboxLast = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1];

        byte[] cur;
        int curW;
        if (needHorizontal) {
            Coeffs horiz = precomputeCoeffs(inW, 0f, (float) inW, outW);
            long tmpBytes = (long) outW * 3 * (yboxLast - yboxFirst);
            if (tmpBytes > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("resize too large: " + inW + " x " + inH + " -> " + outW + " x " + outH);
            }
            cur = horizontalPass(source, horiz, outW, yboxFirst, yboxLast);
            curW = outW;
            // shift bounds for the vertical pass
            for (int i = 0; i < outH; i++) {
                vert.bounds[i * 2] -= yboxFirst;
            }
        } else {
            cur = source.materialize();
            curW = inW;
        }
        if (!needVertical) {
            return new RgbImage(curW, outH, cur); // here yboxFirst = 0 and yboxLast = inH = outH
        }
        return new RgbImage(curW, outH, verticalPass(cur, curW, vert, outH));
    }

    /**
     * {@code ImagingResampleHorizontal_8bpc} over source rows [yFirst, yLast). A row of the padded
     * square is background except for the pasted source's {@code w} pixels, so its sums are the
     * background row's sums plus {@code (pixel - background) * k} over the taps that fall on the source:
     * the same integers PIL adds (integer addition does not depend on order), in O(w) per row instead
     * of O(side * taps), which for a long thin image (25 x 46341, padded to 46341 x 46341) is the
     * difference between a second and minutes.
     */
    private static byte[] horizontalPass(Source source, Coeffs c, int outW, int yFirst, int yLast) {
        int rows = yLast - yFirst;
        int outRow = outW * 3;
        byte[] out = new byte[outRow * rows];
        byte[] bgResult;
        int[] bgSums;
        if (source.hasPadding()) {
            bgResult = new byte[outRow];
            bgSums = new int[outRow];
            horizontalSums(source.backgroundRow(), 0, c, bgSums, outW);
            clipRow(bgSums, bgResult, 0, outRow);
        } else {
            bgResult = null;
            bgSums = null;
        }
        // outputs whose taps reach the pasted columns [offX, offX + w); the rest of a padded row is background
        int touchFirst = outW;
        int touchEnd = 0;
        for (int xx = 0; xx < outW; xx++) {
            int xmin = c.bounds[xx * 2];
            if (xmin < source.offX + source.src.width() && xmin + c.bounds[xx * 2 + 1] > source.offX) {
                touchFirst = Math.min(touchFirst, xx);
                touchEnd = xx + 1;
            }
        }
        int xxFirst = touchFirst;
        int xxEnd = touchEnd;
        boolean padded = !source.fullWidth();
        long taps = padded ? 4L * source.src.width() + (xxEnd - xxFirst) : (long) outW * c.ksize;
        forChunks(rows, rows * taps, (from, to) -> {
            int[] sums = padded ? null : new int[outRow];
            for (int r = from; r < to; r++) {
                int y = r + yFirst;
                int iy = y - source.offY;
                if (iy < 0 || iy >= source.src.height()) {
                    System.arraycopy(bgResult, 0, out, r * outRow, outRow); // a row of pure padding
                } else if (!padded) {
                    horizontalSums(source.src.rgb(), iy * source.inW * 3, c, sums, outW);
                    clipRow(sums, out, r * outRow, outRow);
                } else {
                    paddedRow(source, iy, c, bgSums, bgResult, out, r * outRow, outW, xxFirst, xxEnd);
                }
            }
        });
        return out;
    }

    /** One row of background with source row {@code iy} pasted at offX: only the outputs whose taps touch it change. */
    private static void paddedRow(Source source, int iy, Coeffs c, int[] bgSums, byte[] bgResult, byte[] out,
                                  int outOff, int outW, int xxFirst, int xxEnd) {
        System.arraycopy(bgResult, 0, out, outOff, outW * 3);
        int[] bounds = c.bounds;
        int[] kk = c.kk;
        int ksize = c.ksize;
        int[] bg = source.background;
        byte[] rgb = source.src.rgb();
        int from = source.offX;
        int to = source.offX + source.src.width();
        int rowOff = iy * source.src.width() * 3;
        for (int xx = xxFirst; xx < xxEnd; xx++) {
            int xmin = bounds[xx * 2];
            int xend = xmin + bounds[xx * 2 + 1];
            int a = Math.max(xmin, from);
            int b = Math.min(xend, to);
            if (a >= b) {
                continue; // every tap on background: the background row's result
            }
            int ss0 = bgSums[xx * 3];
            int ss1 = bgSums[xx * 3 + 1];
            int ss2 = bgSums[xx * 3 + 2];
            int kOff = xx * ksize - xmin;
            for (int x = a; x < b; x++) {
                int k = kk[kOff + x];
                int p = rowOff + (x - from) * 3;
                ss0 += ((rgb[p] & 0xff) - bg[0]) * k;
                ss1 += ((rgb[p + 1] & 0xff) - bg[1]) * k;
                ss2 += ((rgb[p + 2] & 0xff) - bg[2]) * k;
            }
            int o = outOff + xx * 3;
            out[o] = (byte) clip8(ss0);
            out[o + 1] = (byte) clip8(ss1);
            out[o + 2] = (byte) clip8(ss2);
        }
    }

    /** One row of the horizontal pass: PIL's fixed-point sums, before clipping to uint8. */
    private static void horizontalSums(byte[] in, int inOff, Coeffs c, int[] sums, int outW) {
        int[] bounds = c.bounds;
        int[] kk = c.kk;
        int ksize = c.ksize;
        for (int xx = 0; xx < outW; xx++) {
            int xmin = bounds[xx * 2];
            int xmax = bounds[xx * 2 + 1];
            int kOff = xx * ksize;
            int ss0 = HALF;
            int ss1 = HALF;
            int ss2 = HALF;
            int p = inOff + xmin * 3;
            for (int x = 0; x < xmax; x++, p += 3) {
                int k = kk[kOff + x];
                ss0 += (in[p] & 0xff) * k;
                ss1 += (in[p + 1] & 0xff) * k;
                ss2 += (in[p + 2] & 0xff) * k;
            }
            sums[xx * 3] = ss0;
            sums[xx * 3 + 1] = ss1;
            sums[xx * 3 + 2] = ss2;
        }
    }

    /** Clips fixed-point sums to uint8 (PIL rounds to 8 bits between the passes). */
    private static void clipRow(int[] sums, byte[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (byte) clip8(sums[i]);
        }
    }

    /**
     * {@code ImagingResampleVertical_8bpc}. Each output sample sums its taps in the same order as PIL
     * (rows ascending); the loop runs along rows for the cache, which does not change integer sums.
     */
    private static byte[] verticalPass(byte[] in, int width, Coeffs c, int outH) {
        int row = width * 3;
        byte[] out = new byte[row * outH];
        int[] bounds = c.bounds;
        int[] kk = c.kk;
        int ksize = c.ksize;
        forChunks(outH, (long) outH * width * ksize, (from, to) -> {
            int[] acc = new int[row];
            for (int yy = from; yy < to; yy++) {
                int ymin = bounds[yy * 2];
                int ymax = bounds[yy * 2 + 1];
                Arrays.fill(acc, HALF);
                for (int y = 0; y < ymax; y++) {
                    int k = kk[yy * ksize + y];
                    int base = (ymin + y) * row;
                    for (int i = 0; i < row; i++) {
                        acc[i] += (in[base + i] & 0xff) * k;
                    }
                }
                int o = yy * row;
                for (int i = 0; i < row; i++) {
                    out[o + i] = (byte) clip8(acc[i]);
                }
            }
        });
        return out;
    }

    @FunctionalInterface
    private interface RowRange {
        void run(int from, int to);
    }

    private static void forChunks(int rows, long work, RowRange body) {
        if (work < PARALLEL_MIN_WORK || rows <= CHUNK_ROWS) {
            body.run(0, rows);
            return;
        }
        int chunks = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
        IntStream.range(0, chunks).parallel()
                .forEach(i -> body.run(i * CHUNK_ROWS, Math.min(rows, (i + 1) * CHUNK_ROWS)));
    }

    /** The virtual source image: {@code src} at (offX, offY) on an {@code inW x inH} background. */
    private static final class Source {
        final RgbImage src;
        final int inW;
        final int inH;
        final int offX;
        final int offY;
        final int[] background;

        Source(RgbImage src, int inW, int inH, int offX, int offY, int[] background) {
            boolean padded = inW != src.width() || inH != src.height();
            if (padded && (background == null || background.length != 3)) {
                throw new IllegalArgumentException("padding needs a 3-channel background colour");
            }
            if (offX < 0 || offY < 0 || offX + src.width() > inW || offY + src.height() > inH) {
                throw new IllegalArgumentException("pasted image does not fit the canvas");
            }
            if ((long) inW * 3 > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("image too wide: " + inW);
            }
            this.src = src;
            this.inW = inW;
            this.inH = inH;
            this.offX = offX;
            this.offY = offY;
            this.background = background;
        }

        boolean hasPadding() {
            return inW != src.width() || inH != src.height();
        }

        /** Rows of the source are rows of {@code src.rgb()} as they are. */
        boolean fullWidth() {
            return inW == src.width();
        }

        byte[] backgroundRow() {
            byte[] row = new byte[inW * 3];
            for (int i = 0; i < row.length; i += 3) {
                row[i] = (byte) background[0];
                row[i + 1] = (byte) background[1];
                row[i + 2] = (byte) background[2];
            }
            return row;
        }

        byte[] materialize() {
            if (!hasPadding()) {
                return src.rgb().clone();
            }
            long n = (long) inW * inH * 3;
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("image too large: " + inW + " x " + inH);
            }
            byte[] bg = backgroundRow();
            byte[] out = new byte[(int) n];
            int row = inW * 3;
            int w3 = src.width() * 3;
            for (int y = 0; y < inH; y++) {
                System.arraycopy(bg, 0, out, y * row, row);
                int iy = y - offY;
                if (iy >= 0 && iy < src.height()) {
                    System.arraycopy(src.rgb(), iy * w3, out, y * row + offX * 3, w3);
                }
            }
            return out;
        }
    }
}
