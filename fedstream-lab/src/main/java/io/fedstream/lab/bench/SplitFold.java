package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats.Kind;
import io.fedstream.aggregation.WeightedAccumulator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * One round of FedAvg folded by several threads, each owning a contiguous range of the model's
 * tensors with its own {@link WeightedAccumulator}, as the job at parallelism 2 folds different
 * chunks of the same updates on two subtasks. Every thread adds every update, in the same order, to
 * its part ({@code add} per update), then applies its part to the base; each element sees the same
 * operations as with one accumulator over the whole model, so the result is the same bits.
 */
final class SplitFold implements AutoCloseable {
    private final int[] bounds; // part p owns tensors [bounds[p], bounds[p + 1])
    private final WeightedAccumulator[] parts;
    private final ExecutorService threads;

    SplitFold(int[] sizes, int parts) {
        this.bounds = bounds(sizes, parts);
        this.parts = new WeightedAccumulator[parts];
        for (int p = 0; p < parts; p++) {
            this.parts[p] =
                    new WeightedAccumulator(Arrays.copyOfRange(sizes, bounds[p], bounds[p + 1]));
        }
        this.threads = Executors.newFixedThreadPool(parts);
    }

    /**
     * Tensor boundaries of {@code parts} contiguous ranges with element counts as even as the
     * tensors allow: part p is [b[p], b[p+1]), b[0] = 0, b[parts] = sizes.length; every part holds
     * at least one tensor.
     */
    static int[] bounds(int[] sizes, int parts) {
        if (parts < 1 || parts > sizes.length) {
            throw new IllegalArgumentException(parts + " parts for " + sizes.length + " tensors");
        }
        long total = 0;
        for (int s : sizes) {
            total += s;
        }
        int[] b = new int[parts + 1];
        b[parts] = sizes.length;
        long seen = 0;
        int t = 0;
        for (int p = 1; p < parts; p++) {
            double target = (double) total * p / parts;
            int max = sizes.length - (parts - p); // leave a tensor for each later part
            do { // at least one tensor per part
                seen += sizes[t];
                t++;
            } while (t < max && seen + sizes[t] / 2.0 < target);
            b[p] = t;
        }
        return b;
    }

    /**
     * Folds updates 0..k-1 ({@code update.apply(i)}: one little-endian array per tensor) with
     * weights {@code w}, each part on its own thread, and returns base + Σwᵢ·Δᵢ / Σwᵢ.
     */
    float[][] round(IntFunction<byte[][]> update, int k, Kind[] kinds, double[] w, float[][] base)
            throws InterruptedException {
        List<Future<float[][]>> results = new ArrayList<>(parts.length);
        for (int p = 0; p < parts.length; p++) {
            int from = bounds[p];
            int to = bounds[p + 1];
            WeightedAccumulator acc = parts[p];
            results.add(
                    threads.submit(
                            () -> {
                                acc.reset();
                                Kind[] ks = Arrays.copyOfRange(kinds, from, to);
                                for (int i = 0; i < k; i++) {
                                    acc.add(
                                            Arrays.copyOfRange(update.apply(i), from, to),
                                            ks,
                                            w[i]);
                                }
                                return acc.applyTo(Arrays.copyOfRange(base, from, to), 1.0);
                            }));
        }
        float[][] out = new float[base.length][];
        for (int p = 0; p < parts.length; p++) {
            float[][] part;
            try {
                part = results.get(p).get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("part " + p + " failed", e.getCause());
            }
            System.arraycopy(part, 0, out, bounds[p], part.length);
        }
        return out;
    }

    /** The float64 sums of the last round, all tensors in order. */
    double[][] sums() {
        double[][] all = new double[bounds[parts.length]][];
        for (int p = 0; p < parts.length; p++) {
            double[][] s = parts[p].sums();
            System.arraycopy(s, 0, all, bounds[p], s.length);
        }
        return all;
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
