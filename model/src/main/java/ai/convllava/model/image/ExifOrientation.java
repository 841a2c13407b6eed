package ai.convllava.model.image;

import ai.convllava.model.api.image.RgbImage;

/**
 * The EXIF orientation tag (0x0112) of a JPEG, read from its APP1 "Exif" segment, and the transform
 * that undoes it (what PIL's {@code ImageOps.exif_transpose} does). Anything malformed reads as 1
 * (upright): a bad tag must never stop an image from loading.
 */
final class ExifOrientation {
    private static final int TAG_ORIENTATION = 0x0112;
    private static final int TYPE_SHORT = 3;

    private ExifOrientation() {
    }

    /** Orientation 1..8 from the start of a JPEG file ({@code len} valid bytes of {@code b}); 1 if absent. */
    static int read(byte[] b, int len) {
        try {
            if (len < 4 || (b[0] & 0xff) != 0xFF || (b[1] & 0xff) != 0xD8) {
                return 1;
            }
            int p = 2;
            while (p + 4 <= len) {
                if ((b[p] & 0xff) != 0xFF) {
                    return 1;
                }
                int marker = b[p + 1] & 0xff;
                if (marker == 0xFF) { // fill byte
                    p++;
                    continue;
                }
                if (marker == 0x01 || marker >= 0xD0 && marker <= 0xD8) { // segments without a length
                    p += 2;
                    continue;
                }
                if (marker == 0xDA || marker == 0xD9) { // start of scan / end of image: no more headers
                    return 1;
                }
                int segLen = u16(b, p + 2, false);
                if (segLen < 2) {
                    return 1;
                }
                int start = p + 4;
                int end = Math.min(p + 2 + segLen, len);
                if (marker == 0xE1 && end - start >= 14 && b[start] == 'E' && b[start + 1] == 'x'
                        && b[start + 2] == 'i' && b[start + 3] == 'f' && b[start + 4] == 0 && b[start + 5] == 0) {
                    return fromTiff(b, start + 6, end);
                }
                p = p + 2 + segLen;
            }
            return 1;
        } catch (ArrayIndexOutOfBoundsException e) {
            return 1;
        }
    }

    /** The orientation entry of IFD0 in the TIFF structure at b[t, end). */
    private static int fromTiff(byte[] b, int t, int end) {
        boolean little;
        if (b[t] == 'I' && b[t + 1] == 'I') {
            little = true;
        } else if (b[t] == 'M' && b[t + 1] == 'M') {
            little = false;
        } else {
            return 1;
        }
        if (u16(b, t + 2, little) != 42) {
            return 1;
        }
        long ifd = u32(b, t + 4, little);
        if (ifd < 8 || t + ifd + 2 > end) {
            return 1;
        }
        int p = (int) (t + ifd);
        int count = u16(b, p, little);
        p += 2;
        for (int i = 0; i < count && p + 12 <= end; i++, p += 12) {
            if (u16(b, p, little) == TAG_ORIENTATION) {
                if (u16(b, p + 2, little) != TYPE_SHORT) {
                    return 1;
                }
                int v = u16(b, p + 8, little);
                return v >= 1 && v <= 8 ? v : 1;
            }
        }
        return 1;
    }

    private static int u16(byte[] b, int p, boolean little) {
        int b0 = b[p] & 0xff;
        int b1 = b[p + 1] & 0xff;
        return little ? b0 | b1 << 8 : b0 << 8 | b1;
    }

    private static long u32(byte[] b, int p, boolean little) {
        long lo = u16(b, little ? p : p + 2, little);
        long hi = u16(b, little ? p + 2 : p, little);
        return hi << 16 | lo;
    }

    /**
     * Undo orientation {@code o}: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
     * 7 transverse, 8 rotate 90 counter-clockwise (PIL: FLIP_LEFT_RIGHT, ROTATE_180, FLIP_TOP_BOTTOM,
     * TRANSPOSE, ROTATE_270, TRANSVERSE, ROTATE_90).
     */
    static RgbImage apply(RgbImage img, int o) {
        if (o <= 1 || o > 8) {
            return img;
        }
        int w = img.width();
        int h = img.height();
        boolean swap = o >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] in = img.rgb();
        byte[] out = new byte[in.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (o) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; } // 8
                }
                int s = (sy * w + sx) * 3;
                int d = (y * ow + x) * 3;
                out[d] = in[s];
                out[d + 1] = in[s + 1];
                out[d + 2] = in[s + 2];
            }
        }
        return new RgbImage(ow, oh, out);
    }
}
