package io.fedstream.schemas;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.fedstream.schemas.avro.DType;
import java.io.Serializable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * How a federation's sites encode their update chunks: FLOAT32 (the default), BFLOAT16, or the
 * blockwise INT8 and NF4 of {@link BlockQuantization} with {@code blockSize} elements per scale.
 * JSON in the spec: {@code "encoding": {"dtype": "NF4", "blockSize": 64}}; on command lines {@code
 * float32}, {@code bfloat16}, {@code int8:128}, {@code nf4:64} ({@link #parse}).
 *
 * @param dtype the chunks' dtype
 * @param blockSize elements per block of INT8 and NF4 (ignored by the others, kept as given)
 */
public record UpdateEncoding(
        @JsonProperty("dtype") DType dtype, @JsonProperty("blockSize") int blockSize)
        implements Serializable {
    /** Block size unless the spec says otherwise. */
    public static final int DEFAULT_BLOCK = 64;

    /** Plain float32: what a spec without an encoding means. */
    public static final UpdateEncoding FLOAT32 = new UpdateEncoding(DType.FLOAT32, DEFAULT_BLOCK);

    private static final VarHandle F32 =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I16 =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** Checks the block size of the blockwise dtypes. */
    public UpdateEncoding {
        if (dtype == null) {
            throw new IllegalArgumentException(
                    "encoding has no \"dtype\" (FLOAT32, BFLOAT16, INT8 or NF4)");
        }
        if (BlockQuantization.quantized(dtype)) {
            BlockQuantization.checkBlockSize(blockSize);
        }
    }

    /** From JSON: a missing block size is {@link #DEFAULT_BLOCK}. */
    @JsonCreator
    static UpdateEncoding fromJson(
            @JsonProperty("dtype") DType dtype, @JsonProperty("blockSize") Integer blockSize) {
        return new UpdateEncoding(dtype, blockSize == null ? DEFAULT_BLOCK : blockSize);
    }

    /**
     * {@code float32}, {@code bfloat16}, {@code int8[:B]} or {@code nf4[:B]} (B defaults to 64).
     */
    public static UpdateEncoding parse(String text) {
        String[] parts = text.strip().split(":", 2);
        DType dtype =
                switch (parts[0].toLowerCase(Locale.ROOT)) {
                    case "float32" -> DType.FLOAT32;
                    case "bfloat16" -> DType.BFLOAT16;
                    case "int8" -> DType.INT8;
                    case "nf4" -> DType.NF4;
                    default ->
                            throw new IllegalArgumentException(
                                    "encoding '"
                                            + text
                                            + "' is not float32, bfloat16, int8[:B] or nf4[:B]");
                };
        int block = DEFAULT_BLOCK;
        if (parts.length == 2) {
            try {
                block = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "encoding '" + text + "': block size '" + parts[1] + "' is not a number");
            }
        }
        return new UpdateEncoding(dtype, block);
    }

    /** As {@link #parse} reads it. */
    @Override
    public String toString() {
        String name = dtype.name().toLowerCase(Locale.ROOT);
        return BlockQuantization.quantized(dtype) ? name + ":" + blockSize : name;
    }

    /**
     * Encoded bytes of {@code x[from, from + n)} in this encoding (BFLOAT16: nearest, ties even).
     */
    public byte[] encode(float[] x, int from, int n) {
        switch (dtype) {
            case FLOAT32 -> {
                byte[] out = new byte[4 * n];
                for (int i = 0; i < n; i++) {
                    F32.set(out, 4 * i, x[from + i]);
                }
                return out;
            }
            case BFLOAT16 -> {
                byte[] out = new byte[2 * n];
                for (int i = 0; i < n; i++) {
                    I16.set(out, 2 * i, bfloat16Bits(x[from + i]));
                }
                return out;
            }
            default -> {
                return BlockQuantization.encode(dtype, x, from, n, blockSize);
            }
        }
    }

    /** Bytes of a chunk of {@code n} elements in this encoding. */
    public int encodedLength(int n) {
        return switch (dtype) {
            case FLOAT32 -> 4 * n;
            case BFLOAT16 -> 2 * n;
            default -> BlockQuantization.encodedLength(dtype, n, blockSize);
        };
    }

    /** Decodes {@code n} elements of a valid chunk of any dtype into {@code out[at, at + n)}. */
    public static void decode(DType dtype, byte[] data, int n, float[] out, int at) {
        switch (dtype) {
            case FLOAT32 -> {
                for (int i = 0; i < n; i++) {
                    out[at + i] = (float) F32.get(data, 4 * i);
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[at + i] = Float.intBitsToFloat(((short) I16.get(data, 2 * i)) << 16);
                }
            }
            default -> BlockQuantization.decode(data, dtype, n, out, at);
        }
    }

    /** The nearest bfloat16 (ties to even; NaN stays a quiet NaN), as its 16 bits. */
    public static short bfloat16Bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }
}
