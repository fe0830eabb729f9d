package io.fedstream.worker.bert;

import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.HalfFloats;
import io.fedstream.worker.weights.ProtoReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights and the node graph of an ONNX model, read with a small hand-written protobuf reader
 * (no protobuf or ONNX library): {@code ModelProto.graph} with its {@code initializer} tensors and
 * its {@code node} list (op type, inputs, outputs, float attributes, and the values of {@code
 * Constant} nodes).
 *
 * <p>Float initializers are read from {@code raw_data} or {@code float_data}; FLOAT16, BFLOAT16 and
 * DOUBLE initializers are widened to float. Integer initializers (e.g. BERT's {@code position_ids})
 * are listed in {@link #otherInitializers()} but not decoded. Tensors stored outside the file
 * (external data) are refused.
 *
 * <h2>BERT exports</h2>
 *
 * PyTorch's exporter names the embeddings, biases and LayerNorm parameters after the module ({@code
 * encoder.layer.3.attention.self.query.bias}) but turns every {@code nn.Linear} weight into a
 * transposed {@code [in, out]} constant with a generated name ({@code onnx::MatMul_1234}) feeding a
 * {@code MatMul}. {@link #bertWeights()} recovers each such weight by following the graph: the
 * {@code MatMul(x, W)} output is consumed by an {@code Add} whose other operand is the named bias
 * ({@code ...query.bias}), so {@code W} is that layer's weight ({@code ...query.weight}),
 * transposed back to PyTorch's {@code [out, in]}. If no named bias is found the MatMul node's scope
 * path ({@code /encoder/layer.3/attention/self/query/MatMul}) is used instead.
 *
 * <p>Over 600 lines: one format's reader (protobuf wire decoding and the BERT graph walk that names
 * its weights), kept together because each half is only used by the other.
 */
public final class OnnxWeights {
    // TensorProto.DataType
    static final int FLOAT = 1;
    static final int INT64 = 7;
    static final int FLOAT16 = 10;
    static final int DOUBLE = 11;
    static final int BFLOAT16 = 16;
    private static final int EXTERNAL = 1;

    /** One graph node. {@code floatAttributes} holds the node's scalar float attributes. */
    public record Node(
            String name,
            String opType,
            List<String> inputs,
            List<String> outputs,
            Map<String, Float> floatAttributes) {
        public Node {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
            floatAttributes = Map.copyOf(floatAttributes);
        }
    }

    private final long irVersion;
    private final String producer;
    private final Map<String, FloatTensor> initializers;
    private final Map<String, Integer> otherInitializers;
    private final Map<String, FloatTensor> constants;
    private final List<Node> nodes;
    private final List<String> graphInputs;
    private final List<String> graphOutputs;

    private OnnxWeights(
            long irVersion,
            String producer,
            Map<String, FloatTensor> initializers,
            Map<String, Integer> otherInitializers,
            Map<String, FloatTensor> constants,
            List<Node> nodes,
            List<String> graphInputs,
            List<String> graphOutputs) {
        this.irVersion = irVersion;
        this.producer = producer;
        this.initializers = Collections.unmodifiableMap(initializers);
        this.otherInitializers = Collections.unmodifiableMap(otherInitializers);
        this.constants = Collections.unmodifiableMap(constants);
        this.nodes = List.copyOf(nodes);
        this.graphInputs = List.copyOf(graphInputs);
        this.graphOutputs = List.copyOf(graphOutputs);
    }

    /** Reads a serialised {@code ModelProto} (the stream is read to its end, not closed). */
    public static OnnxWeights read(InputStream in) throws IOException {
        return parse(in.readAllBytes());
    }

    public static OnnxWeights read(Path file) throws IOException {
        return parse(Files.readAllBytes(file));
    }

    /** Parses a serialised {@code ModelProto}. */
    public static OnnxWeights parse(byte[] model) {
        ProtoReader r = new ProtoReader(model);
        long ir = 0;
        String producer = "";
        ProtoReader graph = null;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> ir = r.readVarint();
                case 2 -> producer = r.readString();
                case 7 -> graph = r.readMessage();
                default -> r.skip();
            }
        }
        if (graph == null) {
            throw new IllegalArgumentException("not an ONNX model: no graph");
        }
        Map<String, FloatTensor> inits = new LinkedHashMap<>();
        Map<String, Integer> others = new LinkedHashMap<>();
        Map<String, FloatTensor> constants = new LinkedHashMap<>();
        List<Node> nodes = new ArrayList<>();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        while (graph.next()) {
            switch (graph.field()) {
                case 1 -> nodes.add(readNode(graph.readMessage(), constants));
                case 5 -> {
                    RawTensor t = readTensor(graph.readMessage());
                    if (t.isFloating()) {
                        inits.put(t.name, t.toFloat());
                    } else {
                        others.put(t.name, t.dataType);
                    }
                }
                case 11 -> inputs.add(valueInfoName(graph.readMessage()));
                case 12 -> outputs.add(valueInfoName(graph.readMessage()));
                default -> graph.skip();
            }
        }
        return new OnnxWeights(ir, producer, inits, others, constants, nodes, inputs, outputs);
    }

    public long irVersion() {
        return irVersion;
    }

    /** {@code producer_name}, e.g. {@code pytorch}. */
    public String producer() {
        return producer;
    }

    /** Floating initializers by name, in graph order. */
    public Map<String, FloatTensor> initializers() {
        return initializers;
    }

    /** Non-floating initializers: name to ONNX data type. */
    public Map<String, Integer> otherInitializers() {
        return otherInitializers;
    }

    /** Values of floating {@code Constant} nodes by output name. */
    public Map<String, FloatTensor> constants() {
        return constants;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public List<String> graphInputs() {
        return graphInputs;
    }

    public List<String> graphOutputs() {
        return graphOutputs;
    }

    /** Total number of floating initializer values. */
    public long parameterCount() {
        long n = 0;
        for (FloatTensor t : initializers.values()) {
            n += t.size();
        }
        return n;
    }

    /**
     * For every {@code MatMul} whose right operand is a matrix initializer: initializer name to the
     * HF name of the linear weight it is (see the class comment), in graph order.
     */
    public Map<String, String> linearWeightNames() {
        Map<String, List<Node>> consumers = consumers();
        Map<String, String> out = new LinkedHashMap<>();
        for (Node n : nodes) {
            if (!n.opType().equals("MatMul") || n.inputs().size() != 2) {
                continue;
            }
            String w = n.inputs().get(1);
            FloatTensor t = initializers.get(w);
            if (t == null || t.rank() != 2) {
                continue;
            }
            String name = weightNameFromBias(n, consumers);
            if (name == null) {
                name = weightNameFromScope(n);
            }
            if (name == null) {
                throw new IllegalArgumentException(
                        "cannot tell which layer MatMul weight " + w + " belongs to");
            }
            String previous = out.put(w, BertWeights.normalize(name));
            if (previous != null && !previous.equals(out.get(w))) {
                throw new IllegalArgumentException(
                        "initializer " + w + " is used as two weights: " + previous + ", " + name);
            }
        }
        return out;
    }

    /**
     * The encoder weights under HF names and PyTorch layouts: the named initializers as they are,
     * plus every MatMul weight mapped by {@link #linearWeightNames()} and transposed to {@code
     * [out, in]}.
     */
    public BertWeights bertWeights() {
        Map<String, String> linear = linearWeightNames();
        Map<String, FloatTensor> named = new LinkedHashMap<>();
        for (Map.Entry<String, FloatTensor> e : initializers.entrySet()) {
            String mapped = linear.get(e.getKey());
            if (mapped != null) {
                named.put(mapped, e.getValue().transpose());
            } else {
                named.put(e.getKey(), e.getValue());
            }
        }
        return BertWeights.of(named);
    }

    /**
     * The encoder configuration: dimensions from the weights, the number of heads from the
     * attention scale constant ({@code scores / sqrt(headDim)}) and the LayerNorm epsilon from the
     * graph's LayerNorm (decomposed {@code Sqrt(var + eps)} or a {@code LayerNormalization} node).
     */
    public BertConfig bertConfig() {
        return bertConfig(bertWeights());
    }

    /** {@link #bertConfig()} given this graph's {@link #bertWeights()}, to avoid reading twice. */
    public BertConfig bertConfig(BertWeights weights) {
        int hidden = weights.get(BertWeights.WORD_EMBEDDINGS).dim(1);
        int headDim = attentionHeadDim();
        if (headDim <= 0 || hidden % headDim != 0) {
            throw new IllegalArgumentException(
                    "attention head width " + headDim + " does not divide hidden size " + hidden);
        }
        return weights.inferConfig(hidden / headDim, layerNormEps());
    }

    /** The width of an attention head, from the scale applied to the first attention scores. */
    int attentionHeadDim() {
        Map<String, Node> producers = producers();
        for (Node softmax : nodes) {
            if (!softmax.opType().equals("Softmax")) {
                continue;
            }
            // walk back through at most a few Adds (mask) to the Div or Mul by the scale
            List<Node> frontier = new ArrayList<>();
            frontier.add(producers.get(softmax.inputs().get(0)));
            for (int depth = 0; depth < 3 && !frontier.isEmpty(); depth++) {
                List<Node> next = new ArrayList<>();
                for (Node n : frontier) {
                    if (n == null) {
                        continue;
                    }
                    if (n.opType().equals("Div") || n.opType().equals("Mul")) {
                        Float c = scalar(n.inputs().get(1));
                        if (c != null && c > 0) {
                            double d = n.opType().equals("Div") ? c * c : 1 / ((double) c * c);
                            return (int) Math.round(d);
                        }
                    }
                    for (String in : n.inputs()) {
                        next.add(producers.get(in));
                    }
                }
                frontier = next;
            }
            break;
        }
        throw new IllegalArgumentException("cannot find the attention scale in the graph");
    }

    /** The LayerNorm epsilon of the graph, 1e-12 (BERT's) if none is found. */
    double layerNormEps() {
        Map<String, Node> producers = producers();
        for (Node n : nodes) {
            if (n.opType().equals("LayerNormalization")) {
                Float eps = n.floatAttributes().get("epsilon");
                return eps == null ? 1e-5 : shortest(eps);
            }
            if (n.opType().equals("Sqrt")) {
                Node add = producers.get(n.inputs().get(0));
                if (add != null && add.opType().equals("Add")) {
                    for (String in : add.inputs()) {
                        Float c = scalar(in);
                        if (c != null) {
                            return shortest(c);
                        }
                    }
                }
            }
        }
        return 1e-12;
    }

    // the double that prints like the float (1e-12, not 9.999999960041972E-13)
    private static double shortest(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    private Float scalar(String value) {
        FloatTensor t = constants.get(value);
        if (t == null) {
            t = initializers.get(value);
        }
        return t != null && t.size() == 1 ? t.data()[0] : null;
    }

    private String weightNameFromBias(Node matMul, Map<String, List<Node>> consumers) {
        for (Node c : consumers.getOrDefault(matMul.outputs().get(0), List.of())) {
            if (!c.opType().equals("Add")) {
                continue;
            }
            for (String in : c.inputs()) {
                if (!in.equals(matMul.outputs().get(0))
                        && initializers.containsKey(in)
                        && in.endsWith(".bias")) {
                    return in.substring(0, in.length() - "bias".length()) + "weight";
                }
            }
        }
        return null;
    }

    // "/encoder/layer.3/attention/self/query/MatMul" ->
    // "encoder.layer.3.attention.self.query.weight"
    private static String weightNameFromScope(Node matMul) {
        String path = !matMul.name().isEmpty() ? matMul.name() : matMul.outputs().get(0);
        int slash = path.lastIndexOf('/');
        if (!path.startsWith("/") || slash <= 0) {
            return null;
        }
        return path.substring(1, slash).replace('/', '.') + ".weight";
    }

    private Map<String, List<Node>> consumers() {
        Map<String, List<Node>> out = new HashMap<>();
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                out.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        return out;
    }

    private Map<String, Node> producers() {
        Map<String, Node> out = new HashMap<>();
        for (Node n : nodes) {
            for (String o : n.outputs()) {
                out.put(o, n);
            }
        }
        return out;
    }

    private static String valueInfoName(ProtoReader r) {
        String name = "";
        while (r.next()) {
            if (r.field() == 1) {
                name = r.readString();
            } else {
                r.skip();
            }
        }
        return name;
    }

    private static Node readNode(ProtoReader r, Map<String, FloatTensor> constants) {
        String name = "";
        String op = "";
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        Map<String, Float> floats = new LinkedHashMap<>();
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> inputs.add(r.readString());
                case 2 -> outputs.add(r.readString());
                case 3 -> name = r.readString();
                case 4 -> op = r.readString();
                case 5 -> readAttribute(r.readMessage(), floats, tensors);
                default -> r.skip();
            }
        }
        if (op.equals("Constant") && outputs.size() == 1) {
            RawTensor value = tensors.get("value");
            if (value != null && value.isFloating()) {
                constants.put(outputs.get(0), value.toFloat());
            } else if (floats.containsKey("value_float")) {
                constants.put(
                        outputs.get(0),
                        new FloatTensor(new int[0], new float[] {floats.get("value_float")}));
            }
        }
        return new Node(name, op, inputs, outputs, floats);
    }

    private static void readAttribute(
            ProtoReader r, Map<String, Float> floats, Map<String, RawTensor> tensors) {
        String name = "";
        Float f = null;
        RawTensor t = null;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> name = r.readString();
                case 2 -> f = r.readFloat();
                case 5 -> t = readTensor(r.readMessage());
                default -> r.skip();
            }
        }
        if (f != null) {
            floats.put(name, f);
        }
        if (t != null) {
            tensors.put(name, t);
        }
    }

    /** A TensorProto before decoding: where its values are in the model bytes. */
    private static final class RawTensor {
        String name = "";
        int dataType;
        final List<Long> dims = new ArrayList<>();
        byte[] buf;
        int[] raw; // {offset, length} of raw_data
        final List<int[]> floatData = new ArrayList<>(); // windows of packed float_data
        final List<Float> floatValues = new ArrayList<>(); // unpacked float_data
        final List<Integer> int32Values = new ArrayList<>(); // int32_data (F16/BF16 bits)
        final List<Double> doubleValues = new ArrayList<>();
        int dataLocation;

        boolean isFloating() {
            return dataType == FLOAT
                    || dataType == FLOAT16
                    || dataType == BFLOAT16
                    || dataType == DOUBLE;
        }

        FloatTensor toFloat() {
            if (dataLocation == EXTERNAL) {
                throw new IllegalArgumentException(
                        "tensor " + name + " is stored outside the model file (external data)");
            }
            int[] shape = new int[dims.size()];
            long n = 1;
            for (int i = 0; i < shape.length; i++) {
                long d = dims.get(i);
                if (d < 0 || d > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("tensor " + name + " has dimension " + d);
                }
                shape[i] = (int) d;
                n *= d;
            }
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor " + name + " is too large");
            }
            float[] out = new float[(int) n];
            if (raw != null) {
                ByteBuffer b =
                        ByteBuffer.wrap(buf, raw[0], raw[1]).slice().order(ByteOrder.LITTLE_ENDIAN);
                int width =
                        switch (dataType) {
                            case FLOAT -> 4;
                            case DOUBLE -> 8;
                            default -> 2;
                        };
                if (raw[1] != n * width) {
                    throw new IllegalArgumentException(
                            "tensor "
                                    + name
                                    + " has "
                                    + raw[1]
                                    + " raw bytes for "
                                    + n
                                    + " values");
                }
                switch (dataType) {
                    case FLOAT -> b.asFloatBuffer().get(out);
                    case DOUBLE -> {
                        for (int i = 0; i < out.length; i++) {
                            out[i] = (float) b.getDouble(8 * i);
                        }
                    }
                    case FLOAT16 -> {
                        for (int i = 0; i < out.length; i++) {
                            out[i] = HalfFloats.f16ToFloat(b.getShort(2 * i));
                        }
                    }
                    default -> {
                        for (int i = 0; i < out.length; i++) {
                            out[i] = HalfFloats.bf16ToFloat(b.getShort(2 * i));
                        }
                    }
                }
                return new FloatTensor(shape, out);
            }
            List<Float> values = new ArrayList<>(floatValues);
            for (int[] w : floatData) {
                ByteBuffer b =
                        ByteBuffer.wrap(buf, w[0], w[1]).slice().order(ByteOrder.LITTLE_ENDIAN);
                while (b.remaining() >= 4) {
                    values.add(b.getFloat());
                }
            }
            int count =
                    switch (dataType) {
                        case FLOAT -> values.size();
                        case DOUBLE -> doubleValues.size();
                        default -> int32Values.size();
                    };
            if (count != n) {
                throw new IllegalArgumentException(
                        "tensor " + name + " has " + count + " values, its shape needs " + n);
            }
            for (int i = 0; i < out.length; i++) {
                out[i] =
                        switch (dataType) {
                            case FLOAT -> values.get(i);
                            case DOUBLE -> doubleValues.get(i).floatValue();
                            case FLOAT16 -> HalfFloats.f16ToFloat(int32Values.get(i).shortValue());
                            default -> HalfFloats.bf16ToFloat(int32Values.get(i).shortValue());
                        };
            }
            return new FloatTensor(shape, out);
        }
    }

    private static RawTensor readTensor(ProtoReader r) {
        RawTensor t = new RawTensor();
        t.buf = r.buffer();
        while (r.next()) {
            int wire = r.wireType();
            switch (r.field()) {
                case 1 -> {
                    if (wire == ProtoReader.LEN) {
                        ProtoReader packed = r.readMessage();
                        while (packed.hasRemaining()) {
                            t.dims.add(packed.readVarint());
                        }
                    } else {
                        t.dims.add(r.readVarint());
                    }
                }
                case 2 -> t.dataType = (int) r.readVarint();
                case 4 -> {
                    if (wire == ProtoReader.LEN) {
                        t.floatData.add(r.readBytesWindow());
                    } else {
                        t.floatValues.add(r.readFloat());
                    }
                }
                case 5 -> {
                    if (wire == ProtoReader.LEN) {
                        ProtoReader packed = r.readMessage();
                        while (packed.hasRemaining()) {
                            t.int32Values.add((int) packed.readVarint());
                        }
                    } else {
                        t.int32Values.add((int) r.readVarint());
                    }
                }
                case 8 -> t.name = r.readString();
                case 9 -> t.raw = r.readBytesWindow();
                case 10 -> {
                    if (wire == ProtoReader.LEN) {
                        ProtoReader packed = r.readMessage();
                        while (packed.hasRemaining()) {
                            t.doubleValues.add(Double.longBitsToDouble(packed.readFixed64()));
                        }
                    } else {
                        t.doubleValues.add(Double.longBitsToDouble(r.readFixed64()));
                    }
                }
                case 14 -> t.dataLocation = (int) r.readVarint();
                default -> r.skip();
            }
        }
        return t;
    }

    @Override
    public String toString() {
        return "OnnxWeights("
                + producer
                + ", "
                + initializers.size()
                + " float initializers, "
                + nodes.size()
                + " nodes)";
    }
}
