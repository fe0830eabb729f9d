package io.fedstream.worker.weights;

import java.nio.charset.StandardCharsets;

/**
 * A cursor over protobuf wire-format bytes (a window of a shared array, nothing is copied): just
 * enough of the encoding to walk ONNX messages without a protobuf library.
 */
public final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    public static final int LEN = 2;
    static final int FIXED32 = 5;

    private final byte[] buf;
    private int pos;
    private final int limit;
    private int tag;

    public ProtoReader(byte[] buf, int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > buf.length) {
            throw new IllegalArgumentException("window outside the buffer");
        }
        this.buf = buf;
        this.pos = offset;
        this.limit = offset + length;
    }

    public ProtoReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    /** Advances to the next field; false at the end of the message. */
    public boolean next() {
        if (pos >= limit) {
            return false;
        }
        long t = readVarint();
        if (t <= 0 || t > Integer.MAX_VALUE) {
            throw malformed("bad field tag " + t);
        }
        tag = (int) t;
        return true;
    }

    public int field() {
        return tag >>> 3;
    }

    public int wireType() {
        return tag & 7;
    }

    public long readVarint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) {
                throw malformed("truncated varint");
            }
            byte b = buf[pos++];
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw malformed("varint longer than 10 bytes");
    }

    int readFixed32() {
        require(4);
        int v =
                (buf[pos] & 0xff)
                        | (buf[pos + 1] & 0xff) << 8
                        | (buf[pos + 2] & 0xff) << 16
                        | (buf[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    public long readFixed64() {
        long lo = readFixed32() & 0xffff_ffffL;
        long hi = readFixed32() & 0xffff_ffffL;
        return lo | hi << 32;
    }

    public float readFloat() {
        return Float.intBitsToFloat(readFixed32());
    }

    /** Reads a length-delimited field as a reader over its bytes. */
    public ProtoReader readMessage() {
        int len = readLength();
        ProtoReader sub = new ProtoReader(buf, pos, len);
        pos += len;
        return sub;
    }

    public String readString() {
        int len = readLength();
        String s = new String(buf, pos, len, StandardCharsets.UTF_8);
        pos += len;
        return s;
    }

    /** Reads a length-delimited field and returns its {offset, length} in {@link #buffer()}. */
    public int[] readBytesWindow() {
        int len = readLength();
        int[] window = {pos, len};
        pos += len;
        return window;
    }

    public byte[] buffer() {
        return buf;
    }

    public boolean hasRemaining() {
        return pos < limit;
    }

    /** Skips the current field's value. */
    public void skip() {
        switch (wireType()) {
            case VARINT -> readVarint();
            case FIXED64 -> {
                require(8);
                pos += 8;
            }
            case LEN -> {
                int len = readLength();
                pos += len;
            }
            case FIXED32 -> {
                require(4);
                pos += 4;
            }
            default -> throw malformed("unsupported wire type " + wireType());
        }
    }

    private int readLength() {
        long len = readVarint();
        if (len < 0 || len > limit - pos) {
            throw malformed("length " + len + " overruns the message");
        }
        return (int) len;
    }

    private void require(int n) {
        if (limit - pos < n) {
            throw malformed("truncated fixed-width value");
        }
    }

    private IllegalArgumentException malformed(String what) {
        return new IllegalArgumentException("malformed protobuf at byte " + pos + ": " + what);
    }
}
