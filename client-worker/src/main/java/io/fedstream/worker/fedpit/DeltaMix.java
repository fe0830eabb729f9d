package io.fedstream.worker.fedpit;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a FedPIT site sends: {@code sent = β·Δ_local + (1 − β)·Δ_synthetic}, where {@code Δ_local}
 * is the global adapter's delta after training on the site's private data (what plain FedIT sends)
 * and {@code Δ_synthetic} the delta after training on synthetic data only. β = 0 is strict
 * isolation (no gradient of a private example reaches the wire); β = 1 is plain FedIT, exactly (the
 * local delta is returned as it is, not recomputed).
 */
public final class DeltaMix {

    private DeltaMix() {}

    /**
     * The mixed delta, per tensor in the order of {@code local}. At β = 0 or 1 the other delta may
     * be null (it is not needed).
     */
    public static Map<String, float[]> mix(
            double beta, Map<String, float[]> local, Map<String, float[]> synthetic) {
        if (!(beta >= 0 && beta <= 1)) {
            throw new IllegalArgumentException("beta must be in [0, 1]: " + beta);
        }
        if (beta == 1) {
            return copy(local);
        }
        if (beta == 0) {
            return copy(synthetic);
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : local.entrySet()) {
            float[] l = e.getValue();
            float[] s = synthetic.get(e.getKey());
            if (s == null || s.length != l.length) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " does not match");
            }
            float[] m = new float[l.length];
            for (int i = 0; i < m.length; i++) {
                m[i] = (float) (beta * l[i] + (1 - beta) * s[i]);
            }
            out.put(e.getKey(), m);
        }
        if (out.size() != synthetic.size()) {
            throw new IllegalArgumentException("the deltas hold different tensors");
        }
        return out;
    }

    private static Map<String, float[]> copy(Map<String, float[]> d) {
        Map<String, float[]> out = new LinkedHashMap<>();
        d.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }
}
