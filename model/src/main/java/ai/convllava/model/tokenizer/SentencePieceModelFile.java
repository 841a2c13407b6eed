package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TokenizerException;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a SentencePiece {@code tokenizer.model} ({@code ModelProto}, protobuf) that the Java
 * side needs: every piece with its type, and the unk/bos/eos ids of the trainer spec.
 *
 * <p>Reading the file in Java first also validates it before it reaches native code: a truncated,
 * empty or non-protobuf file fails here with a message naming the file, never inside the native
 * library. Field numbers follow {@code sentencepiece_model.proto}:
 * {@code ModelProto { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2; NormalizerSpec normalizer_spec = 3; }},
 * {@code SentencePiece { string piece = 1; float score = 2; Type type = 3 [default = NORMAL]; }},
 * {@code TrainerSpec { int32 unk_id = 40; int32 bos_id = 41; int32 eos_id = 42; }},
 * {@code NormalizerSpec { bool add_dummy_prefix = 3 [default = true]; }}.
 */
final class SentencePieceModelFile {

    /** {@code SentencePiece.Type} values. */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    final String[] pieces;
    final int[] types;
    final int unkId;
    final int bosId;
    final int eosId;
    final boolean addDummyPrefix;
    private final int[] byteValues;

    private SentencePieceModelFile(String[] pieces, int[] types, int unkId, int bosId, int eosId, boolean addDummyPrefix, String source) {
        this.pieces = pieces;
        this.types = types;
        this.unkId = unkId;
        this.bosId = bosId;
        this.eosId = eosId;
        this.addDummyPrefix = addDummyPrefix;
        this.byteValues = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            byteValues[i] = -1;
            if (types[i] == BYTE) {
                String p = pieces[i];
                int hi = p.length() == 6 && p.startsWith("<0x") && p.endsWith(">") ? Character.digit(p.charAt(3), 16) : -1;
                int lo = hi < 0 ? -1 : Character.digit(p.charAt(4), 16);
                if (lo < 0) {
                    throw new TokenizerException("SentencePiece model " + source + ": byte piece " + i + " is '" + p + "', expected <0xNN>");
                }
                byteValues[i] = hi * 16 + lo;
            }
        }
    }

    /**
     * @param source names the file in error messages
     * @throws TokenizerException if the bytes are not a SentencePiece model
     */
    static SentencePieceModelFile parse(byte[] bytes, String source) {
        if (bytes.length == 0) {
            throw new TokenizerException("SentencePiece model " + source + " is empty (0 bytes); download tokenizer.model again");
        }
        try {
            List<String> pieces = new ArrayList<>();
            List<Integer> types = new ArrayList<>();
            int[] ids = {0, 1, 2}; // unk, bos, eos: the proto defaults
            boolean addDummyPrefix = true;
            boolean sawTrainerSpec = false;
            Reader r = new Reader(bytes, 0, bytes.length);
            while (r.hasMore()) {
                long tag = r.varint();
                int field = (int) (tag >>> 3);
                int wire = (int) (tag & 7);
                if (field == 1 && wire == 2) {
                    Reader p = r.sub();
                    String piece = null;
                    int type = NORMAL;
                    while (p.hasMore()) {
                        long t = p.varint();
                        int f = (int) (t >>> 3);
                        int w = (int) (t & 7);
                        if (f == 1 && w == 2) {
                            piece = p.utf8();
                        } else if (f == 3 && w == 0) {
                            type = (int) p.varint();
                        } else {
                            p.skip(w);
                        }
                    }
                    if (piece == null || piece.isEmpty()) {
                        throw new TokenizerException("SentencePiece model " + source + ": piece " + pieces.size() + " has no text");
                    }
                    if (type < NORMAL || type > BYTE) {
                        throw new TokenizerException("SentencePiece model " + source + ": piece " + pieces.size() + " ('" + piece + "') has unknown type " + type);
                    }
                    pieces.add(piece);
                    types.add(type);
                } else if (field == 2 && wire == 2) {
                    sawTrainerSpec = true;
                    Reader t = r.sub();
                    while (t.hasMore()) {
                        long tt = t.varint();
                        int f = (int) (tt >>> 3);
                        int w = (int) (tt & 7);
                        if (f >= 40 && f <= 42 && w == 0) {
                            ids[f - 40] = (int) t.varint(); // int32: negative values are 10-byte varints
                        } else {
                            t.skip(w);
                        }
                    }
                } else if (field == 3 && wire == 2) {
                    Reader n = r.sub();
                    while (n.hasMore()) {
                        long tt = n.varint();
                        int f = (int) (tt >>> 3);
                        int w = (int) (tt & 7);
                        if (f == 3 && w == 0) {
                            addDummyPrefix = n.varint() != 0;
                        } else {
                            n.skip(w);
                        }
                    }
                } else {
                    r.skip(wire); // self_test_data, denormalizer_spec, extensions
                }
            }
            if (pieces.isEmpty()) {
                throw new TokenizerException("SentencePiece model " + source + " has no pieces (is it really a tokenizer.model file?)");
            }
            if (!sawTrainerSpec) {
                throw new TokenizerException("SentencePiece model " + source + " has no trainer spec (is it really a tokenizer.model file?)");
            }
            int n = pieces.size();
            String[] names = {"unk_id", "bos_id", "eos_id"};
            for (int i = 0; i < 3; i++) {
                if (ids[i] < 0 || ids[i] >= n) {
                    throw new TokenizerException("SentencePiece model " + source + ": " + names[i] + " must be in [0, " + n
                            + ") (got " + names[i] + "=" + ids[i] + ")");
                }
            }
            int[] typeArray = types.stream().mapToInt(Integer::intValue).toArray();
            return new SentencePieceModelFile(pieces.toArray(new String[0]), typeArray, ids[0], ids[1], ids[2], addDummyPrefix, source);
        } catch (Malformed e) {
            throw new TokenizerException("SentencePiece model " + source + " is corrupt or truncated (" + e.getMessage()
                    + "); download tokenizer.model again", e);
        }
    }

    /** The byte of a BYTE piece ("<0xAB>" -> 0xAB). */
    int byteValue(int id) {
        return byteValues[id];
    }

    /** A protobuf structure error. */
    private static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    /** Minimal protobuf wire-format reader over a slice of the file. */
    private static final class Reader {
        private final byte[] b;
        private int pos;
        private final int end;

        Reader(byte[] b, int pos, int end) {
            this.b = b;
            this.pos = pos;
            this.end = end;
        }

        boolean hasMore() {
            return pos < end;
        }

        long varint() throws Malformed {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new Malformed("varint runs past the end at byte " + pos);
                }
                byte x = b[pos++];
                v |= (long) (x & 0x7f) << shift;
                if (x >= 0) {
                    return v;
                }
            }
            throw new Malformed("varint longer than 10 bytes at byte " + pos);
        }

        private int length() throws Malformed {
            long len = varint();
            if (len < 0 || len > end - pos) {
                throw new Malformed("field of length " + len + " at byte " + pos + " runs past the end (" + (end - pos) + " bytes left)");
            }
            return (int) len;
        }

        Reader sub() throws Malformed {
            int len = length();
            Reader r = new Reader(b, pos, pos + len);
            pos += len;
            return r;
        }

        String utf8() throws Malformed {
            int len = length();
            try {
                String s = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b, pos, len)).toString();
                pos += len;
                return s;
            } catch (CharacterCodingException e) {
                throw new Malformed("a piece at byte " + pos + " is not valid UTF-8");
            }
        }

        void skip(int wire) throws Malformed {
            switch (wire) {
                case 0 -> varint();
                case 1 -> advance(8);
                case 2 -> advance(length());
                case 5 -> advance(4);
                default -> throw new Malformed("unsupported protobuf wire type " + wire + " at byte " + pos);
            }
        }

        private void advance(int n) throws Malformed {
            if (n > end - pos) {
                throw new Malformed("field runs past the end at byte " + pos);
            }
            pos += n;
        }
    }
}
