package io.fedstream.lab.lora;

import java.util.List;

/**
 * Reference computations on products of factors: dense ones (O(out·in·r), for tests and tools) and
 * the factored distance to the average product that the strategies report.
 */
public final class LoraProducts {
    private LoraProducts() {}

    /** B·A (out × in, row-major) for B (out × r) and A (r × in), row-major, float64. */
    public static double[] product(double[] b, double[] a, int out, int r, int in) {
        check(b, out * (long) r, "B");
        check(a, r * (long) in, "A");
        double[] m = new double[Math.multiplyExact(out, in)];
        addScaledProduct(m, 1.0, b, a, out, r, in);
        return m;
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    // m += p·B·A, skipping zero entries of p·B
    private static void addScaledProduct(
            double[] m, double p, double[] b, double[] a, int out, int r, int in) {
        for (int i = 0; i < out; i++) {
            for (int k = 0; k < r; k++) {
                double x = p * b[i * r + k];
                if (x == 0) {
                    continue;
                }
                int ak = k * in;
                int mi = i * in;
                for (int j = 0; j < in; j++) {
                    m[mi + j] += x * a[ak + j];
                }
            }
        }
    }

    /**
     * The average product M = Σ wᵢ·Bᵢ·Aᵢ / Σ wᵢ (out × in, row-major, float64), formed densely:
     * what FedAvg of the sites' ΔW / s would give. O(k·r·out·in).
     */
    public static double[] averageProduct(LoraPair pair, List<LoraFactors> updates) {
        double total = LoraAggregation.checkedTotalWeight(pair, updates);
        int out = pair.out();
        int in = pair.in();
        int r = pair.rank();
        double[] m = new double[Math.multiplyExact(out, in)];
        for (LoraFactors f : updates) {
            addScaledProduct(m, f.weight() / total, toDouble(f.b()), toDouble(f.a()), out, r, in);
        }
        return m;
    }

    /** ‖x‖_F. */
    public static double frobenius(double[] x) {
        return Math.sqrt(Svd.dot(x, 0, x, 0, x.length));
    }

    /** ‖x − reference‖_F / ‖reference‖_F (0 if both are zero, +∞ if only the reference is). */
    public static double relativeDistance(double[] x, double[] reference) {
        if (x.length != reference.length) {
            throw new IllegalArgumentException(
                    "sizes differ: " + x.length + " vs " + reference.length);
        }
        double d = 0;
        double n = 0;
        for (int i = 0; i < x.length; i++) {
            double e = x[i] - reference[i];
            d += e * e;
            n += reference[i] * reference[i];
        }
        return ratio(Math.sqrt(d), Math.sqrt(n));
    }

    /**
     * ‖B'·A' − M‖_F and ‖M‖_F for new factors B' (out × rank) and A' (rank × in), computed in the
     * factored space: [B', −p₁B₁, …] · [A'; A₁; …] has inner dimension rank + k·r, so this costs
     * O((out + in)·(rank + k·r)²) and never forms an out × in matrix. Backward stable (Householder
     * QR): the error is a few ε·(‖B'‖‖A'‖ + Σ pᵢ‖Bᵢ‖‖Aᵢ‖), not ε^½ as with Gram matrices.
     *
     * @return {distance, ‖M‖_F}
     */
    public static double[] distanceToAverage(
            LoraPair pair, List<LoraFactors> updates, double[] newA, double[] newB, int rank) {
        double total = LoraAggregation.checkedTotalWeight(pair, updates);
        check(newA, rank * (long) pair.in(), "A'");
        check(newB, pair.out() * (long) rank, "B'");
        int r = pair.rank();
        int out = pair.out();
        int in = pair.in();
        int m = rank + updates.size() * r;
        double[] l = new double[Math.multiplyExact(out, m)];
        double[] rt = new double[Math.multiplyExact(in, m)];
        Factored.putB(l, out, 0, newB, rank, 1.0);
        Factored.putA(rt, in, 0, newA, rank);
        for (int u = 0; u < updates.size(); u++) {
            LoraFactors f = updates.get(u);
            Factored.putB(l, out, rank + u * r, f.b(), r, -f.weight() / total);
            Factored.putA(rt, in, rank + u * r, f.a(), r);
        }
        double distance = Factored.norm(l, out, rt, in, m);
        double[][] s = Factored.stack(pair, updates, total);
        double norm = Factored.norm(s[0], out, s[1], in, updates.size() * r);
        return new double[] {distance, norm};
    }

    /** ‖B'·A' − M‖_F / ‖M‖_F, by {@link #distanceToAverage}. */
    public static double relativeErrorToAverage(
            LoraPair pair, List<LoraFactors> updates, double[] newA, double[] newB, int rank) {
        double[] d = distanceToAverage(pair, updates, newA, newB, rank);
        return ratio(d[0], d[1]);
    }

    static double ratio(double distance, double norm) {
        if (norm > 0) {
            return distance / norm;
        }
        return distance == 0 ? 0 : Double.POSITIVE_INFINITY;
    }

    private static void check(double[] x, long expected, String what) {
        if (x.length != expected) {
            throw new IllegalArgumentException(
                    what + " has " + x.length + " elements, expected " + expected);
        }
    }
}
