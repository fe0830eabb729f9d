package io.fedstream.lab.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Seeded random factors and small matrix helpers shared by the tests. */
final class LoraTestData {
    private LoraTestData() {}

    static float[] gaussian(Random rnd, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * std);
        }
        return x;
    }

    static double[][] gaussianMatrix(Random rnd, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = rnd.nextGaussian();
            }
        }
        return m;
    }

    /**
     * k sites with independent random factors (non-IID in the extreme: every site moved A and B in
     * its own directions): Aᵢ = A₀ + 0.5·Nᵢ around a shared Kaiming-like init, Bᵢ ~ N(0, 0.01²),
     * weights 50..549 examples.
     */
    static List<LoraFactors> nonIid(Random rnd, LoraPair pair, int k) {
        return nonIid(rnd, pair, k, true);
    }

    /**
     * As {@link #nonIid(Random, LoraPair, int)}; without sharedInit the sites' A's are independent,
     * Aᵢ ~ N(0, 1/in) (no common initialisation at all: the worst case).
     */
    static List<LoraFactors> nonIid(Random rnd, LoraPair pair, int k, boolean sharedInit) {
        float[] a0 =
                sharedInit
                        ? gaussian(rnd, pair.aSize(), 1 / Math.sqrt(pair.in()))
                        : new float[pair.aSize()];
        double drift = sharedInit ? 0.5 : 1.0;
        List<LoraFactors> out = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            float[] a = gaussian(rnd, pair.aSize(), drift / Math.sqrt(pair.in()));
            for (int j = 0; j < a.length; j++) {
                a[j] += a0[j];
            }
            float[] b = gaussian(rnd, pair.bSize(), 0.01);
            out.add(new LoraFactors(a, b, 50 + rnd.nextInt(500)));
        }
        return out;
    }

    /** k sites with the same A (FFA-LoRA: A frozen at its init) and their own B. */
    static List<LoraFactors> frozenA(Random rnd, LoraPair pair, int k) {
        float[] a = gaussian(rnd, pair.aSize(), 1 / Math.sqrt(pair.in()));
        List<LoraFactors> out = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            out.add(new LoraFactors(a, gaussian(rnd, pair.bSize(), 0.01), 1 + rnd.nextInt(100)));
        }
        return out;
    }

    /**
     * k sites whose updates share one subspace: Bᵢ = U·Cᵢ and Aᵢ = Dᵢ·V for a common U (out × r)
     * and V (r × in), so every BᵢAᵢ = U·(CᵢDᵢ)·V and M has rank ≤ r. All entries are small
     * integers, so the float32 factors hold the products exactly and the rank bound is exact.
     */
    static List<LoraFactors> sharedSubspace(Random rnd, LoraPair pair, int k) {
        int r = pair.rank();
        int[][] u = integers(rnd, pair.out(), r);
        int[][] v = integers(rnd, r, pair.in());
        List<LoraFactors> out = new ArrayList<>();
        for (int s = 0; s < k; s++) {
            int[][] c = integers(rnd, r, r);
            int[][] d = integers(rnd, r, r);
            float[] b = new float[pair.bSize()];
            float[] a = new float[pair.aSize()];
            for (int i = 0; i < pair.out(); i++) {
                for (int j = 0; j < r; j++) {
                    int x = 0;
                    for (int l = 0; l < r; l++) {
                        x += u[i][l] * c[l][j];
                    }
                    b[i * r + j] = x;
                }
            }
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < pair.in(); j++) {
                    int x = 0;
                    for (int l = 0; l < r; l++) {
                        x += d[i][l] * v[l][j];
                    }
                    a[i * pair.in() + j] = x;
                }
            }
            out.add(new LoraFactors(a, b, 1 + rnd.nextInt(10)));
        }
        return out;
    }

    /** Integers in [-3, 3]. */
    static int[][] integers(Random rnd, int rows, int cols) {
        int[][] m = new int[rows][cols];
        for (int[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = rnd.nextInt(7) - 3;
            }
        }
        return m;
    }

    static double maxAbsDiff(double[] x, double[] y) {
        double m = 0;
        for (int i = 0; i < x.length; i++) {
            m = Math.max(m, Math.abs(x[i] - y[i]));
        }
        return m;
    }
}
