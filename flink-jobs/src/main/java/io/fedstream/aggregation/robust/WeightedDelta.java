package io.fedstream.aggregation.robust;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
import java.util.Objects;

/**
 * One site's update as a robust rule sees it: the delta of every named tensor as little-endian
 * bytes (FLOAT32 or BFLOAT16, read in place through {@link LittleEndianFloats}), its weight ({@code
 * examples × staleness discount}) and a stable id (the update id) that fixes the order in which
 * rules sum, so that the result does not depend on the order of the input list.
 *
 * <p>Neither the arrays nor the bytes are copied: the caller must not change them while a rule
 * reads them. Elements must be finite (the job's validation rejects NaN and infinities before
 * aggregation; rules do not check again).
 */
public final class WeightedDelta {
    private final String id;
    private final byte[][] tensors;
    private final Kind[] kinds;
    private final double weight;

    /**
     * @param id a key unique within the round (the update id); rules sort by it
     * @param tensors one little-endian byte array per tensor, in the model's tensor order
     * @param kinds the element type of each tensor
     * @param weight {@code examples × f(staleness)}, positive and finite
     */
    public WeightedDelta(String id, byte[][] tensors, Kind[] kinds, double weight) {
        this.id = Objects.requireNonNull(id, "id");
        if (id.isEmpty()) {
            throw new IllegalArgumentException("update id must not be empty");
        }
        this.tensors = Objects.requireNonNull(tensors, "tensors");
        this.kinds = Objects.requireNonNull(kinds, "kinds");
        if (tensors.length != kinds.length) {
            throw new IllegalArgumentException(
                    "update "
                            + id
                            + " has "
                            + tensors.length
                            + " tensors but "
                            + kinds.length
                            + " kinds");
        }
        for (int t = 0; t < tensors.length; t++) {
            Objects.requireNonNull(tensors[t], "tensor");
            Objects.requireNonNull(kinds[t], "kind");
            if (tensors[t].length % kinds[t].bytes != 0) {
                throw new IllegalArgumentException(
                        "update "
                                + id
                                + ": tensor "
                                + t
                                + " has "
                                + tensors[t].length
                                + " bytes, not a multiple of "
                                + kinds[t].bytes
                                + " ("
                                + kinds[t]
                                + ")");
            }
        }
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException(
                    "update " + id + ": weight must be positive and finite, not " + weight);
        }
        this.weight = weight;
    }

    /** An update from float tensors, stored as FLOAT32 bytes (a copy): for tests and tools. */
    public static WeightedDelta ofFloats(String id, float[][] tensors, double weight) {
        byte[][] bytes = new byte[tensors.length][];
        Kind[] kinds = new Kind[tensors.length];
        for (int t = 0; t < tensors.length; t++) {
            bytes[t] = LittleEndianFloats.fromFloats(tensors[t]);
            kinds[t] = Kind.FLOAT32;
        }
        return new WeightedDelta(id, bytes, kinds, weight);
    }

    public String id() {
        return id;
    }

    public double weight() {
        return weight;
    }

    /** The tensors' bytes, not copied. */
    public byte[][] tensors() {
        return tensors;
    }

    /** The tensors' element types, not copied. */
    public Kind[] kinds() {
        return kinds;
    }

    public int tensorCount() {
        return tensors.length;
    }

    /** The element count of tensor {@code t}. */
    public int size(int t) {
        return tensors[t].length / kinds[t].bytes;
    }

    /** Element {@code i} of tensor {@code t}. */
    public float get(int t, int i) {
        return LittleEndianFloats.get(tensors[t], kinds[t], i);
    }

    /** ‖Δ‖² over all tensors, summed in float64 in tensor then element order. */
    public double squaredNorm() {
        double s = 0;
        for (int t = 0; t < tensors.length; t++) {
            int n = size(t);
            for (int i = 0; i < n; i++) {
                double v = get(t, i);
                s += v * v;
            }
        }
        return s;
    }

    /** The elements as new float arrays, one per tensor. */
    public float[][] toFloats() {
        float[][] out = new float[tensors.length][];
        for (int t = 0; t < tensors.length; t++) {
            out[t] = LittleEndianFloats.toFloats(tensors[t], kinds[t]);
        }
        return out;
    }

    @Override
    public String toString() {
        return "WeightedDelta[" + id + ", weight=" + weight + ", tensors=" + tensors.length + "]";
    }
}
