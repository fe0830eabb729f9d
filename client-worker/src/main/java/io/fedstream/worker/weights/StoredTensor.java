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
 * A tensor of a safetensors file, located by its header but not read. {@link #create} copies it
 * straight into libtorch in slices of {@link #SLICE_BYTES}, never holding a Java copy of the
 * weights: a matrix stored in 16 bits ({@code BF16} or {@code F16}) stays 16-bit, as float16
 * ({@link #createHalf}), so a checkpoint in libtorch takes its file size; vectors and 32/64-bit
 * tensors become float32. Float16 and not bfloat16 because DJL 0.35's PyTorch engine aborts the JVM
 * on any bfloat16 array: its JNI maps DJL data types to libtorch's by a switch without a {@code
 * BFLOAT16} case, whose {@code throw;} outside a handler calls {@code std::terminate} (creation,
 * {@code zeros} and {@code toType} alike). Every bfloat16 value of magnitude in [2^-17, 65504] is a
 * float16 value, so the conversion is exact there; smaller ones round to float16's subnormal grid
 * (absolute error at most 2^-25, below float32's own rounding of a product with typical
 * activations), and a matrix with a value beyond float16's range stays float32. The model computes
 * in float32, widening one layer's weights at a time ({@code LoraDense}).
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

    // one direct slice buffer per loading thread, reused for every 16-bit tensor
    private static final ThreadLocal<ByteBuffer> SLICE =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(SLICE_BYTES));

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
        if (shape.length >= 2 && width() == 2) {
            NDArray half = createHalf(manager);
            if (half != null) {
                return half;
            }
        }
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
        return shaped(out);
    }

    /**
     * This 16-bit tensor as a libtorch float16 array, streamed in slices; null if a bfloat16 value
     * lies beyond float16's range (the caller then widens to float32 instead).
     */
    NDArray createHalf(NDManager manager) {
        long n = elements();
        int sliceElements = SLICE_BYTES / 2;
        NDArray out = manager.zeros(new Shape(n), DataType.FLOAT16);
        // read into and converted in one reused direct buffer that libtorch copies from: no
        // garbage per slice (DJL would copy a heap buffer into a fresh direct one every time)
        ByteBuffer slice = SLICE.get().order(ByteOrder.LITTLE_ENDIAN);
        boolean bf16 = dtype.equals("BF16");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (long from = 0; from < n; from += sliceElements) {
                int count = (int) Math.min(sliceElements, n - from);
                slice.clear().limit(count * 2);
                readFully(ch, slice, offset + from * 2);
                for (int i = 0; bf16 && i < count; i++) {
                    float f = HalfFloats.bf16ToFloat(slice.getShort(i * 2));
                    short half = HalfFloats.floatToF16(f);
                    if ((half & 0x7c00) == 0x7c00 && Float.isFinite(f)) {
                        out.close();
                        return null; // beyond float16's range: the caller keeps float32
                    }
                    slice.putShort(i * 2, half);
                }
                slice.flip().order(ByteOrder.nativeOrder());
                if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                    throw new IllegalStateException("a big-endian platform is not supported");
                }
                try (NDArray part = manager.create(slice, new Shape(count), DataType.FLOAT16)) {
                    out.set(new NDIndex(from + ":" + (from + count)), part);
                }
                slice.order(ByteOrder.LITTLE_ENDIAN);
            }
        } catch (IOException e) {
            out.close();
            throw new UncheckedIOException(file + ": cannot read tensor " + name, e);
        }
        return shaped(out);
    }

    private NDArray shaped(NDArray flat) {
        NDArray shaped = flat.reshape(djlShape());
        flat.close(); // the reshaped view keeps the storage
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
