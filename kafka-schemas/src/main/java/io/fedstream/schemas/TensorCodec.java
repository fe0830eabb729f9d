package io.fedstream.schemas;

import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Conversions between float arrays and the little-endian {@link Tensor} records on the wire. */
public final class TensorCodec {
    private TensorCodec() {}

    /** A FLOAT32 tensor holding {@code values} (copied) with the given shape. */
    public static Tensor float32(String name, int[] shape, float[] values) {
        long expected = 1;
        List<Integer> dims = new ArrayList<>(shape.length);
        for (int d : shape) {
            expected *= d;
            dims.add(d);
        }
        if (expected != values.length) {
            throw new IllegalArgumentException(
                    "tensor " + name + ": " + values.length + " values for shape " + dims);
        }
        ByteBuffer bytes =
                ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return Tensor.newBuilder()
                .setName(name)
                .setShape(dims)
                .setDtype(DType.FLOAT32)
                .setData(bytes)
                .build();
    }

    /** The tensor's elements as floats; BFLOAT16 is widened exactly. */
    public static float[] toFloats(Tensor tensor) {
        ByteBuffer data = tensor.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (tensor.getDtype()) {
            case FLOAT32 -> {
                float[] out = new float[data.remaining() / Float.BYTES];
                data.asFloatBuffer().get(out);
                return out;
            }
            case BFLOAT16 -> {
                float[] out = new float[data.remaining() / 2];
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.intBitsToFloat((data.getShort() & 0xFFFF) << 16);
                }
                return out;
            }
            default ->
                    throw new IllegalArgumentException(
                            "tensor "
                                    + tensor.getName()
                                    + ": "
                                    + tensor.getDtype()
                                    + " travels only in update chunks");
        }
    }

    /** Bytes per element of a dtype (FLOAT32 or BFLOAT16: the blockwise ones have none). */
    public static int elementSize(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> 4;
            case BFLOAT16 -> 2;
            case INT8, NF4 ->
                    throw new IllegalArgumentException(
                            dtype + " is blockwise (BlockQuantization): no fixed element size");
        };
    }

    /** Name → values, in the order of the list. */
    public static Map<String, float[]> toMap(List<Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            out.put(t.getName(), toFloats(t));
        }
        return out;
    }

    /** FLOAT32 tensors for every spec of a federation, in spec order. */
    public static List<Tensor> fromMap(FederationSpec spec, Map<String, float[]> values) {
        List<Tensor> out = new ArrayList<>(spec.tensors().size());
        for (TensorSpec t : spec.tensors()) {
            float[] v = values.get(t.name());
            if (v == null) {
                throw new IllegalArgumentException("no values for tensor " + t.name());
            }
            out.add(float32(t.name(), t.shape(), v));
        }
        return out;
    }

    /**
     * SHA-256 over the tensors in order: for each, its name (UTF-8), a zero byte, its shape as
     * little-endian ints, its dtype ordinal and its data. This is the digest in every manifest.
     */
    public static String sha256(List<Tensor> tensors) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        ByteBuffer header = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : tensors) {
            md.update(t.getName().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update((byte) 0);
            header.clear();
            header.putInt(t.getShape().size());
            for (int d : t.getShape()) {
                header.putInt(d);
            }
            header.putInt(t.getDtype().ordinal());
            header.flip();
            md.update(header);
            md.update(t.getData().duplicate());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
