package io.fedstream.aggregation;

import java.util.Arrays;
import java.util.List;

/**
 * The running sum of one aggregation round: Σ wᵢ·Δᵢ per element in float64, and Σ wᵢ. Its size is
 * that of one model, whatever the number of updates. Summation runs in the order updates are added,
 * so the same updates in the same order give the same bytes (the manifest records that order).
 */
public final class WeightedAccumulator {
    private final double[][] sums;
    private double totalWeight;
    private int count;

    /** An empty accumulator for tensors of the given element counts. */
    public WeightedAccumulator(int[] sizes) {
        this.sums = new double[sizes.length][];
        for (int t = 0; t < sizes.length; t++) {
            sums[t] = new double[sizes[t]];
        }
    }

    /** Wraps existing sums (e.g. restored from state); does not copy. */
    public WeightedAccumulator(double[][] sums, double totalWeight, int count) {
        this.sums = sums;
        this.totalWeight = totalWeight;
        this.count = count;
    }

    /** Adds w · delta, the delta given as one little-endian byte array per tensor. */
    public void add(byte[][] delta, LittleEndianFloats.Kind[] kinds, double w) {
        if (!(w > 0) || Double.isInfinite(w)) {
            throw new IllegalArgumentException("weight must be positive and finite, not " + w);
        }
        if (delta.length != sums.length) {
            throw new IllegalArgumentException(
                    "update has " + delta.length + " tensors, expected " + sums.length);
        }
        for (int t = 0; t < sums.length; t++) {
            LittleEndianFloats.accumulate(sums[t], delta[t], kinds[t], w);
        }
        totalWeight += w;
        count++;
    }

    /**
     * Adds the updates in order, the same as {@link #add} for each in turn (same bits), but reads
     * and writes each float64 sum once for the whole batch: with B updates the memory traffic per
     * element is B·4 + 16 bytes instead of B·20 (float32).
     */
    public void addAll(List<byte[][]> deltas, LittleEndianFloats.Kind[] kinds, double[] w) {
        if (deltas.size() != w.length) {
            throw new IllegalArgumentException(
                    deltas.size() + " updates but " + w.length + " weights");
        }
        for (int u = 0; u < w.length; u++) {
            if (!(w[u] > 0) || Double.isInfinite(w[u])) {
                throw new IllegalArgumentException(
                        "weight must be positive and finite, not " + w[u]);
            }
            if (deltas.get(u).length != sums.length) {
                throw new IllegalArgumentException(
                        "update has " + deltas.get(u).length + " tensors, expected " + sums.length);
            }
            for (int t = 0; t < sums.length; t++) {
                // all checked before any sum changes
                if (deltas.get(u)[t].length != sums[t].length * kinds[t].bytes) {
                    throw new IllegalArgumentException(
                            "tensor has "
                                    + deltas.get(u)[t].length
                                    + " bytes, expected "
                                    + sums[t].length * kinds[t].bytes);
                }
            }
        }
        byte[][] xs = new byte[w.length][];
        for (int t = 0; t < sums.length; t++) {
            for (int u = 0; u < xs.length; u++) {
                xs[u] = deltas.get(u)[t];
            }
            LittleEndianFloats.accumulateAll(sums[t], xs, kinds[t], w, 0, sums[t].length);
        }
        for (double wu : w) {
            totalWeight += wu;
            count++;
        }
    }

    /**
     * The new global model: base + η · Σwᵢ·Δᵢ / Σwᵢ, rounded to float32 once per element. With no
     * update added, returns a copy of base.
     */
    public float[][] applyTo(float[][] base, double serverLearningRate) {
        float[][] out = new float[base.length][];
        double scale = count == 0 ? 0 : serverLearningRate / totalWeight;
        for (int t = 0; t < base.length; t++) {
            float[] b = base[t];
            double[] s = sums[t];
            if (b.length != s.length) {
                throw new IllegalArgumentException(
                        "tensor " + t + " has " + b.length + " elements, sums " + s.length);
            }
            float[] o = new float[b.length];
            for (int i = 0; i < o.length; i++) {
                o[i] = (float) (b[i] + scale * s[i]);
            }
            out[t] = o;
        }
        return out;
    }

    public double[][] sums() {
        return sums;
    }

    public double totalWeight() {
        return totalWeight;
    }

    public int count() {
        return count;
    }

    public void reset() {
        for (double[] s : sums) {
            Arrays.fill(s, 0);
        }
        totalWeight = 0;
        count = 0;
    }
}
