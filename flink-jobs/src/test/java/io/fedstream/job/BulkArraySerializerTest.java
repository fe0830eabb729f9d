package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.array.DoublePrimitiveArraySerializer;
import org.apache.flink.api.common.typeutils.base.array.FloatPrimitiveArraySerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

class BulkArraySerializerTest {
    private static final int[] LENGTHS = {0, 1, 7, 8191, 8192, 8193, 20_000};

    private static float[] floats(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        float[] special = {
            -0.0f, Float.MIN_VALUE, -Float.MAX_VALUE, Float.NaN, Float.NEGATIVE_INFINITY, 1e-40f
        };
        for (int i = 0; i < Math.min(n, special.length); i++) {
            a[n - 1 - i] = special[i];
        }
        return a;
    }

    private static double[] doubles(int n, long seed) {
        Random r = new Random(seed);
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextGaussian() * 1e10;
        }
        double[] special = {
            -0.0, Double.MIN_VALUE, -Double.MAX_VALUE, Double.NaN, Double.POSITIVE_INFINITY
        };
        for (int i = 0; i < Math.min(n, special.length); i++) {
            a[n - 1 - i] = special[i];
        }
        return a;
    }

    private static <T> byte[] bytes(TypeSerializer<T> serializer, T value) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(value, out);
        return out.getCopyOfBuffer();
    }

    private static <T> T read(TypeSerializer<T> serializer, byte[] bytes) throws Exception {
        DataInputDeserializer in = new DataInputDeserializer(bytes);
        T value = serializer.deserialize(in);
        assertThat(in.available()).isZero();
        return value;
    }

    @Test
    void writesTheSameBytesAsFlinksSerializersAndReadsThem() throws Exception {
        for (int n : LENGTHS) {
            float[] f = floats(n, n);
            double[] d = doubles(n, n);

            byte[] oursF = bytes(BulkArraySerializer.FLOATS, f);
            byte[] oursD = bytes(BulkArraySerializer.DOUBLES, d);

            assertThat(oursF).isEqualTo(bytes(FloatPrimitiveArraySerializer.INSTANCE, f));
            assertThat(oursD).isEqualTo(bytes(DoublePrimitiveArraySerializer.INSTANCE, d));
            assertThat(read(BulkArraySerializer.FLOATS, oursF)).isEqualTo(f);
            assertThat(read(BulkArraySerializer.DOUBLES, oursD)).isEqualTo(d);
            assertThat(read(FloatPrimitiveArraySerializer.INSTANCE, oursF)).isEqualTo(f);
            assertThat(read(DoublePrimitiveArraySerializer.INSTANCE, oursD)).isEqualTo(d);
        }
    }

    @Test
    void copiesSerializedRecordsAndArrays() throws Exception {
        double[] d = doubles(10_000, 3);
        byte[] serialized = bytes(BulkArraySerializer.DOUBLES, d);
        DataOutputSerializer out = new DataOutputSerializer(64);

        BulkArraySerializer.DOUBLES.copy(new DataInputDeserializer(serialized), out);
        double[] copy = BulkArraySerializer.DOUBLES.copy(d);

        assertThat(out.getCopyOfBuffer()).isEqualTo(serialized);
        assertThat(copy).isEqualTo(d).isNotSameAs(d);
    }

    @Test
    void snapshotsRoundTripAndAcceptFlinksSerializers() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(
                out, BulkArraySerializer.FLOATS.snapshotConfiguration());
        TypeSerializerSnapshot<float[]> restored =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        new DataInputDeserializer(out.getCopyOfBuffer()),
                        getClass().getClassLoader());

        assertThat(restored.restoreSerializer()).isSameAs(BulkArraySerializer.FLOATS);
        assertThat(
                        compatibility(
                                        BulkArraySerializer.FLOATS,
                                        FloatPrimitiveArraySerializer.INSTANCE
                                                .snapshotConfiguration())
                                .isCompatibleAsIs())
                .isTrue();
        assertThat(
                        compatibility(
                                        BulkArraySerializer.DOUBLES,
                                        DoublePrimitiveArraySerializer.INSTANCE
                                                .snapshotConfiguration())
                                .isCompatibleAsIs())
                .isTrue();
        assertThat(compatibility(BulkArraySerializer.DOUBLES, otherType()).isIncompatible())
                .isTrue();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    // whether state written with old's serializer can be read with ours
    private static <T> TypeSerializerSchemaCompatibility<T> compatibility(
            TypeSerializer<T> ours, TypeSerializerSnapshot<T> old) {
        return ours.snapshotConfiguration().resolveSchemaCompatibility(old);
    }

    private static TypeSerializerSnapshot<double[]> otherType() {
        return (TypeSerializerSnapshot)
                FloatPrimitiveArraySerializer.INSTANCE.snapshotConfiguration();
    }

    /** Stores each input array as keyed state, emits what was stored before. */
    private static final class Store extends KeyedProcessFunction<String, double[], double[]> {
        private final TypeSerializer<double[]> serializer;
        private transient ValueState<double[]> state;

        Store(TypeSerializer<double[]> serializer) {
            this.serializer = serializer;
        }

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
            state =
                    getRuntimeContext()
                            .getState(new ValueStateDescriptor<>("round-sum", serializer));
        }

        @Override
        public void processElement(double[] value, Context ctx, Collector<double[]> out)
                throws Exception {
            double[] before = state.value();
            out.collect(before == null ? new double[0] : before);
            state.update(value);
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, double[], double[]> harness(
            TypeSerializer<double[]> serializer, StateBackend backend) throws Exception {
        var h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new Store(serializer)), v -> "k", Types.STRING);
        h.setStateBackend(backend);
        return h;
    }

    @Test
    void restoresStateThatFlinksSerializerCheckpointed() throws Exception {
        for (StateBackend backend :
                List.of(new HashMapStateBackend(), new EmbeddedRocksDBStateBackend())) {
            double[] sums = doubles(20_000, 9);
            OperatorSubtaskState snapshot;
            try (var before = harness(DoublePrimitiveArraySerializer.INSTANCE, backend)) {
                before.open();
                before.processElement(sums, 1);
                snapshot = before.snapshot(1, 2);
            }

            List<double[]> seen = new ArrayList<>();
            try (var after = harness(BulkArraySerializer.DOUBLES, backend)) {
                after.initializeState(snapshot);
                after.open();
                after.processElement(new double[] {1.0}, 3);
                after.extractOutputValues().forEach(seen::add);
            }

            assertThat(seen).singleElement().isEqualTo(sums);
        }
    }
}
