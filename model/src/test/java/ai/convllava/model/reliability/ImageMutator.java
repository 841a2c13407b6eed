package ai.convllava.model.reliability;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * Seeded mutations of an image file: generic byte damage (truncation, bit flips, overwrites, splices)
 * and format-aware lies (dimensions in the PNG IHDR, JPEG SOF, GIF screen / image descriptor, BMP
 * header and WebP VP8X / VP8 / VP8L headers; chunk and segment lengths), with the PNG CRC fixed up half the time so the lie reaches
 * the decoder instead of stopping at the checksum.
 */
final class ImageMutator {
    enum Mutation { TRUNCATE, BIT_FLIPS, BYTE_OVERWRITE, SPLICE, LYING_DIMENSIONS, LYING_LENGTH }

    /** Values that break arithmetic: zero, one, powers of two and their neighbours, sign bits. */
    private static final long[] INTERESTING = {0, 1, 2, 3, 7, 8, 255, 256, 4095, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 100_000,
        0x7FFFFFFFL, 0x80000000L, 0xFFFFFFFFL, 46341, 65535 * 2};

    private ImageMutator() {
    }

    static byte[] mutate(byte[] seed, String name, Mutation m, Random rnd) {
        byte[] b = seed.clone();
        String ext = name.substring(name.lastIndexOf('.') + 1);
        switch (m) {
            case TRUNCATE -> {
                return Arrays.copyOf(b, rnd.nextInt(b.length)); // may be 0 bytes
            }
            case BIT_FLIPS -> {
                int n = 1 + rnd.nextInt(8);
                for (int i = 0; i < n; i++) {
                    int p = rnd.nextInt(b.length);
                    b[p] ^= (byte) (1 << rnd.nextInt(8));
                }
                return b;
            }
            case BYTE_OVERWRITE -> {
                int n = 1 + rnd.nextInt(16);
                int start = rnd.nextInt(b.length);
                for (int i = 0; i < n && start + i < b.length; i++) {
                    b[start + i] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : pick(rnd, 0x00, 0xFF, 0x7F, 0x80));
                }
                return b;
            }
            case SPLICE -> {
                // a stretch of the file repeated or dropped, or random bytes inserted
                int a = rnd.nextInt(b.length);
                int len = 1 + rnd.nextInt(Math.max(1, Math.min(512, b.length - a)));
                byte[] insert = switch (rnd.nextInt(3)) {
                    case 0 -> Arrays.copyOfRange(b, a, Math.min(b.length, a + len));
                    case 1 -> new byte[0];
                    default -> randomBytes(rnd, len);
                };
                int cutEnd = rnd.nextInt(3) == 1 ? Math.min(b.length, a + len) : a;
                byte[] out = new byte[a + insert.length + (b.length - cutEnd)];
                System.arraycopy(b, 0, out, 0, a);
                System.arraycopy(insert, 0, out, a, insert.length);
                System.arraycopy(b, cutEnd, out, a + insert.length, b.length - cutEnd);
                return out;
            }
            case LYING_DIMENSIONS -> {
                lieAboutDimensions(b, ext, rnd);
                return b;
            }
            case LYING_LENGTH -> {
                lieAboutLength(b, ext, rnd);
                return b;
            }
            default -> throw new IllegalArgumentException(m.toString());
        }
    }

    private static int pick(Random rnd, int... v) {
        return v[rnd.nextInt(v.length)];
    }

    private static byte[] randomBytes(Random rnd, int n) {
        byte[] r = new byte[n];
        rnd.nextBytes(r);
        return r;
    }

    private static long lie(Random rnd, long original) {
        return switch (rnd.nextInt(4)) {
            case 0 -> original * (2 + rnd.nextInt(64));
            case 1 -> original + rnd.nextInt(5) - 2;
            case 2 -> rnd.nextInt(5000) + 1;
            default -> INTERESTING[rnd.nextInt(INTERESTING.length)];
        };
    }

    private static void lieAboutDimensions(byte[] b, String ext, Random rnd) {
        switch (ext) {
            case "png" -> {
                if (b.length >= 33) {
                    int field = 16 + 4 * rnd.nextInt(2); // width or height
                    putBe32(b, field, lie(rnd, be32(b, field)));
                    if (rnd.nextBoolean()) {
                        putBe32(b, 29, crc(b, 12, 17)); // IHDR type + data
                    }
                }
            }
            case "jpg" -> {
                List<Integer> sofs = new ArrayList<>();
                for (int[] s : jpegSegments(b)) {
                    int marker = s[0];
                    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                        sofs.add(s[1]);
                    }
                }
                if (!sofs.isEmpty()) {
                    int p = sofs.get(rnd.nextInt(sofs.size()));
                    int field = p + 5 + 2 * rnd.nextInt(2); // height, width (after length and precision)
                    if (field + 1 < b.length) {
                        putBe16(b, field, (int) lie(rnd, be16(b, field)));
                    }
                }
            }
            case "gif" -> {
                int field = gifImageDescriptor(b);
                if (field < 0 || rnd.nextBoolean()) {
                    field = 6; // logical screen width/height
                } else {
                    field += 5; // the frame's width/height (after separator, left, top)
                }
                field += 2 * rnd.nextInt(2);
                if (field + 1 < b.length) {
                    putLe16(b, field, (int) lie(rnd, le16(b, field)));
                }
            }
            case "webp" -> {
                // the first picture chunk's own fields: VP8X canvas (24-bit minus one), VP8 frame header
                // (14 bits + scale), VP8L header (14-bit fields minus one, bit-packed)
                int[] c = firstWebpPicture(b);
                if (c != null) {
                    int d = c[1] + 8; // payload
                    boolean h = rnd.nextBoolean();
                    switch (c[0]) {
                        case 'X' -> {
                            int f = d + 4 + (h ? 3 : 0);
                            if (f + 2 < b.length) {
                                long v = lie(rnd, le24(b, f) + 1) - 1;
                                b[f] = (byte) v;
                                b[f + 1] = (byte) (v >> 8);
                                b[f + 2] = (byte) (v >> 16);
                            }
                        }
                        case ' ' -> {
                            int f = d + 6 + (h ? 2 : 0);
                            if (f + 1 < b.length) {
                                putLe16(b, f, (int) lie(rnd, le16(b, f) & 0x3FFF) & 0x3FFF | le16(b, f) & 0xC000);
                            }
                        }
                        default -> { // 'L'
                            if (d + 4 < b.length) {
                                long bits = le32(b, d + 1);
                                int shift = h ? 14 : 0;
                                long v = (lie(rnd, ((bits >> shift) & 0x3FFF) + 1) - 1) & 0x3FFF;
                                putLe32(b, d + 1, bits & ~(0x3FFFL << shift) | v << shift);
                            }
                        }
                    }
                }
            }
            case "bmp" -> {
                if (b.length >= 26) {
                    int field = 18 + 4 * rnd.nextInt(2);
                    long v = lie(rnd, le32(b, field));
                    putLe32(b, field, rnd.nextInt(4) == 0 ? -v : v); // negative height: top-down
                }
            }
            case "pdf" -> lieAfter(b, "/MediaBox", rnd); // a page's size in points
            default -> throw new IllegalArgumentException(ext);
        }
    }

    private static void lieAboutLength(byte[] b, String ext, Random rnd) {
        switch (ext) {
            case "png" -> {
                List<Integer> chunks = new ArrayList<>();
                for (int p = 8; p + 8 <= b.length; ) {
                    chunks.add(p);
                    long len = be32(b, p);
                    if (len > b.length) {
                        break;
                    }
                    p += 12 + (int) len;
                }
                if (!chunks.isEmpty()) {
                    int p = chunks.get(rnd.nextInt(chunks.size()));
                    putBe32(b, p, lie(rnd, be32(b, p)));
                }
            }
            case "jpg" -> {
                List<int[]> segs = jpegSegments(b);
                if (!segs.isEmpty()) {
                    int p = segs.get(rnd.nextInt(segs.size()))[1];
                    if (p + 3 < b.length) {
                        putBe16(b, p + 2, (int) lie(rnd, be16(b, p + 2)));
                    }
                }
            }
            case "gif" -> {
                int d = gifImageDescriptor(b);
                if (d >= 0 && d + 10 < b.length) {
                    int packed = b[d + 9] & 0xff;
                    int lct = (packed & 0x80) != 0 ? 3 << ((packed & 7) + 1) : 0;
                    int lzw = d + 10 + lct;
                    if (lzw + 1 < b.length) {
                        // LZW minimum code size, or the first data sub-block's length
                        int f = lzw + rnd.nextInt(2);
                        b[f] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : pick(rnd, 0, 1, 12, 13, 255));
                    }
                }
            }
            case "webp" -> {
                // the RIFF size, or one chunk's size
                List<Integer> sizes = new ArrayList<>(List.of(4));
                for (int p = 12; p + 8 <= b.length; ) {
                    sizes.add(p + 4);
                    long len = le32(b, p + 4);
                    if (len > b.length) {
                        break;
                    }
                    p += 8 + (int) (len + (len & 1));
                }
                int f = sizes.get(rnd.nextInt(sizes.size()));
                if (f + 3 < b.length) {
                    putLe32(b, f, lie(rnd, le32(b, f)));
                }
            }
            case "bmp" -> {
                if (b.length >= 54) {
                    int field = pick(rnd, 2, 10, 14, 28, 30, 34, 46); // file size, data offset, header size, bpp, compression, image size, colours used
                    if (field == 28) {
                        putLe16(b, field, pick(rnd, 0, 1, 2, 3, 4, 5, 8, 15, 16, 24, 32, 48, 64, 0xFFFF));
                    } else {
                        putLe32(b, field, lie(rnd, le32(b, field)));
                    }
                }
            }
            case "pdf" -> lieAfter(b, rnd.nextBoolean() ? "/Length" : "startxref", rnd); // a stream's length, or where the xref is
            default -> throw new IllegalArgumentException(ext);
        }
    }

    /**
     * PDF (text): the digits of the first number after one occurrence of {@code token} rewritten in
     * place, all 9s, all 0s or random (the file keeps its length, so offsets elsewhere stay true).
     */
    private static void lieAfter(byte[] b, String token, Random rnd) {
        byte[] t = token.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i + t.length <= b.length; i++) {
            if (Arrays.equals(b, i, i + t.length, t, 0, t.length)) {
                at.add(i + t.length);
            }
        }
        if (at.isEmpty()) {
            return;
        }
        int p = at.get(rnd.nextInt(at.size()));
        while (p < b.length && (b[p] < '0' || b[p] > '9')) {
            p++;
        }
        int style = rnd.nextInt(3);
        for (; p < b.length && b[p] >= '0' && b[p] <= '9'; p++) {
            b[p] = (byte) (style == 0 ? '9' : style == 1 ? '0' : '0' + rnd.nextInt(10));
        }
    }

    /** [last letter of the fourcc ('X', ' ' for VP8, 'L'), offset] of the first VP8X/VP8/VP8L chunk, or null. */
    static int[] firstWebpPicture(byte[] b) {
        for (int p = 12; p + 8 <= b.length; ) {
            if (b[p] == 'V' && b[p + 1] == 'P' && b[p + 2] == '8' && (b[p + 3] == 'X' || b[p + 3] == ' ' || b[p + 3] == 'L')) {
                return new int[] {b[p + 3], p};
            }
            long len = le32(b, p + 4);
            if (len > b.length) {
                return null;
            }
            p += 8 + (int) (len + (len & 1));
        }
        return null;
    }

    static int le24(byte[] b, int p) {
        return (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff) << 16;
    }

    /** [marker, offset of the 0xFF] of each length-carrying JPEG segment before the scan data. */
    static List<int[]> jpegSegments(byte[] b) {
        List<int[]> out = new ArrayList<>();
        int p = 2;
        while (p + 4 <= b.length && (b[p] & 0xff) == 0xFF) {
            int marker = b[p + 1] & 0xff;
            if (marker == 0xD9 || marker == 0x01 || marker >= 0xD0 && marker <= 0xD8) {
                p += 2;
                continue;
            }
            out.add(new int[] {marker, p});
            if (marker == 0xDA) {
                break;
            }
            p += 2 + be16(b, p + 2);
        }
        return out;
    }

    /** Offset of the first GIF image descriptor (0x2C), or -1. */
    static int gifImageDescriptor(byte[] b) {
        if (b.length < 13) {
            return -1;
        }
        int packed = b[10] & 0xff;
        int p = 13 + ((packed & 0x80) != 0 ? 3 << ((packed & 7) + 1) : 0);
        while (p < b.length) {
            int c = b[p] & 0xff;
            if (c == 0x2C) {
                return p;
            }
            if (c != 0x21 || p + 2 >= b.length) {
                return -1;
            }
            p += 2; // introducer, label; then sub-blocks until a 0 length
            while (p < b.length && (b[p] & 0xff) != 0) {
                p += 1 + (b[p] & 0xff);
            }
            p++;
        }
        return -1;
    }

    private static long crc(byte[] b, int off, int len) {
        CRC32 c = new CRC32();
        c.update(b, off, len);
        return c.getValue();
    }

    static long be32(byte[] b, int p) {
        return (b[p] & 0xffL) << 24 | (b[p + 1] & 0xffL) << 16 | (b[p + 2] & 0xffL) << 8 | (b[p + 3] & 0xffL);
    }

    static void putBe32(byte[] b, int p, long v) {
        b[p] = (byte) (v >>> 24);
        b[p + 1] = (byte) (v >>> 16);
        b[p + 2] = (byte) (v >>> 8);
        b[p + 3] = (byte) v;
    }

    static int be16(byte[] b, int p) {
        return (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
    }

    static void putBe16(byte[] b, int p, int v) {
        b[p] = (byte) (v >>> 8);
        b[p + 1] = (byte) v;
    }

    static int le16(byte[] b, int p) {
        return (b[p] & 0xff) | (b[p + 1] & 0xff) << 8;
    }

    static void putLe16(byte[] b, int p, int v) {
        b[p] = (byte) v;
        b[p + 1] = (byte) (v >>> 8);
    }

    static long le32(byte[] b, int p) {
        return (b[p] & 0xffL) | (b[p + 1] & 0xffL) << 8 | (b[p + 2] & 0xffL) << 16 | (b[p + 3] & 0xffL) << 24;
    }

    static void putLe32(byte[] b, int p, long v) {
        b[p] = (byte) v;
        b[p + 1] = (byte) (v >>> 8);
        b[p + 2] = (byte) (v >>> 16);
        b[p + 3] = (byte) (v >>> 24);
    }
}
