package io.fedstream.job;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.api.common.typeutils.base.array.DoublePrimitiveArraySerializer;
import org.apache.flink.api.common.typeutils.base.array.FloatPrimitiveArraySerializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Serializers for the chunk aggregator's {@code float[]} and {@code double[]} state that write the
 * elements in blocks of bytes instead of one {@code writeFloat}/{@code writeDouble} call each.
 *
 * <p>Flink's {@link FloatPrimitiveArraySerializer} and {@link DoublePrimitiveArraySerializer} make
 * one call into the checkpoint stream per element. With a 16.8 MB model and 33.6 MB of float64 sums
 * that dominated a profile of the job (about half of all CPU samples were the heap backend's
 * asynchronous snapshot writing element by element). These write the same format (an int length,
 * then the big-endian elements), so state written by either serializer is read by the other, and a
 * savepoint taken with Flink's serializers restores with these ({@link #resolve}).
 */
public abstract class BulkArraySerializer<T> extends TypeSerializerSingleton<T> {
    private static final long serialVersionUID = 1L;

    /** Elements per block: a 64 KiB (double) or 32 KiB (float) buffer per call. */
    private static final int BLOCK = 8192;

    private static final VarHandle FLOAT_BE =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle DOUBLE_BE =
            MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.BIG_ENDIAN);

    /** {@code float[]}, in the format of {@link FloatPrimitiveArraySerializer}. */
    public static final Floats FLOATS = new Floats();

    /** {@code double[]}, in the format of {@link DoublePrimitiveArraySerializer}. */
    public static final Doubles DOUBLES = new Doubles();

    abstract int length(T array);

    abstract int width();

    abstract T newArray(int length);

    /** Writes elements [from, from + n) of the array into {@code buf} from its start. */
    abstract void encode(T array, int from, int n, byte[] buf);

    /** Reads n elements from the start of {@code buf} into the array from {@code from}. */
    abstract void decode(byte[] buf, T array, int from, int n);

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public T createInstance() {
        return newArray(0);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public T copy(T from, T reuse) {
        return copy(from);
    }

    @Override
    public void serialize(T record, DataOutputView target) throws IOException {
        if (record == null) {
            throw new IllegalArgumentException("the record must not be null");
        }
        int length = length(record);
        target.writeInt(length);
        byte[] buf = new byte[Math.min(length, BLOCK) * width()];
        for (int from = 0; from < length; from += BLOCK) {
            int n = Math.min(BLOCK, length - from);
            encode(record, from, n, buf);
            target.write(buf, 0, n * width());
        }
    }

    @Override
    public T deserialize(DataInputView source) throws IOException {
        int length = source.readInt();
        T array = newArray(length);
        byte[] buf = new byte[Math.min(length, BLOCK) * width()];
        for (int from = 0; from < length; from += BLOCK) {
            int n = Math.min(BLOCK, length - from);
            source.readFully(buf, 0, n * width());
            decode(buf, array, from, n);
        }
        return array;
    }

    @Override
    public T deserialize(T reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        int length = source.readInt();
        target.writeInt(length);
        // through a buffer: DataOutputSerializer.write(DataInputView, int) does not grow
        byte[] buf = new byte[Math.min(length, BLOCK) * width()];
        for (int from = 0; from < length; from += BLOCK) {
            int n = Math.min(BLOCK, length - from) * width();
            source.readFully(buf, 0, n);
            target.write(buf, 0, n);
        }
    }

    /**
     * Compatible as is with this serializer's snapshot and with Flink's serializer of the same
     * element type (same bytes), else whatever the default rule says.
     */
    static <T> TypeSerializerSchemaCompatibility<T> resolve(
            TypeSerializerSnapshot<T> old, Class<?> flinks, Class<?> ours) {
        if (flinks.isInstance(old) || ours.isInstance(old)) {
            return TypeSerializerSchemaCompatibility.compatibleAsIs();
        }
        return TypeSerializerSchemaCompatibility.incompatible();
    }

    /** {@code float[]} state. */
    public static final class Floats extends BulkArraySerializer<float[]> {
        private static final long serialVersionUID = 1L;

        @Override
        int length(float[] array) {
            return array.length;
        }

        @Override
        int width() {
            return Float.BYTES;
        }

        @Override
        float[] newArray(int length) {
            return new float[length];
        }

        @Override
        void encode(float[] array, int from, int n, byte[] buf) {
            for (int i = 0; i < n; i++) {
                float v = array[from + i];
                // floatToIntBits, as DataOutput.writeFloat: NaN is written canonical
                FLOAT_BE.set(buf, i * Float.BYTES, v != v ? Float.NaN : v);
            }
        }

        @Override
        void decode(byte[] buf, float[] array, int from, int n) {
            for (int i = 0; i < n; i++) {
                array[from + i] = (float) FLOAT_BE.get(buf, i * Float.BYTES);
            }
        }

        @Override
        public float[] copy(float[] from) {
            return Arrays.copyOf(from, from.length);
        }

        @Override
        public TypeSerializerSnapshot<float[]> snapshotConfiguration() {
            return new FloatsSnapshot();
        }
    }

    /** {@code double[]} state. */
    public static final class Doubles extends BulkArraySerializer<double[]> {
        private static final long serialVersionUID = 1L;

        @Override
        int length(double[] array) {
            return array.length;
        }

        @Override
        int width() {
            return Double.BYTES;
        }

        @Override
        double[] newArray(int length) {
            return new double[length];
        }

        @Override
        void encode(double[] array, int from, int n, byte[] buf) {
            for (int i = 0; i < n; i++) {
                double v = array[from + i];
                // doubleToLongBits, as DataOutput.writeDouble: NaN is written canonical
                DOUBLE_BE.set(buf, i * Double.BYTES, v != v ? Double.NaN : v);
            }
        }

        @Override
        void decode(byte[] buf, double[] array, int from, int n) {
            for (int i = 0; i < n; i++) {
                array[from + i] = (double) DOUBLE_BE.get(buf, i * Double.BYTES);
            }
        }

        @Override
        public double[] copy(double[] from) {
            return Arrays.copyOf(from, from.length);
        }

        @Override
        public TypeSerializerSnapshot<double[]> snapshotConfiguration() {
            return new DoublesSnapshot();
        }
    }

    /** Snapshot of {@link Floats}; restores from Flink's float[] serializer too. */
    public static final class FloatsSnapshot extends SimpleTypeSerializerSnapshot<float[]> {
        public FloatsSnapshot() {
            super(() -> FLOATS);
        }

        @Override
        public TypeSerializerSchemaCompatibility<float[]> resolveSchemaCompatibility(
                TypeSerializerSnapshot<float[]> old) {
            return resolve(
                    old,
                    FloatPrimitiveArraySerializer.FloatPrimitiveArraySerializerSnapshot.class,
                    FloatsSnapshot.class);
        }
    }

    /** Snapshot of {@link Doubles}; restores from Flink's double[] serializer too. */
    public static final class DoublesSnapshot extends SimpleTypeSerializerSnapshot<double[]> {
        public DoublesSnapshot() {
            super(() -> DOUBLES);
        }

        @Override
        public TypeSerializerSchemaCompatibility<double[]> resolveSchemaCompatibility(
                TypeSerializerSnapshot<double[]> old) {
            return resolve(
                    old,
                    DoublePrimitiveArraySerializer.DoublePrimitiveArraySerializerSnapshot.class,
                    DoublesSnapshot.class);
        }
    }
}
