package io.fedstream.aggregation.robust;

import java.util.ArrayList;
import java.util.List;

/** Small builders shared by the tests. */
final class Fixtures {
    private Fixtures() {}

    /** A one-tensor update. */
    static WeightedDelta u(String id, double weight, float... values) {
        return WeightedDelta.ofFloats(id, new float[][] {values}, weight);
    }

    /** One one-element update per value, weight 1, ids u0, u1, ... */
    static List<WeightedDelta> scalars(float... values) {
        List<WeightedDelta> out = new ArrayList<>();
        for (int j = 0; j < values.length; j++) {
            out.add(u("u" + j, 1, values[j]));
        }
        return out;
    }

    /** The single element of a one-tensor, one-element result. */
    static double only(double[][] result) {
        return result[0][0];
    }

    /** The raw bits of a result, for bit-for-bit comparisons. */
    static long[][] bits(double[][] result) {
        long[][] out = new long[result.length][];
        for (int t = 0; t < result.length; t++) {
            out[t] = new long[result[t].length];
            for (int i = 0; i < out[t].length; i++) {
                out[t][i] = Double.doubleToRawLongBits(result[t][i]);
            }
        }
        return out;
    }
}
