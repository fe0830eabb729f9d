package io.fedstream.worker.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.worker.djl.FloatTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir Path dir;

    private static Map<String, FloatTensor> sample() {
        Map<String, FloatTensor> t = new LinkedHashMap<>();
        t.put(
                "a.weight",
                new FloatTensor(new int[] {2, 3}, new float[] {1, -2, 3.25f, 0, 1e-3f, -7}));
        t.put("a.bias", new FloatTensor(new int[] {3}, new float[] {0.1f, 0.2f, 0.3f}));
        t.put("scalar", new FloatTensor(new int[0], new float[] {42}));
        return t;
    }

    @Test
    void float32RoundTripIsExactAndKeepsOrderAndMetadata() throws IOException {
        Path file = dir.resolve("m.safetensors");

        SafeTensors.write(file, sample(), SafeTensors.DType.F32, Map.of("format", "pt"));
        Map<String, FloatTensor> back = SafeTensors.read(file);

        assertThat(back).containsExactlyEntriesOf(sample());
        assertThat(SafeTensors.metadata(file)).containsExactly(Map.entry("format", "pt"));
        long headerLen =
                ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen % 8).isZero();
        assertThat(SafeTensors.read(Files.readAllBytes(file))).containsExactlyEntriesOf(sample());
    }

    @Test
    void halfPrecisionFilesAreWidenedToTheRoundedValues() throws IOException {
        for (SafeTensors.DType dtype :
                new SafeTensors.DType[] {SafeTensors.DType.F16, SafeTensors.DType.BF16}) {
            Path file = dir.resolve(dtype + ".safetensors");

            SafeTensors.write(file, sample(), dtype, Map.of());
            FloatTensor w = SafeTensors.read(file).get("a.weight");

            float[] original = sample().get("a.weight").data();
            for (int i = 0; i < original.length; i++) {
                float expected =
                        dtype == SafeTensors.DType.F16
                                ? HalfFloats.f16ToFloat(HalfFloats.floatToF16(original[i]))
                                : HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(original[i]));
                assertThat(w.data()[i]).isEqualTo(expected);
                assertThat(w.data()[i])
                        .isCloseTo(
                                original[i],
                                org.assertj.core.data.Offset.offset(
                                        0.02f * Math.abs(original[i]) + 1e-6f));
            }
        }
    }

    /**
     * A 16-bit matrix enters libtorch as float16, exactly for bfloat16 values in [2^-17, 65504] and
     * within 2^-25 below; one with a value beyond float16's range stays float32, exactly.
     */
    @Test
    void aBfloat16MatrixIsHeldAsFloat16OrAsFloat32BeyondItsRange() throws IOException {
        float[] values = {0.0173f, -1.5e-6f, 3e-9f, -0.75f, 60000f, 2f / 3, 1e-5f, -4e-8f};
        float[] large = values.clone();
        large[4] = 70000f;
        Path file = dir.resolve("m.safetensors");
        Map<String, FloatTensor> tensors = new LinkedHashMap<>();
        tensors.put("fits", new FloatTensor(new int[] {2, 4}, values));
        tensors.put("large", new FloatTensor(new int[] {2, 4}, large));
        SafeTensors.write(file, tensors, SafeTensors.DType.BF16, Map.of());
        Map<String, StoredTensor> stored = StoredTensor.index(file);
        try (ai.djl.ndarray.NDManager m =
                io.fedstream.worker.djl.DjlRuntime.engine().newBaseManager()) {
            ai.djl.ndarray.NDArray half = stored.get("fits").create(m);
            assertThat(half.getDataType()).isEqualTo(ai.djl.ndarray.types.DataType.FLOAT16);
            assertThat(half.getShape()).isEqualTo(new ai.djl.ndarray.types.Shape(2, 4));
            float[] got = half.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            for (int i = 0; i < values.length; i++) {
                float bf16 = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i]));
                if (Math.abs(bf16) >= 0x1p-17f) {
                    assertThat(got[i]).as("value %d", i).isEqualTo(bf16);
                } else {
                    assertThat(got[i])
                            .as("value %d", i)
                            .isCloseTo(bf16, org.assertj.core.data.Offset.offset(0x1p-25f));
                }
            }
            ai.djl.ndarray.NDArray wide = stored.get("large").create(m);
            assertThat(wide.getDataType()).isEqualTo(ai.djl.ndarray.types.DataType.FLOAT32);
            float[] exact = wide.toFloatArray();
            for (int i = 0; i < large.length; i++) {
                assertThat(exact[i])
                        .isEqualTo(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(large[i])));
            }
        }
    }

    @Test
    void integerTensorsAreSkipped() throws IOException {
        String header =
                "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                        + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}";
        ByteBuffer buf = image(header, 20);
        buf.putLong(7).putLong(8).putFloat(1.5f);

        Map<String, FloatTensor> read = SafeTensors.read(buf.array());

        assertThat(read).containsOnlyKeys("w");
        assertThat(read.get("w").data()).containsExactly(1.5f);
    }

    @Test
    void rejectsTensorsOutsideTheDataOrWithTheWrongSize() {
        String outside = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        String wrongSize = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";

        assertThatThrownBy(() -> SafeTensors.read(image(outside, 4).array()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("outside");
        assertThatThrownBy(() -> SafeTensors.read(image(wrongSize, 8).array()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("needs 12");
        assertThatThrownBy(() -> SafeTensors.read(new byte[] {1, 2, 3}))
                .isInstanceOf(IOException.class);
    }

    @Test
    void halfFloatConversionsRoundTripEveryHalfAndRoundToNearestEven() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = HalfFloats.f16ToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertThat(HalfFloats.floatToF16(f) & 0xffff).as("half %04x", bits).isEqualTo(bits);
            }
            float b = HalfFloats.bf16ToFloat((short) bits);
            if (!Float.isNaN(b)) {
                assertThat(HalfFloats.floatToBf16(b) & 0xffff).isEqualTo(bits);
            }
        }
        assertThat(HalfFloats.floatToF16(1f)).isEqualTo((short) 0x3c00);
        assertThat(HalfFloats.floatToF16(65504f)).isEqualTo((short) 0x7bff);
        assertThat(HalfFloats.floatToF16(65520f)).isEqualTo((short) 0x7c00);
        assertThat(HalfFloats.floatToF16(0x1p-24f)).isEqualTo((short) 0x0001);
        assertThat(HalfFloats.floatToF16(0x1p-25f)).isEqualTo((short) 0); // tie to even
        assertThat(HalfFloats.floatToF16(0x1.8p-24f)).isEqualTo((short) 0x0002); // tie to even
        assertThat(HalfFloats.floatToF16(1 + 0x1p-11f)).isEqualTo((short) 0x3c00); // tie to even
        assertThat(HalfFloats.floatToF16(1 + 0x1.8p-10f)).isEqualTo((short) 0x3c02);
        assertThat(HalfFloats.floatToBf16(1 + 0x1p-8f)).isEqualTo((short) 0x3f80); // tie to even
        assertThat(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(Float.NaN)))).isTrue();
    }

    private static ByteBuffer image(String header, int dataBytes) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf =
                ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(json.length).put(json);
        return buf;
    }
}
