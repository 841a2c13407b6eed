package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip archive, parsed by hand (ZIP64 included) so tensor data can be
 * mapped in place from multi-GB archives. Only what a torch checkpoint needs: single-disk,
 * unencrypted; entry data is located through the local header, whose signature is checked.
 */
final class ZipDirectory {
    static final int EOCD_SIG = 0x06054b50;
    static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    static final int ZIP64_EOCD_SIG = 0x06064b50;
    static final int CENTRAL_SIG = 0x02014b50;
    static final int LOCAL_SIG = 0x04034b50;

    private static final int EOCD_LEN = 22;
    private static final int ZIP64_LOCATOR_LEN = 20;
    private static final int ZIP64_EOCD_LEN = 56;
    private static final int CENTRAL_LEN = 46;
    private static final int LOCAL_LEN = 30;
    /** A torch checkpoint's directory holds a few thousand short names; 256 MB is far beyond any. */
    private static final long MAX_CENTRAL_DIRECTORY = 256L * 1024 * 1024;

    /** One central directory entry; sizes and offset already widened from the ZIP64 extra field. */
    record Entry(String name, int method, int flags, long compressedSize, long uncompressedSize, long localHeaderOffset) {
    }

    private final MappedFile file;
    private final Map<String, Entry> entries;
    private final long centralDirectoryOffset;
    private final boolean zip64;

    private ZipDirectory(MappedFile file, Map<String, Entry> entries, long centralDirectoryOffset, boolean zip64) {
        this.file = file;
        this.entries = entries;
        this.centralDirectoryOffset = centralDirectoryOffset;
        this.zip64 = zip64;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    boolean isZip64() {
        return zip64;
    }

    static ZipDirectory read(MappedFile file) {
        String name = file.name();
        long size = file.size();
        if (size < EOCD_LEN) {
            throw new CheckpointFormatException(name + ": " + size + " bytes is too short for a zip archive; the file is truncated");
        }
        int tailLen = (int) Math.min(size, EOCD_LEN + 0xffff);
        long tailStart = size - tailLen;
        ByteBuffer tail = file.read(tailStart, tailLen, "end of central directory");
        int eocd = -1;
        for (int p = tailLen - EOCD_LEN; p >= 0; p--) {
            if (tail.getInt(p) == EOCD_SIG && p + EOCD_LEN + (tail.getShort(p + 20) & 0xffff) <= tailLen) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) {
            throw new CheckpointFormatException(name + ": no zip end-of-central-directory record found; "
                    + "the file is truncated or not a PyTorch zip checkpoint");
        }
        long eocdPos = tailStart + eocd;
        int disk = tail.getShort(eocd + 4) & 0xffff;
        int cdDisk = tail.getShort(eocd + 6) & 0xffff;
        long count = tail.getShort(eocd + 10) & 0xffff;
        long cdSize = tail.getInt(eocd + 12) & 0xffffffffL;
        long cdOffset = tail.getInt(eocd + 16) & 0xffffffffL;
        long cdLimit = eocdPos;
        boolean zip64 = false;
        if (eocdPos >= ZIP64_LOCATOR_LEN) {
            ByteBuffer loc = file.read(eocdPos - ZIP64_LOCATOR_LEN, ZIP64_LOCATOR_LEN, "ZIP64 locator");
            if (loc.getInt(0) == ZIP64_LOCATOR_SIG) {
                zip64 = true;
                long z64Pos = loc.getLong(8);
                if (z64Pos < 0 || z64Pos > eocdPos - ZIP64_LOCATOR_LEN - ZIP64_EOCD_LEN) {
                    throw new CheckpointFormatException(name + ": ZIP64 end-of-central-directory offset " + Long.toUnsignedString(z64Pos)
                            + " is outside the file (" + size + " bytes); the zip directory is corrupt");
                }
                ByteBuffer z = file.read(z64Pos, ZIP64_EOCD_LEN, "ZIP64 end of central directory");
                if (z.getInt(0) != ZIP64_EOCD_SIG) {
                    throw new CheckpointFormatException(name + ": no ZIP64 end-of-central-directory record at offset " + z64Pos
                            + " (bad signature 0x" + Integer.toHexString(z.getInt(0)) + "); the zip directory is corrupt");
                }
                disk = z.getInt(16);
                cdDisk = z.getInt(20);
                count = z.getLong(32);
                cdSize = z.getLong(40);
                cdOffset = z.getLong(48);
                cdLimit = z64Pos;
            }
        }
        if (disk != 0 || cdDisk != 0) {
            throw new CheckpointFormatException(name + ": multi-volume zip archives are not supported");
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > cdLimit || cdSize > cdLimit - cdOffset) {
            throw new CheckpointFormatException(name + ": central directory [offset " + Long.toUnsignedString(cdOffset) + ", "
                    + Long.toUnsignedString(cdSize) + " bytes] lies outside the file (" + size
                    + " bytes); the zip directory is corrupt or the file truncated");
        }
        if (cdSize > MAX_CENTRAL_DIRECTORY) {
            throw new CheckpointFormatException(name + ": central directory of " + cdSize + " bytes is implausibly large");
        }
        if (count < 0 || count > cdSize / CENTRAL_LEN) {
            throw new CheckpointFormatException(name + ": zip directory claims " + Long.toUnsignedString(count)
                    + " entries, more than its " + cdSize + " bytes can hold; the zip directory is corrupt");
        }
        ByteBuffer cd = file.read(cdOffset, (int) cdSize, "central directory");
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (long i = 0; i < count; i++) {
            Entry e = central(name, cd, cdOffset, cdLimit);
            if (entries.put(e.name(), e) != null) {
                throw new CheckpointFormatException(name + ": zip entry '" + e.name() + "' appears twice");
            }
        }
        return new ZipDirectory(file, Collections.unmodifiableMap(entries), cdOffset, zip64);
    }

    private static Entry central(String name, ByteBuffer cd, long cdOffset, long cdLimit) {
        int p = cd.position();
        if (cd.remaining() < CENTRAL_LEN || cd.getInt(p) != CENTRAL_SIG) {
            throw new CheckpointFormatException(name + ": broken zip central directory at offset " + (cdOffset + p)
                    + " (no entry signature); the file is corrupt");
        }
        int flags = cd.getShort(p + 8) & 0xffff;
        int method = cd.getShort(p + 10) & 0xffff;
        long csize = cd.getInt(p + 20) & 0xffffffffL;
        long usize = cd.getInt(p + 24) & 0xffffffffL;
        int nameLen = cd.getShort(p + 28) & 0xffff;
        int extraLen = cd.getShort(p + 30) & 0xffff;
        int commentLen = cd.getShort(p + 32) & 0xffff;
        long diskStart = cd.getShort(p + 34) & 0xffff;
        long local = cd.getInt(p + 42) & 0xffffffffL;
        if (cd.remaining() < CENTRAL_LEN + nameLen + extraLen + commentLen) {
            throw new CheckpointFormatException(name + ": broken zip central directory at offset " + (cdOffset + p)
                    + " (entry runs past the directory); the file is corrupt");
        }
        byte[] nb = new byte[nameLen];
        cd.get(p + CENTRAL_LEN, nb);
        String entryName = new String(nb, StandardCharsets.UTF_8);
        int x = p + CENTRAL_LEN + nameLen;
        int xEnd = x + extraLen;
        boolean needUsize = usize == 0xffffffffL;
        boolean needCsize = csize == 0xffffffffL;
        boolean needLocal = local == 0xffffffffL;
        boolean needDisk = diskStart == 0xffff;
        boolean sawZip64 = false;
        while (x + 4 <= xEnd) {
            int id = cd.getShort(x) & 0xffff;
            int len = cd.getShort(x + 2) & 0xffff;
            int d = x + 4;
            if (d + len > xEnd) {
                throw new CheckpointFormatException(name + ": zip entry '" + entryName + "' has a broken extra field");
            }
            if (id == 0x0001) {
                sawZip64 = true;
                int need = (needUsize ? 8 : 0) + (needCsize ? 8 : 0) + (needLocal ? 8 : 0) + (needDisk ? 4 : 0);
                if (len < need) {
                    throw new CheckpointFormatException(name + ": zip entry '" + entryName + "' ZIP64 extra field is "
                            + len + " bytes, needs " + need);
                }
                if (needUsize) {
                    usize = cd.getLong(d);
                    d += 8;
                }
                if (needCsize) {
                    csize = cd.getLong(d);
                    d += 8;
                }
                if (needLocal) {
                    local = cd.getLong(d);
                    d += 8;
                }
                if (needDisk) {
                    diskStart = cd.getInt(d) & 0xffffffffL;
                }
            }
            x += 4 + len;
        }
        if (!sawZip64 && (needUsize || needCsize || needLocal || needDisk)) {
            throw new CheckpointFormatException(name + ": zip entry '" + entryName
                    + "' has 0xFFFFFFFF sizes but no ZIP64 extra field; the zip directory is corrupt");
        }
        if (diskStart != 0) {
            throw new CheckpointFormatException(name + ": multi-volume zip archives are not supported");
        }
        if (csize < 0 || usize < 0 || local < 0 || local > cdOffset || csize > cdOffset - local) {
            throw new CheckpointFormatException(name + ": zip entry '" + entryName + "' [local header at "
                    + Long.toUnsignedString(local) + ", " + Long.toUnsignedString(csize)
                    + " bytes] lies outside the data before the central directory (offset " + cdOffset
                    + "); the file is truncated or corrupt");
        }
        cd.position(p + CENTRAL_LEN + nameLen + extraLen + commentLen);
        return new Entry(entryName, method, flags, csize, usize, local);
    }

    /** File offset of the entry's first data byte, from its local header; validated against the file. */
    long dataOffset(Entry e) {
        String name = file.name();
        if (e.localHeaderOffset() > centralDirectoryOffset - LOCAL_LEN) {
            throw new CheckpointFormatException(name + ": zip entry '" + e.name() + "' local header offset "
                    + e.localHeaderOffset() + " is beyond the entry data; the zip directory is corrupt");
        }
        ByteBuffer h = file.read(e.localHeaderOffset(), LOCAL_LEN, "local header of '" + e.name() + "'");
        if (h.getInt(0) != LOCAL_SIG) {
            throw new CheckpointFormatException(name + ": zip entry '" + e.name() + "' has no local header at offset "
                    + e.localHeaderOffset() + " (bad signature 0x" + Integer.toHexString(h.getInt(0)) + "); the file is corrupt");
        }
        int nameLen = h.getShort(26) & 0xffff;
        int extraLen = h.getShort(28) & 0xffff;
        long data = e.localHeaderOffset() + LOCAL_LEN + nameLen + extraLen;
        if (data > centralDirectoryOffset || e.compressedSize() > centralDirectoryOffset - data) {
            throw new CheckpointFormatException(name + ": zip entry '" + e.name() + "' data [offset " + data + ", "
                    + e.compressedSize() + " bytes] runs into the central directory at " + centralDirectoryOffset
                    + "; the file is corrupt");
        }
        return data;
    }
}
