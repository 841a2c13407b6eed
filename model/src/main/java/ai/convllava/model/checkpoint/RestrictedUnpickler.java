package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.spi.DType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the {@code data.pkl} of a {@code torch.save} checkpoint without executing anything.
 * Only the opcodes a state dict uses are implemented, only a fixed list of globals may be named
 * ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code torch._utils._rebuild_parameter}, the typed {@code torch.*Storage} classes and torch
 * dtypes) and those are interpreted here, never looked up or instantiated. Anything else is
 * refused with the name of the global. Every length is checked against the bytes that remain,
 * and the stack, marks and memo are bounded, so a hostile file costs at most its own size.
 */
final class RestrictedUnpickler {
    static final int MAX_STACK = 1 << 20;
    static final int MAX_MARKS = 10_000;
    static final int MAX_MEMO = 1 << 20;
    static final int MAX_GLOBAL_NAME = 256;

    /** A global named by GLOBAL / STACK_GLOBAL; only allowed names are ever created. */
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** A pickled tuple (kept apart from lists, which are mutable in pickle). */
    record Tuple(List<Object> items) {
        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }
    }

    /** Persistent id {@code ('storage', storage_type, key, location, numel)}. */
    record StorageRef(String storageType, DType dtype, String key, String location, long numel) {
    }

    /** Result of {@code _rebuild_tensor_v2}: a view into a storage. */
    record TensorRef(StorageRef storage, long storageOffset, long[] size, long[] stride) {
    }

    private static final Object MARK = new Object() {
        @Override
        public String toString() {
            return "MARK";
        }
    };

    private static final Map<String, DType> STORAGES = Map.of(
            "FloatStorage", DType.F32, "HalfStorage", DType.F16, "BFloat16Storage", DType.BF16,
            "CharStorage", DType.I8, "ByteStorage", DType.U8, "LongStorage", DType.I64,
            "IntStorage", DType.I32, "BoolStorage", DType.BOOL);
    /** Real torch storages we cannot widen to float32 (or hold in a {@link DType}): named in the error. */
    private static final Map<String, String> UNSUPPORTED_STORAGES = Map.of(
            "DoubleStorage", "float64", "ShortStorage", "int16", "ComplexFloatStorage", "complex64",
            "ComplexDoubleStorage", "complex128", "UntypedStorage", "untyped");
    private static final Set<String> DTYPES = Set.of(
            "float32", "float", "float16", "half", "bfloat16", "int8", "uint8", "int32", "int", "int64", "long", "bool");
    private static final Set<String> ALLOWED = Set.of(
            "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter");

    private final byte[] data;
    private final String where;
    private int pos;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private RestrictedUnpickler(byte[] data, String where) {
        this.data = data;
        this.where = where;
    }

    /**
     * Unpickles {@code data}.
     *
     * @param where prefix for messages, e.g. {@code "pytorch_model.bin: archive/data.pkl"}
     * @return the top object: maps, lists, {@link Tuple}, {@link TensorRef}, String, Long, Double, Boolean or null
     */
    static Object load(byte[] data, String where) {
        return new RestrictedUnpickler(data, where).run();
    }

    private Object run() {
        while (true) {
            if (pos >= data.length) {
                throw error("ends without a STOP opcode (truncated)");
            }
            int at = pos;
            int op = data[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) {
                        throw error("uses pickle protocol " + proto + " (supported up to 5)");
                    }
                }
                case 0x95 -> { // FRAME: a length hint only
                    long n = u64();
                    if (n < 0 || n > data.length - pos) {
                        throw error("FRAME of " + Long.toUnsignedString(n) + " bytes runs past the end at offset " + at);
                    }
                }
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw error("STOP with " + stack.size() + " objects on the stack (expected exactly one)");
                    }
                    return stack.get(0);
                }
                case '(' -> {
                    if (marks.size() >= MAX_MARKS) {
                        throw error("nests more than " + MAX_MARKS + " marks");
                    }
                    marks.add(stack.size());
                    push(MARK);
                }
                case '}' -> push(new LinkedHashMap<>());
                case ']' -> push(new ArrayList<>());
                case ')' -> push(new Tuple(List.of()));
                case 'd' -> { // DICT
                    List<Object> items = popMark(at);
                    if (items.size() % 2 != 0) {
                        throw error("DICT with an odd number of items at offset " + at);
                    }
                    Map<Object, Object> m = new LinkedHashMap<>();
                    for (int i = 0; i < items.size(); i += 2) {
                        m.put(key(items.get(i), at), items.get(i + 1));
                    }
                    push(m);
                }
                case 'l' -> push(new ArrayList<>(popMark(at)));
                case 't' -> push(new Tuple(Collections.unmodifiableList(popMark(at))));
                case 0x85 -> push(tupleOf(1, at));
                case 0x86 -> push(tupleOf(2, at));
                case 0x87 -> push(tupleOf(3, at));
                case 'X' -> push(string(u32(), at));
                case 0x8c -> push(string(u8(), at));
                case 0x8d -> push(string(u64(), at));
                case 'q' -> memoPut(u8(), at);
                case 'r' -> memoPut(u32(), at);
                case 0x94 -> memoPut(memo.size(), at);
                case 'h' -> push(memoGet(u8(), at));
                case 'j' -> push(memoGet(u32(), at));
                case 'c' -> { // GLOBAL "module\nname\n"
                    String module = line(at);
                    String name = line(at);
                    push(global(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(at);
                    Object module = pop(at);
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw error("STACK_GLOBAL needs two strings at offset " + at);
                    }
                    push(global(m, n));
                }
                case 'J' -> {
                    need(4, at);
                    int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8 | (data[pos + 2] & 0xff) << 16 | data[pos + 3] << 24;
                    pos += 4;
                    push((long) v);
                }
                case 'K' -> push((long) u8());
                case 'M' -> {
                    need(2, at);
                    push((long) ((data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8));
                    pos += 2;
                }
                case 0x8a -> { // LONG1: little-endian two's complement, n bytes
                    int n = u8();
                    need(n, at);
                    if (n > 8) {
                        throw error("integer of " + n + " bytes at offset " + at + " does not fit in 64 bits");
                    }
                    long v = 0;
                    for (int i = n - 1; i >= 0; i--) {
                        v = (v << 8) | (data[pos + i] & 0xff);
                    }
                    if (n > 0 && n < 8 && data[pos + n - 1] < 0) {
                        v -= 1L << (8 * n); // sign-extend
                    }
                    pos += n;
                    push(v);
                }
                case 'G' -> { // BINFLOAT, big-endian
                    need(8, at);
                    long bits = 0;
                    for (int i = 0; i < 8; i++) {
                        bits = (bits << 8) | (data[pos + i] & 0xff);
                    }
                    pos += 8;
                    push(Double.longBitsToDouble(bits));
                }
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'N' -> push(null);
                case 'R' -> { // REDUCE
                    Object args = pop(at);
                    Object callable = pop(at);
                    push(reduce(callable, args, at));
                }
                case 'Q' -> push(persistent(pop(at), at)); // BINPERSID
                case 's' -> { // SETITEM
                    Object v = pop(at);
                    Object k = pop(at);
                    dict(peek(at), at).put(key(k, at), v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark(at);
                    if (items.size() % 2 != 0) {
                        throw error("SETITEMS with an odd number of items at offset " + at);
                    }
                    Map<Object, Object> m = dict(peek(at), at);
                    for (int i = 0; i < items.size(); i += 2) {
                        m.put(key(items.get(i), at), items.get(i + 1));
                    }
                }
                case 'a' -> { // APPEND
                    Object v = pop(at);
                    list(peek(at), at).add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark(at);
                    list(peek(at), at).addAll(items);
                }
                case 'b' -> { // BUILD: object state (e.g. a state dict's _metadata); not needed, dropped
                    pop(at);
                    Object target = peek(at);
                    if (!(target instanceof Map) && !(target instanceof TensorRef)) {
                        throw error("BUILD on a " + describe(target) + " at offset " + at + " (only dicts and tensors)");
                    }
                }
                case '0' -> pop(at); // POP
                case '1' -> popMark(at); // POP_MARK
                case '2' -> push(peek(at)); // DUP
                default -> throw error(String.format("uses unsupported pickle opcode 0x%02x ('%s') at offset %d;"
                        + " only state dicts of tensors can be read", op, op >= 32 && op < 127 ? String.valueOf((char) op) : "?", at));
            }
        }
    }

    private Object global(String module, String name) {
        String q = module + "." + name;
        if (ALLOWED.contains(q)) {
            return new Global(module, name);
        }
        if (module.equals("torch")) {
            if (STORAGES.containsKey(name) || DTYPES.contains(name)) {
                return new Global(module, name);
            }
            if (UNSUPPORTED_STORAGES.containsKey(name)) {
                throw error("holds a tensor of unsupported dtype " + UNSUPPORTED_STORAGES.get(name) + " (global " + q
                        + "); supported: float32, float16, bfloat16, int8, uint8, int32, int64, bool");
            }
        }
        throw error("refers to global '" + q + "', which is not allowed in a checkpoint; refusing to load it"
                + " (a checkpoint may only name torch tensor rebuild functions, storages and collections.OrderedDict)");
    }

    private Object reduce(Object callable, Object args, int at) {
        if (!(callable instanceof Global g)) {
            throw error("REDUCE on a " + describe(callable) + " at offset " + at);
        }
        if (!(args instanceof Tuple t)) {
            throw error("REDUCE of " + g.qualified() + " with " + describe(args) + " arguments at offset " + at);
        }
        switch (g.qualified()) {
            case "collections.OrderedDict" -> {
                if (t.size() != 0) {
                    throw error("collections.OrderedDict called with arguments at offset " + at);
                }
                return new LinkedHashMap<>();
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                if (t.size() != 6 && t.size() != 7) {
                    throw error("_rebuild_tensor_v2 with " + t.size() + " arguments at offset " + at + " (expected 6 or 7)");
                }
                if (!(t.get(0) instanceof StorageRef s)) {
                    throw error("_rebuild_tensor_v2 without a storage at offset " + at);
                }
                long offset = integer(t.get(1), "storage_offset", at);
                long[] size = ints(t.get(2), "size", at);
                long[] stride = ints(t.get(3), "stride", at);
                if (size.length != stride.length) {
                    throw error("tensor size " + Arrays.toString(size) + " and stride "
                            + Arrays.toString(stride) + " differ in rank at offset " + at);
                }
                return new TensorRef(s, offset, size, stride);
            }
            case "torch._utils._rebuild_parameter" -> {
                if (t.size() != 3 || !(t.get(0) instanceof TensorRef tensor)) {
                    throw error("_rebuild_parameter without a tensor at offset " + at);
                }
                return tensor;
            }
            default -> throw error("calls " + g.qualified() + " at offset " + at + ", which may not be called");
        }
    }

    private StorageRef persistent(Object pid, int at) {
        if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw error("has a persistent id that is not ('storage', type, key, location, numel) at offset " + at);
        }
        if (!(t.get(1) instanceof Global g) || !g.module().equals("torch") || !STORAGES.containsKey(g.name())) {
            throw error("has a storage of type " + describe(t.get(1)) + " at offset " + at);
        }
        if (!(t.get(2) instanceof String key) || !(t.get(3) instanceof String location)) {
            throw error("has a storage without key or location at offset " + at);
        }
        long numel = integer(t.get(4), "storage size", at);
        return new StorageRef(g.qualified(), STORAGES.get(g.name()), key, location, numel);
    }

    private long integer(Object o, String what, int at) {
        if (!(o instanceof Long v) || v < 0) {
            throw error(what + " is " + describe(o) + " at offset " + at + " (expected a non-negative integer)");
        }
        return v;
    }

    private long[] ints(Object o, String what, int at) {
        if (!(o instanceof Tuple t)) {
            throw error("tensor " + what + " is " + describe(o) + " at offset " + at + " (expected a tuple)");
        }
        long[] r = new long[t.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = integer(t.get(i), "tensor " + what + " entry", at);
        }
        return r;
    }

    private Object key(Object k, int at) {
        if (k == null || k instanceof String || k instanceof Long || k instanceof Boolean || k instanceof Double) {
            return k;
        }
        throw error("uses a " + describe(k) + " as a dict key at offset " + at);
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o, int at) {
        if (o instanceof Map<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw error("sets items on a " + describe(o) + " at offset " + at);
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o, int at) {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw error("appends to a " + describe(o) + " at offset " + at);
    }

    static String describe(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof Global g) {
            return "global " + g.qualified();
        }
        if (o instanceof String s) {
            return "string '" + (s.length() > 80 ? s.substring(0, 80) + "..." : s) + "'";
        }
        if (o instanceof Long || o instanceof Double || o instanceof Boolean) {
            return o.toString();
        }
        if (o instanceof Tuple t) {
            return "tuple of " + t.size();
        }
        if (o instanceof Map<?, ?> m) {
            return "dict of " + m.size();
        }
        if (o instanceof List<?> l) {
            return "list of " + l.size();
        }
        if (o == MARK) {
            return "mark";
        }
        return o.getClass().getSimpleName();
    }

    private Tuple tupleOf(int n, int at) {
        if (stack.size() - lastMark() < n) {
            throw error("TUPLE" + n + " on a stack of fewer than " + n + " objects at offset " + at);
        }
        List<Object> items = new ArrayList<>(stack.subList(stack.size() - n, stack.size()));
        stack.subList(stack.size() - n, stack.size()).clear();
        return new Tuple(Collections.unmodifiableList(items));
    }

    private int lastMark() {
        return marks.isEmpty() ? 0 : marks.get(marks.size() - 1) + 1;
    }

    private List<Object> popMark(int at) {
        if (marks.isEmpty()) {
            throw error("pops a MARK that was never pushed at offset " + at);
        }
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) {
            throw error("grows its stack beyond " + MAX_STACK + " objects");
        }
        stack.add(o);
    }

    private Object pop(int at) {
        if (stack.size() <= lastMark()) {
            throw error("pops from an empty stack at offset " + at);
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek(int at) {
        if (stack.size() <= lastMark()) {
            throw error("reads an empty stack at offset " + at);
        }
        return stack.get(stack.size() - 1);
    }

    private void memoPut(long index, int at) {
        Object top = peek(at);
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) {
            throw error("memoizes more than " + MAX_MEMO + " objects");
        }
        memo.put(index, top);
    }

    private Object memoGet(long index, int at) {
        if (!memo.containsKey(index)) {
            throw error("reads memo " + index + ", which was never stored, at offset " + at);
        }
        return memo.get(index);
    }

    private String string(long length, int at) {
        if (length < 0 || length > data.length - pos) {
            throw error("string of " + Long.toUnsignedString(length) + " bytes at offset " + at + " runs past the end ("
                    + (data.length - pos) + " bytes left); the pickle is truncated or corrupt");
        }
        String s = new String(data, pos, (int) length, StandardCharsets.UTF_8);
        pos += (int) length;
        return s;
    }

    private String line(int at) {
        int end = pos;
        int limit = Math.min(data.length, pos + MAX_GLOBAL_NAME);
        while (end < limit && data[end] != '\n') {
            end++;
        }
        if (end >= limit) {
            throw error("GLOBAL at offset " + at + " has no name line ending within " + MAX_GLOBAL_NAME + " bytes");
        }
        String s = new String(data, pos, end - pos, StandardCharsets.UTF_8);
        pos = end + 1;
        return s;
    }

    private void need(long n, int at) {
        if (n > data.length - pos) {
            throw error("ends inside the opcode at offset " + at + " (truncated)");
        }
    }

    private int u8() {
        need(1, pos - 1);
        return data[pos++] & 0xff;
    }

    private long u32() {
        need(4, pos - 1);
        long v = (data[pos] & 0xffL) | (data[pos + 1] & 0xffL) << 8 | (data[pos + 2] & 0xffL) << 16 | (data[pos + 3] & 0xffL) << 24;
        pos += 4;
        return v;
    }

    private long u64() {
        need(8, pos - 1);
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (data[pos + i] & 0xff);
        }
        pos += 8;
        return v;
    }

    private CheckpointFormatException error(String what) {
        return new CheckpointFormatException(where + " " + what);
    }
}
