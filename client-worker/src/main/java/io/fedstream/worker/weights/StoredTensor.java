package io.fedstream.worker.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.djl.Weight;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A tensor of a safetensors file, located by its header but not read: {@link #create} widens it to
 * float32 straight into libtorch in slices of {@link #SLICE_BYTES}, so loading a checkpoint needs
 * the model's float32 size in native memory plus one slice, and never a Java copy of the weights.
 * (DJL 0.35's PyTorch engine cannot hold bfloat16 arrays: converting to it aborts the JVM, so the
 * model computes and stores in float32.)
 *
 * @param file the safetensors file
 * @param name the tensor's name in it
 * @param dtype the safetensors dtype ({@code BF16}, {@code I64}, ...)
 * @param shape the dimensions
 * @param offset absolute byte offset of the data in {@code file}
 * @param length byte length of the data
 */
public record StoredTensor(
        Path file, String name, String dtype, int[] shape, long offset, long length)
        implements Weight {
    /** Bytes copied into libtorch at a time. */
    static final int SLICE_BYTES = 16 << 20;

    public StoredTensor {
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /**
     * Whether the dtype is one the decoder reads ({@code F32}, {@code F16}, {@code BF16}, {@code
     * F64}).
     */
    public boolean floating() {
        return switch (dtype) {
            case "F32", "F16", "BF16", "F64" -> true;
            default -> false;
        };
    }

    private int width() {
        return switch (dtype) {
            case "F64" -> 8;
            case "F32" -> 4;
            default -> 2;
        };
    }

    private void checkFloating() {
        if (!floating()) {
            throw new IllegalArgumentException(
                    file.getFileName()
                            + ": tensor "
                            + name
                            + " has dtype "
                            + dtype
                            + ", not a float (F32, F16, BF16 or F64)");
        }
    }

    @Override
    public FloatTensor toFloatTensor() {
        checkFloating();
        float[] out = new float[Math.toIntExact(elements())];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            read(ch, 0, out.length, out);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read tensor " + name, e);
        }
        return new FloatTensor(shape, out);
    }

    // elements [from, from + count) widened to float32 into out[0, count)
    private void read(FileChannel ch, long from, int count, float[] out) throws IOException {
        int w = width();
        ByteBuffer data = ByteBuffer.allocate(count * w);
        readFully(ch, data, offset + from * w);
        data.flip().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case "F32" -> data.asFloatBuffer().get(out, 0, count);
            case "F64" -> {
                for (int i = 0; i < count; i++) {
                    out[i] = (float) data.getDouble(i * 8);
                }
            }
            case "F16" -> {
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloats.f16ToFloat(data.getShort(i * 2));
                }
            }
            default -> {
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloats.bf16ToFloat(data.getShort(i * 2));
                }
            }
        }
    }

    @Override
    public NDArray create(NDManager manager) {
        checkFloating();
        long n = elements();
        int sliceElements = SLICE_BYTES / 4;
        if (n <= sliceElements) {
            return toFloatTensor().create(manager);
        }
        NDArray out = manager.zeros(new Shape(n), DataType.FLOAT32);
        float[] slice = new float[sliceElements];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (long from = 0; from < n; from += sliceElements) {
                int count = (int) Math.min(sliceElements, n - from);
                read(ch, from, count, slice);
                float[] values = count == slice.length ? slice : Arrays.copyOf(slice, count);
                try (NDArray part = manager.create(values, new Shape(count))) {
                    out.set(new NDIndex(from + ":" + (from + count)), part);
                }
            }
        } catch (IOException e) {
            out.close();
            throw new UncheckedIOException(file + ": cannot read tensor " + name, e);
        }
        NDArray shaped = out.reshape(djlShape());
        out.close(); // the reshaped view keeps the storage
        return shaped;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position)
            throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += r;
        }
    }

    /** The tensors of {@code file} by name, located through its header only. */
    public static Map<String, StoredTensor> index(Path file) throws IOException {
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        for (StoredTensor t : SafeTensors.locate(file)) {
            out.put(t.name(), t);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StoredTensor t
                && file.equals(t.file)
                && name.equals(t.name)
                && offset == t.offset
                && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return file.hashCode() * 31 + name.hashCode();
    }

    @Override
    public String toString() {
        return "StoredTensor(" + name + " " + dtype + Arrays.toString(shape) + ")";
    }
}
