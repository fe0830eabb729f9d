package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.worker.djl.FloatTensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OnnxWeightsTest {
    private static OnnxWeights miniLm;

    @BeforeAll
    static void readMiniLm() throws IOException {
        miniLm = MiniLm.onnx();
    }

    @Test
    void readsEveryInitializerOfTheMiniLmGraph() {
        assertThat(miniLm.producer()).isEqualTo("pytorch");
        assertThat(miniLm.graphInputs())
                .containsExactly("input_ids", "attention_mask", "token_type_ids");
        assertThat(miniLm.graphOutputs()).containsExactly("last_hidden_state");
        assertThat(miniLm.initializers()).hasSize(101);
        assertThat(miniLm.otherInitializers())
                .containsExactly(Map.entry("embeddings.position_ids", OnnxWeights.INT64));
        assertThat(miniLm.parameterCount())
                .isEqualTo(22_565_376L)
                .isEqualTo(BertConfig.MINILM_L6.parameterCount());
        assertThat(miniLm.nodes()).hasSize(637);
    }

    @Test
    void mapsEveryGenericMatMulWeightToItsLayer() {
        Map<String, String> mapping = miniLm.linearWeightNames();

        assertThat(mapping).hasSize(6 * BertWeights.LINEAR_MODULES.size());
        assertThat(mapping.keySet()).allMatch(name -> name.startsWith("onnx::MatMul_"));
        assertThat(mapping.values())
                .containsExactlyInAnyOrderElementsOf(
                        BertWeights.expectedShapes(BertConfig.MINILM_L6).keySet().stream()
                                .filter(
                                        n ->
                                                n.startsWith("encoder.")
                                                                && n.endsWith("dense.weight")
                                                        || n.matches(
                                                                ".*self\\.(query|key|value)\\.weight"))
                                .toList());
        assertThat(mapping.get("onnx::MatMul_787"))
                .isEqualTo("encoder.layer.0.attention.self.query.weight");
        assertThat(mapping.get("onnx::MatMul_864"))
                .isEqualTo("encoder.layer.5.output.dense.weight");
    }

    @Test
    void bertWeightsAreTransposedToPyTorchLayoutAndTheConfigIsInferred() {
        BertWeights weights = miniLm.bertWeights();

        FloatTensor onnxW = miniLm.initializers().get("onnx::MatMul_798"); // [in 384, out 1536]
        FloatTensor w = weights.get("encoder.layer.0.intermediate.dense.weight");
        assertThat(onnxW.shape()).containsExactly(384, 1536);
        assertThat(w.shape()).containsExactly(1536, 384);
        assertThat(w.data()[5 * 384 + 7]).isEqualTo(onnxW.data()[7 * 1536 + 5]);
        assertThat(miniLm.bertConfig()).isEqualTo(BertConfig.MINILM_L6);
        weights.validate(BertConfig.MINILM_L6);
    }

    @Test
    void readsFloatDataHalfPrecisionConstantsAndScopeNamesOfAHandWrittenGraph() {
        byte[] model =
                model(
                        graph(
                                // float_data, packed; weight of "/enc/dense/MatMul" without a named
                                // bias
                                tensor(
                                        "W",
                                        FLOAT,
                                        List.of(2L, 3L),
                                        packedFloats(1, 2, 3, 4, 5, 6),
                                        4),
                                // raw_data
                                tensor(
                                        "enc.proj.bias",
                                        FLOAT,
                                        List.of(3L),
                                        raw(0.5f, 0.25f, 0.125f),
                                        9),
                                tensor(
                                        "V",
                                        FLOAT,
                                        List.of(3L, 3L),
                                        raw(1, 0, 0, 0, 1, 0, 0, 0, 1),
                                        9),
                                // FLOAT16 in int32_data
                                tensor(
                                        "half",
                                        FLOAT16,
                                        List.of(2L),
                                        packedVarints(0x3c00, 0xc000),
                                        5),
                                node(
                                        "/enc/dense/MatMul",
                                        "MatMul",
                                        List.of("x", "W"),
                                        List.of("y")),
                                node("", "MatMul", List.of("y", "V"), List.of("z")),
                                node("", "Add", List.of("enc.proj.bias", "z"), List.of("out")),
                                constant("eps", 1e-5f)));

        OnnxWeights onnx = OnnxWeights.parse(model);

        assertThat(onnx.initializers().get("W"))
                .isEqualTo(new FloatTensor(new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
        assertThat(onnx.initializers().get("enc.proj.bias").data())
                .containsExactly(0.5f, 0.25f, 0.125f);
        assertThat(onnx.initializers().get("half").data()).containsExactly(1f, -2f);
        assertThat(onnx.constants().get("eps").data()).containsExactly(1e-5f);
        assertThat(onnx.linearWeightNames())
                .containsExactly(
                        Map.entry("W", "enc.dense.weight"), Map.entry("V", "enc.proj.weight"));
        assertThat(onnx.bertWeights().get("enc.dense.weight"))
                .isEqualTo(new FloatTensor(new int[] {3, 2}, new float[] {1, 4, 2, 5, 3, 6}));
    }

    @Test
    void refusesExternalDataAndTruncatedInput() {
        byte[] externalTensor =
                concat(tensorProto("w", FLOAT, List.of(1L), new byte[0], 0), tag(14, 0), varint(1));
        byte[] external = model(graph(field(5, externalTensor)));

        assertThatThrownBy(() -> OnnxWeights.parse(external))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("external");
        byte[] model = model(graph(tensor("w", FLOAT, List.of(2L), raw(1, 2), 9)));
        byte[] truncated = java.util.Arrays.copyOf(model, model.length - 3);
        assertThatThrownBy(() -> OnnxWeights.parse(truncated))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("malformed");
    }

    // ---- a minimal protobuf writer for ONNX messages ----

    private static final int FLOAT = 1;
    private static final int FLOAT16 = 10;

    private static byte[] model(byte[] graph) {
        return concat(
                tag(1, 0),
                varint(8),
                field(2, "test".getBytes(StandardCharsets.UTF_8)),
                field(7, graph));
    }

    private static byte[] graph(byte[]... parts) {
        return concat(parts);
    }

    /**
     * A graph initializer (field 5) holding a TensorProto with {@code data} in field {@code
     * dataField}.
     */
    private static byte[] tensor(
            String name, int type, List<Long> dims, byte[] data, int dataField) {
        return field(5, tensorProto(name, type, dims, data, dataField));
    }

    private static byte[] tensorProto(
            String name, int type, List<Long> dims, byte[] data, int dataField) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (long d : dims) {
            out.writeBytes(tag(1, 0));
            out.writeBytes(varint(d));
        }
        out.writeBytes(tag(2, 0));
        out.writeBytes(varint(type));
        out.writeBytes(field(8, name.getBytes(StandardCharsets.UTF_8)));
        if (dataField != 0) {
            out.writeBytes(field(dataField, data));
        }
        return out.toByteArray();
    }

    private static byte[] node(String name, String op, List<String> inputs, List<String> outputs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        inputs.forEach(i -> out.writeBytes(field(1, i.getBytes(StandardCharsets.UTF_8))));
        outputs.forEach(o -> out.writeBytes(field(2, o.getBytes(StandardCharsets.UTF_8))));
        out.writeBytes(field(3, name.getBytes(StandardCharsets.UTF_8)));
        out.writeBytes(field(4, op.getBytes(StandardCharsets.UTF_8)));
        return field(1, out.toByteArray());
    }

    private static byte[] constant(String output, float value) {
        byte[] t = tensorProto("", FLOAT, List.of(), raw(value), 9);
        byte[] attr = concat(field(1, "value".getBytes(StandardCharsets.UTF_8)), field(5, t));
        byte[] node =
                concat(
                        field(2, output.getBytes(StandardCharsets.UTF_8)),
                        field(4, "Constant".getBytes(StandardCharsets.UTF_8)),
                        field(5, attr));
        return field(1, node);
    }

    private static byte[] raw(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private static byte[] packedFloats(float... values) {
        return raw(values);
    }

    private static byte[] packedVarints(long... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (long v : values) {
            out.writeBytes(varint(v));
        }
        return out.toByteArray();
    }

    private static byte[] field(int number, byte[] payload) {
        return concat(tag(number, 2), varint(payload.length), payload);
    }

    private static byte[] tag(int number, int wireType) {
        return varint((long) number << 3 | wireType);
    }

    private static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7fL) != 0) {
            out.write((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
