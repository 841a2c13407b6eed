package ai.convllava.model.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/** Builders for the checkpoint files the tests corrupt or hand-craft: zip archives, pickles, safetensors. */
final class TestFiles {
    private TestFiles() {
    }

    static Path fixtures() {
        String dir = System.getProperty("convllava.fixtures");
        assertNotNull(dir, "system property convllava.fixtures (set by surefire in the parent pom)");
        return Path.of(dir);
    }

    static Path tiny(String name) {
        return fixtures().resolve("tiny").resolve(name);
    }

    // ---- zip -------------------------------------------------------------------------------

    /** One archive entry; {@code method} 0 = stored, 8 = deflated; {@code localPad} extra bytes in the local header only. */
    record ZipEntrySpec(String name, byte[] data, int method, int localPad) {
        static ZipEntrySpec stored(String name, byte[] data) {
            return new ZipEntrySpec(name, data, 0, 0);
        }
    }

    /**
     * Writes a zip archive by hand. With {@code zip64} every central entry stores 0xFFFFFFFF sizes
     * and offset with the real values in a ZIP64 extra field, and the archive ends with a ZIP64
     * end-of-central-directory record, its locator and a classic EOCD full of 0xFFFF markers.
     */
    static byte[] zip(List<ZipEntrySpec> entries, boolean zip64) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<long[]> meta = new ArrayList<>(); // offset, csize, usize, crc
        List<byte[]> payloads = new ArrayList<>();
        for (ZipEntrySpec e : entries) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] payload = e.method() == 8 ? deflate(e.data()) : e.data();
            payloads.add(payload);
            CRC32 crc = new CRC32();
            crc.update(e.data());
            long offset = out.size();
            meta.add(new long[] {offset, payload.length, e.data().length, crc.getValue()});
            int extraLen = (zip64 ? 20 : 0) + (e.localPad() > 0 ? 4 + e.localPad() : 0);
            ByteBuffer h = le(30 + name.length + extraLen);
            h.putInt(ZipDirectory.LOCAL_SIG).putShort((short) (zip64 ? 45 : 20)).putShort((short) 0)
                    .putShort((short) e.method()).putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue())
                    .putInt(zip64 ? -1 : payload.length).putInt(zip64 ? -1 : e.data().length)
                    .putShort((short) name.length).putShort((short) extraLen).put(name);
            if (zip64) {
                h.putShort((short) 1).putShort((short) 16).putLong(e.data().length).putLong(payload.length);
            }
            if (e.localPad() > 0) {
                // torch's "FB" alignment padding field
                h.putShort((short) 0x4246).putShort((short) e.localPad()).put(new byte[e.localPad()]);
            }
            out.writeBytes(h.array());
            out.writeBytes(payload);
        }
        long cdOffset = out.size();
        for (int i = 0; i < entries.size(); i++) {
            ZipEntrySpec e = entries.get(i);
            long[] m = meta.get(i);
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            int extraLen = zip64 ? 4 + 24 : 0;
            ByteBuffer c = le(46 + name.length + extraLen);
            c.putInt(ZipDirectory.CENTRAL_SIG).putShort((short) 0x032d).putShort((short) (zip64 ? 45 : 20))
                    .putShort((short) 0).putShort((short) e.method()).putShort((short) 0).putShort((short) 0x21)
                    .putInt((int) m[3]).putInt(zip64 ? -1 : (int) m[1]).putInt(zip64 ? -1 : (int) m[2])
                    .putShort((short) name.length).putShort((short) extraLen).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0).putInt(zip64 ? -1 : (int) m[0]).put(name);
            if (zip64) {
                // order fixed by the spec: uncompressed size, compressed size, local header offset
                c.putShort((short) 1).putShort((short) 24).putLong(m[2]).putLong(m[1]).putLong(m[0]);
            }
            out.writeBytes(c.array());
        }
        long cdSize = out.size() - cdOffset;
        if (zip64) {
            long z64 = out.size();
            ByteBuffer r = le(56);
            r.putInt(ZipDirectory.ZIP64_EOCD_SIG).putLong(44).putShort((short) 0x032d).putShort((short) 45)
                    .putInt(0).putInt(0).putLong(entries.size()).putLong(entries.size()).putLong(cdSize).putLong(cdOffset);
            out.writeBytes(r.array());
            ByteBuffer l = le(20);
            l.putInt(ZipDirectory.ZIP64_LOCATOR_SIG).putInt(0).putLong(z64).putInt(1);
            out.writeBytes(l.array());
        }
        ByteBuffer eocd = le(22);
        eocd.putInt(ZipDirectory.EOCD_SIG).putShort((short) 0).putShort((short) 0)
                .putShort((short) (zip64 ? 0xffff : entries.size())).putShort((short) (zip64 ? 0xffff : entries.size()))
                .putInt(zip64 ? -1 : (int) cdSize).putInt(zip64 ? -1 : (int) cdOffset).putShort((short) 0);
        out.writeBytes(eocd.array());
        return out.toByteArray();
    }

    static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    /** A torch checkpoint archive: {@code prefix/data.pkl}, byteorder and the given storages. */
    static byte[] torchArchive(String prefix, byte[] pickle, Map<String, byte[]> storages, boolean zip64, int storageMethod) {
        List<ZipEntrySpec> entries = new ArrayList<>();
        entries.add(ZipEntrySpec.stored(prefix + "/data.pkl", pickle));
        entries.add(ZipEntrySpec.stored(prefix + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII)));
        int pad = 13;
        for (Map.Entry<String, byte[]> s : storages.entrySet()) {
            entries.add(new ZipEntrySpec(prefix + "/data/" + s.getKey(), s.getValue(), storageMethod, pad));
            pad += 17;
        }
        entries.add(ZipEntrySpec.stored(prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII)));
        return zip(entries, zip64);
    }

    // ---- pickle ----------------------------------------------------------------------------

    /** One tensor of a hand-written state dict: a view {@code size/stride} at {@code offset} into a storage. */
    record PickledTensor(String key, String storageClass, String storageKey, long storageNumel, long offset, long[] size, long[] stride) {
        static PickledTensor contiguous(String key, String storageClass, String storageKey, long storageNumel, long offset, long... size) {
            long[] stride = new long[size.length];
            long s = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                stride[i] = s;
                s *= size[i];
            }
            return new PickledTensor(key, storageClass, storageKey, storageNumel, offset, size, stride);
        }
    }

    /** Pickle bytes (protocol 2, the opcodes torch.save emits) of {@code {key: _rebuild_tensor_v2(...)}}. */
    static byte[] stateDictPickle(List<PickledTensor> tensors) {
        Pickle p = new Pickle().proto(2).op('}').op('(');
        for (PickledTensor t : tensors) {
            p.str(t.key()).tensor(t);
        }
        return p.op('u').op('.').bytes();
    }

    /** Minimal pickle writer for the tests. */
    static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int code) {
            out.write(code);
            return this;
        }

        Pickle proto(int v) {
            return op(0x80).op(v);
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            out.writeBytes(le(4).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        Pickle shortStr(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op(0x8c).op(b.length);
            out.writeBytes(b);
            return this;
        }

        Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        Pickle integer(long v) {
            op('J');
            out.writeBytes(le(4).putInt((int) v).array());
            return this;
        }

        Pickle tuple(long... v) {
            op('(');
            for (long x : v) {
                integer(x);
            }
            return op('t');
        }

        /** Pushes {@code _rebuild_tensor_v2((persistent storage id), offset, size, stride, False, OrderedDict())}. */
        Pickle tensor(PickledTensor t) {
            return global("torch._utils", "_rebuild_tensor_v2").op('(')
                    .op('(').str("storage").global("torch", t.storageClass()).str(t.storageKey()).str("cpu").integer(t.storageNumel()).op('t')
                    .op('Q').integer(t.offset()).tuple(t.size()).tuple(t.stride()).op(0x89)
                    .global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
        }

        Pickle raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    // ---- safetensors -----------------------------------------------------------------------

    /** A safetensors file from a raw JSON header and data section. */
    static byte[] safetensors(String headerJson, byte[] data) {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = le(8 + h.length + data.length);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static byte[] floatsLE(float... v) {
        ByteBuffer b = le(4 * v.length);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static byte[] shortsLE(short... v) {
        ByteBuffer b = le(2 * v.length);
        for (short s : v) {
            b.putShort(s);
        }
        return b.array();
    }
}
