package io.fedstream.worker.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Small, fixed sampling algorithms on {@link SplittableRandom}, so that generated data and weights
 * are the same on every JDK and machine (unlike {@code Random.nextGaussian}, whose algorithm is not
 * specified across versions).
 */
public final class Sampling {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Sampling() {}

    /** A standard normal draw (Box-Muller, one value per call). */
    public static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** In-place Fisher-Yates shuffle. */
    public static void shuffle(int[] values, SplittableRandom rnd) {
        for (int i = values.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = values[i];
            values[i] = values[j];
            values[j] = t;
        }
    }

    /** {@code order} cut into consecutive batches of {@code batchSize}; the last may be shorter. */
    public static List<int[]> batches(int[] order, int batchSize) {
        List<int[]> out = new ArrayList<>();
        for (int from = 0; from < order.length; from += batchSize) {
            out.add(Arrays.copyOfRange(order, from, Math.min(order.length, from + batchSize)));
        }
        return out;
    }

    /** {@code 0, 1, ..., n - 1}. */
    public static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    /**
     * Derives an independent stream seed from a base seed and a list of stream coordinates (e.g.
     * layer index, round number), so related streams do not overlap.
     */
    public static long streamSeed(long seed, long... coordinates) {
        long s = mix(seed);
        for (long c : coordinates) {
            s = mix(s * GOLDEN + c);
        }
        return s;
    }

    // SplitMix64 finaliser.
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
