package io.fedstream.lab.lora;

import java.util.Objects;

/**
 * One site's full adapter after local training (values, not deltas): one row-major float32 array
 * per tensor, in the order of the federation's tensors, with its weight ({@code examples ×
 * staleness discount}) and a stable id (the update id) that fixes the summation order. The arrays
 * are not copied.
 */
public record LoraUpdate(String id, float[][] tensors, double weight) {
    public LoraUpdate {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tensors, "tensors");
        if (id.isEmpty()) {
            throw new IllegalArgumentException("update id must not be empty");
        }
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException(
                    "update " + id + ": weight must be positive and finite, not " + weight);
        }
    }

    /**
     * The full adapter from a base (the global model the site started from) and its delta, base +
     * delta in float32, as the site had it.
     */
    public static LoraUpdate fromDelta(String id, float[][] base, float[][] delta, double weight) {
        if (base.length != delta.length) {
            throw new IllegalArgumentException(
                    "update " + id + ": " + delta.length + " tensors, base has " + base.length);
        }
        float[][] full = new float[base.length][];
        for (int t = 0; t < base.length; t++) {
            if (base[t].length != delta[t].length) {
                throw new IllegalArgumentException(
                        "update " + id + ": tensor " + t + " size differs from the base");
            }
            full[t] = new float[base[t].length];
            for (int i = 0; i < full[t].length; i++) {
                full[t][i] = base[t][i] + delta[t][i];
            }
        }
        return new LoraUpdate(id, full, weight);
    }
}
