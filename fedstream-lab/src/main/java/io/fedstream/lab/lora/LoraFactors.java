package io.fedstream.lab.lora;

import java.util.Objects;

/**
 * One site's adapter for one {@link LoraPair}: the full values (not deltas) of A [r, in] and B
 * [out, r], row-major float32 as trained, and the site's weight ({@code examples × staleness
 * discount}, positive and finite). The arrays are not copied; strategies only read them.
 */
public record LoraFactors(float[] a, float[] b, double weight) {
    public LoraFactors {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("weight must be positive and finite, not " + weight);
        }
    }

    /** Element (i, j) of A. */
    public float a(LoraPair pair, int i, int j) {
        return a[i * pair.in() + j];
    }

    /** Element (i, j) of B. */
    public float b(LoraPair pair, int i, int j) {
        return b[i * pair.rank() + j];
    }
}
