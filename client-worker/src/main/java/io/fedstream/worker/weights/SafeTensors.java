package io.fedstream.worker.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fedstream.worker.djl.FloatTensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format:
 * an 8-byte little-endian header length {@code N}, {@code N} bytes of JSON mapping each tensor name
 * to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the end of the
 * header), then the little-endian tensor bytes. An optional {@code __metadata__} entry maps strings
 * to strings.
 *
 * <p>Floating tensors ({@code F32}, {@code F16}, {@code BF16}, {@code F64}) are read as float32;
 * other dtypes (integer buffers such as {@code position_ids}) are skipped. Every tensor is checked
 * to lie inside the file and to hold exactly {@code product(shape)} elements.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String METADATA = "__metadata__";
    // the reference implementation refuses larger headers
    private static final long MAX_HEADER = 100L * 1024 * 1024;

    /** Storage formats this class writes. */
    public enum DType {
        F32(4),
        F16(2),
        BF16(2);

        private final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }
    }

    private SafeTensors() {}

    // where the data starts, and the header's entries
    private record Header(long dataStart, List<Entry> entries) {}

    private static Header readHeader(FileChannel ch, Path file) throws IOException {
        long fileSize = ch.size();
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > fileSize) {
            throw new IOException(
                    file + ": not a safetensors file (header length " + headerLen + ")");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8);
        long dataStart = 8 + headerLen;
        return new Header(
                dataStart, parseHeader(headerBuf.array(), fileSize - dataStart, file.toString()));
    }

    /** The floating tensors of a file, widened to float32, in header order. */
    public static Map<String, FloatTensor> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = readHeader(ch, file);
            long dataStart = header.dataStart();
            List<Entry> entries = header.entries();
            Map<String, FloatTensor> out = new LinkedHashMap<>();
            for (Entry e : entries) {
                if (!e.floating()) {
                    continue;
                }
                long len = e.end - e.begin;
                ByteBuffer data;
                if (len == 0) {
                    data = ByteBuffer.allocate(0);
                } else {
                    data = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, len);
                }
                out.put(e.name, decode(e, data.order(ByteOrder.LITTLE_ENDIAN)));
            }
            return out;
        }
    }

    /**
     * Every tensor of a file (floating or not), located by its header, in header order; nothing
     * else is read.
     */
    static List<StoredTensor> locate(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = readHeader(ch, file);
            long dataStart = header.dataStart();
            List<StoredTensor> out = new ArrayList<>();
            for (Entry e : header.entries()) {
                out.add(
                        new StoredTensor(
                                file,
                                e.name,
                                e.dtype,
                                e.shape,
                                dataStart + e.begin,
                                e.end - e.begin));
            }
            return out;
        }
    }

    /** The floating tensors of an in-memory safetensors image, in header order. */
    public static Map<String, FloatTensor> read(byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8) {
            throw new IOException("not a safetensors image: " + bytes.length + " bytes");
        }
        long headerLen = buf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
            throw new IOException("not a safetensors image (header length " + headerLen + ")");
        }
        byte[] header = new byte[(int) headerLen];
        System.arraycopy(bytes, 8, header, 0, header.length);
        int dataStart = 8 + (int) headerLen;
        List<Entry> entries = parseHeader(header, bytes.length - dataStart, "image");
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.floating()) {
                ByteBuffer slice =
                        ByteBuffer.wrap(bytes, dataStart + (int) e.begin, (int) (e.end - e.begin))
                                .slice()
                                .order(ByteOrder.LITTLE_ENDIAN);
                out.put(e.name, decode(e, slice));
            }
        }
        return out;
    }

    /** The {@code __metadata__} strings of a file (empty if none). */
    public static Map<String, String> metadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > ch.size()) {
                throw new IOException(file + ": not a safetensors file");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8);
            JsonNode meta = JSON.readTree(headerBuf.array()).get(METADATA);
            Map<String, String> out = new LinkedHashMap<>();
            if (meta != null) {
                meta.fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().asText()));
            }
            return out;
        }
    }

    /** Writes {@code tensors} (in map order) as {@code dtype}, with optional metadata. */
    public static void write(
            Path file, Map<String, FloatTensor> tensors, DType dtype, Map<String, String> metadata)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, FloatTensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new IllegalArgumentException("tensor name " + METADATA + " is reserved");
            }
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype.name());
            ArrayNode shape = t.putArray("shape");
            for (int d : e.getValue().shape()) {
                shape.add(d);
            }
            long end = offset + (long) e.getValue().size() * dtype.bytes();
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        // pad the header with spaces so the data starts 8-byte aligned, like the reference writer
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(padded).put(json);
            while (prefix.hasRemaining()) {
                prefix.put((byte) ' ');
            }
            out.write(prefix.array());
            for (FloatTensor t : tensors.values()) {
                out.write(encode(t.data(), dtype));
            }
        }
    }

    /** {@link #write(Path, Map, DType, Map)} as F32 without metadata. */
    public static void write(Path file, Map<String, FloatTensor> tensors) throws IOException {
        write(file, tensors, DType.F32, Map.of());
    }

    private static byte[] encode(float[] values, DType dtype) {
        ByteBuffer buf =
                ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> buf.asFloatBuffer().put(values);
            case F16 -> {
                for (float v : values) {
                    buf.putShort(HalfFloats.floatToF16(v));
                }
            }
            case BF16 -> {
                for (float v : values) {
                    buf.putShort(HalfFloats.floatToBf16(v));
                }
            }
        }
        return buf.array();
    }

    private record Entry(String name, String dtype, int[] shape, long begin, long end) {
        boolean floating() {
            return switch (dtype) {
                case "F32", "F16", "BF16", "F64" -> true;
                default -> false;
            };
        }
    }

    private static List<Entry> parseHeader(byte[] header, long dataSize, String source)
            throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw new IOException(source + ": bad safetensors header: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(source + ": safetensors header is not a JSON object");
        }
        List<Entry> entries = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = root.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals(METADATA)) {
                continue;
            }
            JsonNode t = f.getValue();
            JsonNode shapeNode = t.get("shape");
            JsonNode offsets = t.get("data_offsets");
            if (!t.hasNonNull("dtype")
                    || shapeNode == null
                    || !shapeNode.isArray()
                    || offsets == null
                    || offsets.size() != 2) {
                throw new IOException(source + ": malformed entry for tensor " + f.getKey());
            }
            int[] shape = new int[shapeNode.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                long d = shapeNode.get(i).asLong(-1);
                if (d < 0 || d > Integer.MAX_VALUE) {
                    throw new IOException(source + ": bad shape for tensor " + f.getKey());
                }
                shape[i] = (int) d;
                elements *= d;
            }
            String dtype = t.get("dtype").asText();
            long begin = offsets.get(0).asLong(-1);
            long end = offsets.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > dataSize) {
                throw new IOException(
                        source + ": tensor " + f.getKey() + " lies outside the data section");
            }
            int width = width(dtype);
            if (width > 0 && end - begin != elements * width) {
                throw new IOException(
                        source
                                + ": tensor "
                                + f.getKey()
                                + " has "
                                + (end - begin)
                                + " bytes, its "
                                + dtype
                                + " shape needs "
                                + elements * width);
            }
            if (width > 0 && elements > Integer.MAX_VALUE) {
                throw new IOException(source + ": tensor " + f.getKey() + " is too large");
            }
            entries.add(new Entry(f.getKey(), dtype, shape, begin, end));
        }
        return entries;
    }

    private static int width(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> -1;
        };
    }

    private static FloatTensor decode(Entry e, ByteBuffer data) {
        int n = 1;
        for (int d : e.shape) {
            n *= d;
        }
        float[] out = new float[n];
        switch (e.dtype) {
            case "F32" -> data.asFloatBuffer().get(out);
            case "F64" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) data.getDouble(i * 8);
                }
            }
            case "F16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.f16ToFloat(data.getShort(i * 2));
                }
            }
            case "BF16" -> {
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(data.getShort(i * 2));
                }
            }
            default -> throw new IllegalStateException("not a floating dtype: " + e.dtype);
        }
        return new FloatTensor(e.shape, out);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position)
            throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }
}
