package io.fedstream.schemas;

import io.fedstream.schemas.avro.DType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Blockwise quantized update chunks (dtypes INT8 and NF4): encoding, decoding and the checks a
 * reader applies. Plain Java, shared by the workers (encode) and the job and the audit (decode).
 *
 * <p>A chunk of {@code n} elements with block size {@code B} (a multiple of {@value #BLOCK_STEP}
 * from {@value #MIN_BLOCK} to {@value #MAX_BLOCK}) is cut into {@code ceil(n / B)} blocks, the last
 * one shorter. Its bytes are the block size (little-endian int32), one little-endian float32 scale
 * per block, then the codes: INT8 one signed byte per element in [-127, 127] (-128 is invalid), NF4
 * one nibble per element (element {@code 2k} in the low nibble of byte {@code k}, {@code 2k+1} in
 * the high one; an odd count leaves the last high nibble 0).
 *
 * <p>Element {@code i} of block {@code b} decodes to the float32 product {@code scale[b] ·
 * value(code)}: INT8's value is the code itself (scale = absmax / 127), NF4's is the code's entry
 * in {@link #nf4CodeBook()} (scale = absmax). A scale is finite and not negative; a scale of 0 only
 * with every code of the block decoding to 0. Readers must compute exactly this product, so the
 * job's kernel and the audit agree bit for bit.
 */
public final class BlockQuantization {
    /** Smallest block size. */
    public static final int MIN_BLOCK = 64;

    /** Largest block size. */
    public static final int MAX_BLOCK = 256;

    /** Block sizes are multiples of this (whole vectors of the accumulate kernel). */
    public static final int BLOCK_STEP = 16;

    /**
     * The NF4 data type of QLoRA (Dettmers et al., "QLoRA: Efficient Finetuning of Quantized LLMs",
     * 2023, Appendix E; the table in bitsandbytes' functional.py): quantiles of N(0, 1) normalised
     * to [-1, 1], with an exact 0. NF4CodeBookTest re-derives it with SciPy.
     */
    private static final float[] NF4 = {
        -1.0f,
        -0.6961928009986877f,
        -0.5250730514526367f,
        -0.39491748809814453f,
        -0.28444138169288635f,
        -0.18477343022823334f,
        -0.09105003625154495f,
        0.0f,
        0.07958029955625534f,
        0.16093020141124725f,
        0.24611230194568634f,
        0.33791524171829224f,
        0.44070982933044434f,
        0.5626170039176941f,
        0.7229568362236023f,
        1.0f
    };

    /** NF4's code for 0. */
    public static final int NF4_ZERO = 7;

    /** Midpoints between neighbouring NF4 values, for nearest-value encoding. */
    private static final float[] NF4_MID = new float[15];

    static {
        for (int k = 0; k < 15; k++) {
            NF4_MID[k] = (NF4[k] + NF4[k + 1]) / 2;
        }
    }

    private static final VarHandle F32 =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private BlockQuantization() {}

    /** The 16 NF4 values, code 0 to 15 (a copy). */
    public static float[] nf4CodeBook() {
        return NF4.clone();
    }

    /** Whether the dtype is one of the blockwise quantized ones. */
    public static boolean quantized(DType dtype) {
        return dtype == DType.INT8 || dtype == DType.NF4;
    }

    /** The block size if it is allowed, else an exception naming the rule. */
    public static int checkBlockSize(int blockSize) {
        if (blockSize < MIN_BLOCK || blockSize > MAX_BLOCK || blockSize % BLOCK_STEP != 0) {
            throw new IllegalArgumentException(
                    "blockSize must be a multiple of "
                            + BLOCK_STEP
                            + " from "
                            + MIN_BLOCK
                            + " to "
                            + MAX_BLOCK
                            + ", not "
                            + blockSize);
        }
        return blockSize;
    }

    /** Bytes before the scales: the block size. */
    public static final int HEADER_BYTES = 4;

    /** Number of blocks of {@code n} elements. */
    public static int blocks(int n, int blockSize) {
        return (n + blockSize - 1) / blockSize;
    }

    /** Offset of the codes: after the header and the scales. */
    public static int codesOffset(int n, int blockSize) {
        return HEADER_BYTES + 4 * blocks(n, blockSize);
    }

    /** Bytes of an encoded chunk of {@code n} elements. */
    public static int encodedLength(DType dtype, int n, int blockSize) {
        int codes =
                switch (dtype) {
                    case INT8 -> n;
                    case NF4 -> (n + 1) / 2;
                    default -> throw new IllegalArgumentException(dtype + " is not blockwise");
                };
        return codesOffset(n, blockSize) + codes;
    }

    /** The block size an encoded chunk declares (its first four bytes). */
    public static int blockSize(byte[] data) {
        return (int) I32.get(data, 0);
    }

    /** Scale of block {@code b}. */
    public static float scale(byte[] data, int b) {
        return (float) F32.get(data, HEADER_BYTES + 4 * b);
    }

    /** Encodes {@code x[from, from + n)} with absmax scales per block of {@code blockSize}. */
    public static byte[] encode(DType dtype, float[] x, int from, int n, int blockSize) {
        checkBlockSize(blockSize);
        byte[] out = new byte[encodedLength(dtype, n, blockSize)];
        I32.set(out, 0, blockSize);
        int codes = codesOffset(n, blockSize);
        for (int b = 0, start = 0; start < n; b++, start += blockSize) {
            int end = Math.min(n, start + blockSize);
            float absmax = 0;
            for (int i = start; i < end; i++) {
                absmax = Math.max(absmax, Math.abs(x[from + i]));
            }
            if (!Float.isFinite(absmax)) {
                throw new IllegalArgumentException("element of block " + b + " is not finite");
            }
            float scale = dtype == DType.INT8 ? absmax / 127f : absmax;
            F32.set(out, HEADER_BYTES + 4 * b, scale);
            for (int i = start; i < end; i++) {
                float v = scale == 0 ? 0 : x[from + i] / scale;
                if (dtype == DType.INT8) {
                    out[codes + i] = (byte) Math.max(-127, Math.min(127, Math.round(v)));
                } else {
                    int c = scale == 0 ? NF4_ZERO : nearestNf4(v);
                    out[codes + (i >> 1)] |= (byte) ((i & 1) == 0 ? c : c << 4);
                }
            }
        }
        return out;
    }

    private static int nearestNf4(float v) {
        int c = 0;
        while (c < 15 && v > NF4_MID[c]) {
            c++;
        }
        return c;
    }

    /** The code of element {@code i}: INT8's signed byte, NF4's nibble. */
    public static int code(byte[] data, DType dtype, int n, int blockSize, int i) {
        int codes = codesOffset(n, blockSize);
        if (dtype == DType.INT8) {
            return data[codes + i];
        }
        int b = data[codes + (i >> 1)];
        return ((i & 1) == 0 ? b : b >> 4) & 0xF;
    }

    /** The value of a code without its scale. */
    public static float codeValue(DType dtype, int code) {
        return dtype == DType.INT8 ? code : NF4[code];
    }

    /** Element {@code i} of an encoded chunk of {@code n} elements (a valid one). */
    public static float get(byte[] data, DType dtype, int n, int i) {
        int blockSize = blockSize(data);
        return scale(data, i / blockSize) * codeValue(dtype, code(data, dtype, n, blockSize, i));
    }

    /** Decodes a valid encoded chunk of {@code n} elements into {@code out[at, at + n)}. */
    public static void decode(byte[] data, DType dtype, int n, float[] out, int at) {
        int blockSize = blockSize(data);
        for (int i = 0; i < n; i++) {
            out[at + i] =
                    scale(data, i / blockSize)
                            * codeValue(dtype, code(data, dtype, n, blockSize, i));
        }
    }

    /**
     * What is wrong with an encoded chunk of {@code n} elements that should have block size {@code
     * expectedBlock}, or null if it is valid: its length, its declared block size, a scale not
     * finite or negative, a code out of range (INT8's -128, a set padding nibble), or a scale of 0
     * with a code that is not 0.
     */
    public static String problem(byte[] data, DType dtype, int n, int expectedBlock) {
        if (data.length < HEADER_BYTES) {
            return "has " + data.length + " bytes, less than its header";
        }
        int blockSize = blockSize(data);
        if (blockSize != expectedBlock) {
            return "declares block size " + blockSize + ", the federation's is " + expectedBlock;
        }
        int expected = encodedLength(dtype, n, blockSize);
        if (data.length != expected) {
            return "has "
                    + data.length
                    + " bytes, expected "
                    + expected
                    + " for "
                    + n
                    + " elements of "
                    + dtype
                    + " in blocks of "
                    + blockSize;
        }
        int codes = codesOffset(n, blockSize);
        for (int b = 0, start = 0; start < n; b++, start += blockSize) {
            int bits = Float.floatToRawIntBits(scale(data, b));
            if (bits < 0 || bits >= 0x7F800000) {
                return "block " + b + " has scale " + scale(data, b) + " (finite and >= 0 only)";
            }
            int end = Math.min(n, start + blockSize);
            for (int i = start; i < end; i++) {
                int c = code(data, dtype, n, blockSize, i);
                if (dtype == DType.INT8 && c == -128) {
                    return "element " + i + " has INT8 code -128, outside [-127, 127]";
                }
                if (bits == 0 && c != (dtype == DType.INT8 ? 0 : NF4_ZERO)) {
                    return "block " + b + " has scale 0 but element " + i + " has code " + c;
                }
            }
        }
        if (dtype == DType.NF4 && (n & 1) == 1 && (data[codes + n / 2] & 0xF0) != 0) {
            return "the padding nibble after element " + (n - 1) + " is not 0";
        }
        return null;
    }
}
