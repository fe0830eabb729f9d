package io.fedstream.aggregation.robust;

import io.fedstream.aggregation.LittleEndianFloats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** Shared checks and kernels of the rules. */
final class Updates {
    private Updates() {}

    /**
     * The updates sorted by id: the canonical order every rule sums in. Rejects an empty list,
     * duplicate ids and mismatched shapes.
     */
    static List<WeightedDelta> canonical(List<WeightedDelta> updates) {
        Objects.requireNonNull(updates, "updates");
        if (updates.isEmpty()) {
            throw new IllegalArgumentException("no updates to aggregate");
        }
        List<WeightedDelta> sorted = new ArrayList<>(updates);
        sorted.sort(Comparator.comparing(WeightedDelta::id));
        for (int j = 1; j < sorted.size(); j++) {
            if (sorted.get(j).id().equals(sorted.get(j - 1).id())) {
                throw new IllegalArgumentException(
                        "duplicate update id '" + sorted.get(j).id() + "'");
            }
        }
        sizes(sorted);
        return sorted;
    }

    /** The element count of each tensor, checked to agree across all updates. */
    static int[] sizes(List<WeightedDelta> updates) {
        WeightedDelta first = updates.get(0);
        int[] sizes = new int[first.tensorCount()];
        for (int t = 0; t < sizes.length; t++) {
            sizes[t] = first.size(t);
        }
        for (WeightedDelta u : updates) {
            if (u.tensorCount() != sizes.length) {
                throw new IllegalArgumentException(
                        "update "
                                + u.id()
                                + " has "
                                + u.tensorCount()
                                + " tensors, expected "
                                + sizes.length);
            }
            for (int t = 0; t < sizes.length; t++) {
                if (u.size(t) != sizes[t]) {
                    throw new IllegalArgumentException(
                            "update "
                                    + u.id()
                                    + ": tensor "
                                    + t
                                    + " has "
                                    + u.size(t)
                                    + " elements, expected "
                                    + sizes[t]);
                }
            }
        }
        return sizes;
    }

    /**
     * Σ wᵢ·cᵢ·Δᵢ / Σ wᵢ over the updates in list order (callers pass the canonical order); {@code
     * scale} is cᵢ per update, or null for cᵢ = 1.
     */
    static double[][] weightedMean(List<WeightedDelta> updates, double[] scale) {
        int[] sizes = sizes(updates);
        double[][] sums = new double[sizes.length][];
        for (int t = 0; t < sizes.length; t++) {
            sums[t] = new double[sizes[t]];
        }
        double total = 0;
        for (int j = 0; j < updates.size(); j++) {
            WeightedDelta u = updates.get(j);
            double w = scale == null ? u.weight() : u.weight() * scale[j];
            for (int t = 0; t < sizes.length; t++) {
                LittleEndianFloats.accumulate(sums[t], u.tensors()[t], u.kinds()[t], w);
            }
            total += u.weight();
        }
        for (double[] s : sums) {
            for (int i = 0; i < s.length; i++) {
                s[i] /= total;
            }
        }
        return sums;
    }

    /** ‖a − b‖² over all tensors in float64, in tensor then element order. */
    static double squaredDistance(WeightedDelta a, WeightedDelta b) {
        double s = 0;
        for (int t = 0; t < a.tensorCount(); t++) {
            int n = a.size(t);
            for (int i = 0; i < n; i++) {
                double d = (double) a.get(t, i) - (double) b.get(t, i);
                s += d * d;
            }
        }
        return s;
    }

    /** A reduction of one coordinate's k values, given sorted ascending. */
    interface SortedColumn {
        double reduce(float[] sorted);
    }

    /**
     * For every element, its k values over the updates (in {@link #canonical} order), sorted
     * ascending and reduced by {@code rule}: the loop of the per-coordinate rules. Reads the
     * updates in place; the scratch column is reused.
     */
    static double[][] perCoordinate(List<WeightedDelta> updates, SortedColumn rule) {
        List<WeightedDelta> sorted = canonical(updates);
        int[] sizes = sizes(sorted);
        int k = sorted.size();
        WeightedDelta[] us = sorted.toArray(new WeightedDelta[0]);
        float[] column = new float[k];
        double[][] out = new double[sizes.length][];
        for (int t = 0; t < sizes.length; t++) {
            double[] o = new double[sizes[t]];
            for (int i = 0; i < o.length; i++) {
                for (int j = 0; j < k; j++) {
                    column[j] = us[j].get(t, i);
                }
                Arrays.sort(column);
                o[i] = rule.reduce(column);
            }
            out[t] = o;
        }
        return out;
    }

    /** A rule's parameters as {@link RobustRule#parameters} returns them: sorted, unmodifiable. */
    static Map<String, String> parameters(Map<String, String> values) {
        return Collections.unmodifiableSortedMap(new TreeMap<>(values));
    }
}
