package io.fedstream.worker;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import java.util.LinkedHashMap;
import java.util.Map;

/** Plain arithmetic on adapters: maps from tensor name to row-major values. */
public final class Adapters {

    private Adapters() {}

    /**
     * Checks that {@code adapter} holds exactly the tensors of {@code spec}, each with the spec's
     * number of elements.
     *
     * @throws IllegalArgumentException naming the first mismatch
     */
    public static void requireLayout(Map<String, float[]> adapter, FederationSpec spec) {
        if (adapter.size() != spec.tensors().size()) {
            throw new IllegalArgumentException(
                    "adapter has "
                            + adapter.size()
                            + " tensors, "
                            + spec.id()
                            + " expects "
                            + spec.tensors().size()
                            + ": "
                            + adapter.keySet());
        }
        for (TensorSpec t : spec.tensors()) {
            float[] v = adapter.get(t.name());
            if (v == null) {
                throw new IllegalArgumentException("adapter lacks tensor " + t.name());
            }
            if (v.length != t.size()) {
                throw new IllegalArgumentException(
                        "tensor "
                                + t.name()
                                + " has "
                                + v.length
                                + " values, expected "
                                + t.size());
            }
        }
    }

    /** {@code trained - base}, per tensor, in the order of {@code base}. */
    public static Map<String, float[]> delta(
            Map<String, float[]> trained, Map<String, float[]> base) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : base.entrySet()) {
            float[] b = e.getValue();
            float[] t = trained.get(e.getKey());
            if (t == null || t.length != b.length) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " does not match");
            }
            float[] d = new float[b.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = t[i] - b[i];
            }
            out.put(e.getKey(), d);
        }
        return out;
    }

    /** {@code base + scale * delta}, per tensor, in the order of {@code base}. */
    public static Map<String, float[]> apply(
            Map<String, float[]> base, Map<String, float[]> delta, float scale) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : base.entrySet()) {
            float[] b = e.getValue();
            float[] d = delta.get(e.getKey());
            if (d == null || d.length != b.length) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " does not match");
            }
            float[] r = new float[b.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = b[i] + scale * d[i];
            }
            out.put(e.getKey(), r);
        }
        return out;
    }

    /** {@code base + delta}. */
    public static Map<String, float[]> apply(
            Map<String, float[]> base, Map<String, float[]> delta) {
        return apply(base, delta, 1f);
    }

    /** Euclidean norm over all tensors. */
    public static double l2Norm(Map<String, float[]> adapter) {
        double s = 0;
        for (float[] v : adapter.values()) {
            for (float x : v) {
                s += (double) x * x;
            }
        }
        return Math.sqrt(s);
    }

    /** A deep copy, preserving order. */
    public static Map<String, float[]> copy(Map<String, float[]> adapter) {
        Map<String, float[]> out = new LinkedHashMap<>();
        adapter.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }
}
