package io.fedstream.worker.mlp;

import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable set of labelled examples: {@code size()} rows of {@code dim} features, stored
 * row-major in one array (the layout NDArrays are created from), and integer class labels.
 */
public final class Examples {
    private final int dim;
    private final float[] features;
    private final int[] labels;

    public Examples(int dim, float[] features, int[] labels) {
        if (dim <= 0) {
            throw new IllegalArgumentException("dim must be positive: " + dim);
        }
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(labels, "labels");
        if (features.length != (long) dim * labels.length) {
            throw new IllegalArgumentException(
                    features.length + " features do not make " + labels.length + " rows of " + dim);
        }
        this.dim = dim;
        this.features = features.clone();
        this.labels = labels.clone();
    }

    public int dim() {
        return dim;
    }

    public int size() {
        return labels.length;
    }

    public int label(int i) {
        return labels[i];
    }

    /** A copy of all labels. */
    public int[] labels() {
        return labels.clone();
    }

    /** A copy of all features, row-major. */
    public float[] features() {
        return features.clone();
    }

    /** Copies the features of rows {@code rows} (in that order) into a new row-major array. */
    public float[] gatherFeatures(int[] rows, int from, int to) {
        float[] out = new float[(to - from) * dim];
        for (int r = from; r < to; r++) {
            System.arraycopy(features, rows[r] * dim, out, (r - from) * dim, dim);
        }
        return out;
    }

    /** Copies the labels of rows {@code rows[from..to)}. */
    public int[] gatherLabels(int[] rows, int from, int to) {
        int[] out = new int[to - from];
        for (int r = from; r < to; r++) {
            out[r - from] = labels[rows[r]];
        }
        return out;
    }

    /** The examples at {@code rows}, in that order. */
    public Examples subset(int[] rows) {
        return new Examples(
                dim, gatherFeatures(rows, 0, rows.length), gatherLabels(rows, 0, rows.length));
    }

    /** How many examples carry each label {@code 0..numClasses-1}. */
    public int[] labelCounts(int numClasses) {
        int[] counts = new int[numClasses];
        for (int y : labels) {
            counts[y]++;
        }
        return counts;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Examples e
                && dim == e.dim
                && Arrays.equals(features, e.features)
                && Arrays.equals(labels, e.labels);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * dim + Arrays.hashCode(features)) + Arrays.hashCode(labels);
    }

    @Override
    public String toString() {
        return "Examples{" + size() + " x " + dim + "}";
    }
}
