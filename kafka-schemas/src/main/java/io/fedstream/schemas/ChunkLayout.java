package io.fedstream.schemas;

import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.schemas.avro.TensorLayout;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * How a federation's parameters are cut into chunks. The tensors of the spec, in spec order, are
 * concatenated into one flattened vector of {@link #totalElements()} elements; chunk {@code c}
 * holds the contiguous range {@code [c·chunkElements, min((c+1)·chunkElements, total))}. Chunks may
 * span tensor boundaries: aggregation is element-wise, so it does not care.
 *
 * <p>Digests: an update chunk's digest is SHA-256 over its dtype ordinal (one byte) and its bytes
 * ({@link #updateChunkSha256}); a global chunk's is SHA-256 over its float32 bytes ({@link
 * #globalChunkSha256}); a chunked version's digest is SHA-256 over the layout and the chunk digests
 * ({@link #versionDigest}), so nobody needs the whole model in one buffer to compute it.
 */
public final class ChunkLayout implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final byte[] VERSION_DOMAIN =
            "fedstream-version-v1\0".getBytes(StandardCharsets.UTF_8);

    private final String[] names;
    private final int[][] shapes;
    private final long[] tensorStart;
    private final int[] tensorSize;
    private final int chunkElements;
    private final long total;
    private final int chunkCount;

    /** A chunk and an element offset within it. */
    public record Position(int chunk, int offset) {}

    private ChunkLayout(List<String> names, List<int[]> shapes, int chunkElements) {
        if (chunkElements <= 0) {
            throw new IllegalArgumentException("chunkElements must be > 0, not " + chunkElements);
        }
        if (names.size() != shapes.size() || names.isEmpty()) {
            throw new IllegalArgumentException(
                    names.size() + " tensor names for " + shapes.size() + " shapes");
        }
        this.names = names.toArray(String[]::new);
        this.shapes = new int[shapes.size()][];
        this.tensorStart = new long[names.size() + 1];
        this.tensorSize = new int[names.size()];
        for (int t = 0; t < this.names.length; t++) {
            this.shapes[t] = shapes.get(t).clone();
            long n = 1;
            for (int d : this.shapes[t]) {
                if (d <= 0) {
                    throw new IllegalArgumentException(
                            "tensor " + this.names[t] + " has a non-positive dimension");
                }
                n *= d;
            }
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor " + this.names[t] + " is too large");
            }
            tensorSize[t] = (int) n;
            tensorStart[t + 1] = tensorStart[t] + n;
        }
        this.chunkElements = chunkElements;
        this.total = tensorStart[this.names.length];
        long count = (total + chunkElements - 1) / chunkElements;
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many chunks: " + count);
        }
        this.chunkCount = (int) count;
    }

    public static ChunkLayout of(FederationSpec spec) {
        List<String> names = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        for (TensorSpec t : spec.tensors()) {
            names.add(t.name());
            shapes.add(t.shape());
        }
        return new ChunkLayout(names, shapes, spec.chunkElements());
    }

    public static ChunkLayout of(List<String> names, List<int[]> shapes, int chunkElements) {
        return new ChunkLayout(names, shapes, chunkElements);
    }

    /** The layout a chunked global version's manifest describes. */
    public static ChunkLayout of(GlobalModel g) {
        if (g.getChunkElements() <= 0) {
            throw new IllegalArgumentException(
                    "version " + g.getVersion() + " is inline, not chunked");
        }
        List<String> names = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        for (TensorLayout t : g.getLayout()) {
            names.add(t.getName());
            shapes.add(t.getShape().stream().mapToInt(Integer::intValue).toArray());
        }
        return new ChunkLayout(names, shapes, g.getChunkElements());
    }

    public int chunkElements() {
        return chunkElements;
    }

    public long totalElements() {
        return total;
    }

    public int chunkCount() {
        return chunkCount;
    }

    public int tensorCount() {
        return names.length;
    }

    public String tensorName(int t) {
        return names[t];
    }

    public int[] tensorShape(int t) {
        return shapes[t].clone();
    }

    public int tensorSize(int t) {
        return tensorSize[t];
    }

    /** Flat index of the tensor's first element. */
    public long tensorStart(int t) {
        return tensorStart[t];
    }

    /** Flat index of the chunk's first element. */
    public long chunkStart(int chunk) {
        checkChunk(chunk);
        return (long) chunk * chunkElements;
    }

    /** Elements in the chunk: chunkElements, except for a shorter last chunk. */
    public int chunkLength(int chunk) {
        checkChunk(chunk);
        return (int) Math.min(chunkElements, total - (long) chunk * chunkElements);
    }

    /** Where element {@code offset} of tensor {@code tensor} lies. */
    public Position locate(int tensor, int offset) {
        if (offset < 0 || offset >= tensorSize[tensor]) {
            throw new IndexOutOfBoundsException(
                    "offset "
                            + offset
                            + " of tensor "
                            + names[tensor]
                            + " of "
                            + tensorSize[tensor]);
        }
        long flat = tensorStart[tensor] + offset;
        return new Position((int) (flat / chunkElements), (int) (flat % chunkElements));
    }

    /** The tensor holding flat element {@code flat}. */
    public int tensorOf(long flat) {
        if (flat < 0 || flat >= total) {
            throw new IndexOutOfBoundsException("element " + flat + " of " + total);
        }
        int i = Arrays.binarySearch(tensorStart, flat);
        if (i >= 0) {
            while (i + 1 < tensorStart.length && tensorStart[i + 1] == flat) {
                i++;
            }
            return i;
        }
        return -i - 2;
    }

    private void checkChunk(int chunk) {
        if (chunk < 0 || chunk >= chunkCount) {
            throw new IndexOutOfBoundsException("chunk " + chunk + " of " + chunkCount);
        }
    }

    /** Whether the tensors have this layout's names, shapes and order. */
    public boolean matches(List<String> tensorNames, List<List<Integer>> tensorShapes) {
        if (tensorNames.size() != names.length || tensorShapes.size() != names.length) {
            return false;
        }
        for (int t = 0; t < names.length; t++) {
            List<Integer> s = tensorShapes.get(t);
            if (!names[t].equals(tensorNames.get(t)) || s.size() != shapes[t].length) {
                return false;
            }
            for (int d = 0; d < shapes[t].length; d++) {
                if (s.get(d) != shapes[t][d]) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Cuts tensors (in layout order, shapes already checked) into chunk byte arrays of one element
     * type: their common dtype, or FLOAT32 if they differ (bfloat16 widens exactly).
     *
     * @return the dtype of the chunks and their bytes
     */
    public Split split(List<Tensor> tensors) {
        if (tensors.size() != names.length) {
            throw new IllegalArgumentException(
                    tensors.size() + " tensors, the layout has " + names.length);
        }
        DType dtype = tensors.get(0).getDtype();
        for (Tensor t : tensors) {
            if (t.getDtype() != dtype) {
                dtype = DType.FLOAT32;
                break;
            }
        }
        int es = TensorCodec.elementSize(dtype);
        byte[][] chunks = new byte[chunkCount][];
        for (int c = 0; c < chunkCount; c++) {
            chunks[c] = new byte[chunkLength(c) * es];
        }
        for (int t = 0; t < names.length; t++) {
            Tensor tensor = tensors.get(t);
            ByteBuffer data;
            if (tensor.getDtype() == dtype) {
                data = tensor.getData().duplicate();
            } else {
                float[] f = TensorCodec.toFloats(tensor);
                data = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                data.asFloatBuffer().put(f);
            }
            if (data.remaining() != (long) tensorSize[t] * es) {
                throw new IllegalArgumentException(
                        "tensor " + names[t] + " has " + data.remaining() + " bytes");
            }
            long flat = tensorStart[t];
            int left = tensorSize[t];
            while (left > 0) {
                int c = (int) (flat / chunkElements);
                int off = (int) (flat % chunkElements);
                int n = Math.min(left, chunkLength(c) - off);
                data.get(chunks[c], off * es, n * es);
                flat += n;
                left -= n;
            }
        }
        return new Split(dtype, chunks);
    }

    /** Chunks of one dtype. */
    public record Split(DType dtype, byte[][] chunks) {}

    /** The chunk's range of a flattened float vector, as little-endian float32 bytes. */
    public byte[] float32Chunk(float[] flat, int chunk) {
        int n = chunkLength(chunk);
        ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(flat, (int) chunkStart(chunk), n);
        return b.array();
    }

    /** The chunk's range of a flattened float vector, copied. */
    public float[] slice(float[] flat, int chunk) {
        int from = (int) chunkStart(chunk);
        return Arrays.copyOfRange(flat, from, from + chunkLength(chunk));
    }

    /** Concatenates tensors (FLOAT32 or BFLOAT16, in layout order) into one float vector. */
    public float[] flatten(List<Tensor> tensors) {
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("model too large for one float array: " + total);
        }
        float[] out = new float[(int) total];
        for (int t = 0; t < names.length; t++) {
            float[] v = TensorCodec.toFloats(tensors.get(t));
            if (v.length != tensorSize[t]) {
                throw new IllegalArgumentException(
                        "tensor " + names[t] + " has " + v.length + " elements");
            }
            System.arraycopy(v, 0, out, (int) tensorStart[t], v.length);
        }
        return out;
    }

    /** Concatenates flat values given per tensor (layout order). */
    public float[] flatten(float[][] tensors) {
        float[] out = new float[(int) total];
        for (int t = 0; t < names.length; t++) {
            System.arraycopy(tensors[t], 0, out, (int) tensorStart[t], tensorSize[t]);
        }
        return out;
    }

    /** FLOAT32 tensors (layout order) holding the flattened values. */
    public List<Tensor> tensors(float[] flat) {
        List<Tensor> out = new ArrayList<>(names.length);
        for (int t = 0; t < names.length; t++) {
            int from = (int) tensorStart[t];
            out.add(
                    TensorCodec.float32(
                            names[t],
                            shapes[t],
                            Arrays.copyOfRange(flat, from, from + tensorSize[t])));
        }
        return out;
    }

    /** The layout as a global version's manifest records it (float32 tensors). */
    public List<TensorLayout> toAvro() {
        List<TensorLayout> out = new ArrayList<>(names.length);
        for (int t = 0; t < names.length; t++) {
            List<Integer> dims = new ArrayList<>();
            for (int d : shapes[t]) {
                dims.add(d);
            }
            out.add(
                    TensorLayout.newBuilder()
                            .setName(names[t])
                            .setShape(dims)
                            .setDtype(DType.FLOAT32)
                            .build());
        }
        return out;
    }

    /** SHA-256 of an update chunk: its dtype ordinal (one byte), then its data. Hex. */
    public static String updateChunkSha256(DType dtype, ByteBuffer data) {
        MessageDigest md = sha256();
        md.update((byte) dtype.ordinal());
        md.update(data.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }

    /** SHA-256 of an update chunk given as an array. */
    public static String updateChunkSha256(DType dtype, byte[] data) {
        return updateChunkSha256(dtype, ByteBuffer.wrap(data));
    }

    /** SHA-256 of a global chunk's float32 data. Hex. */
    public static String globalChunkSha256(ByteBuffer data) {
        MessageDigest md = sha256();
        md.update(data.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }

    public static String globalChunkSha256(byte[] data) {
        return globalChunkSha256(ByteBuffer.wrap(data));
    }

    /**
     * The digest of a chunked version: SHA-256 over {@code "fedstream-version-v1\0"}, chunk
     * elements and tensor count (little-endian ints), each tensor's name (UTF-8, zero byte), rank,
     * dimensions and dtype ordinal (FLOAT32), the chunk count and the 32 bytes of every chunk
     * digest in order. Hex.
     */
    public String versionDigest(List<String> chunkDigests) {
        if (chunkDigests.size() != chunkCount) {
            throw new IllegalArgumentException(
                    chunkDigests.size() + " chunk digests for " + chunkCount + " chunks");
        }
        MessageDigest md = sha256();
        md.update(VERSION_DOMAIN);
        ByteBuffer b = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(chunkElements).putInt(names.length).flip();
        md.update(b);
        for (int t = 0; t < names.length; t++) {
            md.update(names[t].getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            b.clear();
            b.putInt(shapes[t].length);
            for (int d : shapes[t]) {
                b.putInt(d);
            }
            b.putInt(DType.FLOAT32.ordinal());
            b.flip();
            md.update(b);
        }
        b.clear();
        b.putInt(chunkCount).flip();
        md.update(b);
        HexFormat hex = HexFormat.of();
        for (String d : chunkDigests) {
            md.update(hex.parseHex(d));
        }
        return hex.formatHex(md.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkLayout l
                && chunkElements == l.chunkElements
                && Arrays.equals(names, l.names)
                && Arrays.deepEquals(shapes, l.shapes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(names) * 31 + chunkElements;
    }

    @Override
    public String toString() {
        return "ChunkLayout{"
                + total
                + " elements in "
                + chunkCount
                + " chunks of "
                + chunkElements
                + "}";
    }
}
