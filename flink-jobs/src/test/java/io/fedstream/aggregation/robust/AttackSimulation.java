package io.fedstream.aggregation.robust;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A small federated least-squares problem to compare aggregation rules under attack, in plain Java.
 *
 * <p>Ten sites hold non-IID data for y = w·x + noise in {@value #DIM} dimensions: each site's
 * features are shifted by its own random mean (covariate shift) and its labels come from its own
 * perturbation of the true w (concept shift); site sizes differ (100 to 370 examples), and an
 * update's weight is its example count. Each round every site runs {@value #LOCAL_STEPS} full-batch
 * gradient steps from the global w and sends the difference; the server adds the aggregated delta
 * (server rate 1). The loss is the mean squared error / 2 over all sites' data.
 */
final class AttackSimulation {
    static final int SITES = 10;
    static final int DIM = 10;
    static final int LOCAL_STEPS = 5;
    static final double LOCAL_RATE = 0.05;

    /** What the malicious sites send. */
    enum Attack {
        NONE("none"),
        SIGN_FLIP("sign flip x(-4)"),
        SCALE("scale x10"),
        NOISE("gaussian noise"),
        ALIE("ALIE (z=1)");

        final String label;

        Attack(String label) {
            this.label = label;
        }
    }

    static final double SIGN_FLIP_FACTOR = -4;
    static final double SCALE_FACTOR = 10;
    static final double NOISE_STD = 3.0;
    static final double ALIE_Z = 1.0;

    private final double[][][] x = new double[SITES][][];
    private final double[][] y = new double[SITES][];
    private final boolean[] malicious = new boolean[SITES];
    private final Random attackRandom;
    private final double optimalLoss;

    /**
     * Data of the given seed, with {@code maliciousCount} sites (chosen at random) malicious; site
     * feature means drawn with standard deviation 1, site w's with standard deviation 0.3 around
     * the true w.
     */
    AttackSimulation(long seed, int maliciousCount) {
        this(seed, maliciousCount, 1.0, 0.3);
    }

    /**
     * @param covariateShift the standard deviation of each site's feature mean
     * @param conceptShift the standard deviation of each site's perturbation of the true w
     */
    AttackSimulation(long seed, int maliciousCount, double covariateShift, double conceptShift) {
        Random r = new Random(seed);
        double[] wTrue = gaussian(r, DIM, 1.0);
        for (int s = 0; s < SITES; s++) {
            int n = 100 + 30 * s;
            double[] shift = gaussian(r, DIM, covariateShift);
            double[] wSite = wTrue.clone();
            double[] concept = gaussian(r, DIM, conceptShift);
            for (int d = 0; d < DIM; d++) {
                wSite[d] += concept[d];
            }
            x[s] = new double[n][];
            y[s] = new double[n];
            for (int i = 0; i < n; i++) {
                double[] xi = gaussian(r, DIM, 1.0);
                for (int d = 0; d < DIM; d++) {
                    xi[d] += shift[d];
                }
                x[s][i] = xi;
                y[s][i] = dot(wSite, xi) + 0.1 * r.nextGaussian();
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int s = 0; s < SITES; s++) {
            order.add(s);
        }
        java.util.Collections.shuffle(order, r);
        for (int j = 0; j < maliciousCount; j++) {
            malicious[order.get(j)] = true;
        }
        attackRandom = new Random(seed * 31 + 17);
        optimalLoss = loss(leastSquares());
    }

    /** The loss of the best w for the pooled data. */
    double optimalLoss() {
        return optimalLoss;
    }

    /** Runs {@code rounds} rounds from w = 0 and returns the final loss. */
    double run(RobustRule rule, Attack attack, int rounds) {
        return run(rule, attack, rounds, false);
    }

    /**
     * The loss a perfect defence would reach: FedAvg over the honest sites alone, as if the
     * malicious ones had sent nothing (their data still counts in the loss).
     */
    double honestOnly(int rounds) {
        return run(new WeightedMean(), Attack.NONE, rounds, true);
    }

    private double run(RobustRule rule, Attack attack, int rounds, boolean honestOnly) {
        double[] w = new double[DIM];
        for (int round = 0; round < rounds; round++) {
            double[][] honest = new double[SITES][];
            for (int s = 0; s < SITES; s++) {
                honest[s] = localUpdate(s, w);
            }
            double[] alie = attack == Attack.ALIE ? alie(honest) : null;
            List<WeightedDelta> updates = new ArrayList<>();
            for (int s = 0; s < SITES; s++) {
                if (honestOnly && malicious[s]) {
                    continue;
                }
                double[] delta =
                        malicious[s] && attack != Attack.NONE
                                ? attack(attack, honest[s], alie)
                                : honest[s];
                updates.add(
                        WeightedDelta.ofFloats(
                                "site-" + s, new float[][] {toFloats(delta)}, x[s].length));
            }
            double[] agg = rule.aggregate(updates)[0];
            for (int d = 0; d < DIM; d++) {
                w[d] += agg[d];
            }
        }
        return loss(w);
    }

    private double[] attack(Attack attack, double[] own, double[] alie) {
        double[] out = new double[DIM];
        for (int d = 0; d < DIM; d++) {
            out[d] =
                    switch (attack) {
                        case SIGN_FLIP -> SIGN_FLIP_FACTOR * own[d];
                        case SCALE -> SCALE_FACTOR * own[d];
                        case NOISE -> NOISE_STD * attackRandom.nextGaussian();
                        case ALIE -> alie[d];
                        case NONE -> own[d];
                    };
        }
        return out;
    }

    /**
     * "A little is enough" (Baruch, Baruch, Goldberg 2019): per coordinate, the mean of the honest
     * updates minus z times their standard deviation; the attackers know every honest update.
     */
    private double[] alie(double[][] honest) {
        double[] mean = new double[DIM];
        double[] sq = new double[DIM];
        int n = 0;
        for (int s = 0; s < SITES; s++) {
            if (!malicious[s]) {
                n++;
                for (int d = 0; d < DIM; d++) {
                    mean[d] += honest[s][d];
                }
            }
        }
        for (int d = 0; d < DIM; d++) {
            mean[d] /= n;
        }
        for (int s = 0; s < SITES; s++) {
            if (!malicious[s]) {
                for (int d = 0; d < DIM; d++) {
                    double e = honest[s][d] - mean[d];
                    sq[d] += e * e;
                }
            }
        }
        double[] out = new double[DIM];
        for (int d = 0; d < DIM; d++) {
            out[d] = mean[d] - ALIE_Z * Math.sqrt(sq[d] / n);
        }
        return out;
    }

    /** {@value #LOCAL_STEPS} full-batch gradient steps on site s from w; returns w_local − w. */
    double[] localUpdate(int s, double[] w) {
        double[] local = w.clone();
        int n = x[s].length;
        for (int step = 0; step < LOCAL_STEPS; step++) {
            double[] g = new double[DIM];
            for (int i = 0; i < n; i++) {
                double e = dot(local, x[s][i]) - y[s][i];
                for (int d = 0; d < DIM; d++) {
                    g[d] += e * x[s][i][d];
                }
            }
            for (int d = 0; d < DIM; d++) {
                local[d] -= LOCAL_RATE * g[d] / n;
            }
        }
        double[] delta = new double[DIM];
        for (int d = 0; d < DIM; d++) {
            delta[d] = local[d] - w[d];
        }
        return delta;
    }

    /** Mean squared error / 2 over all sites' data. */
    double loss(double[] w) {
        double sum = 0;
        int count = 0;
        for (int s = 0; s < SITES; s++) {
            for (int i = 0; i < x[s].length; i++) {
                double e = dot(w, x[s][i]) - y[s][i];
                sum += e * e;
                count++;
            }
        }
        return sum / (2.0 * count);
    }

    private double[] leastSquares() {
        double[][] a = new double[DIM][DIM + 1];
        for (int s = 0; s < SITES; s++) {
            for (int i = 0; i < x[s].length; i++) {
                for (int p = 0; p < DIM; p++) {
                    for (int q = 0; q < DIM; q++) {
                        a[p][q] += x[s][i][p] * x[s][i][q];
                    }
                    a[p][DIM] += x[s][i][p] * y[s][i];
                }
            }
        }
        for (int c = 0; c < DIM; c++) {
            int pivot = c;
            for (int r = c + 1; r < DIM; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) {
                    pivot = r;
                }
            }
            double[] tmp = a[c];
            a[c] = a[pivot];
            a[pivot] = tmp;
            for (int r = 0; r < DIM; r++) {
                if (r != c) {
                    double f = a[r][c] / a[c][c];
                    for (int q = c; q <= DIM; q++) {
                        a[r][q] -= f * a[c][q];
                    }
                }
            }
        }
        double[] w = new double[DIM];
        for (int d = 0; d < DIM; d++) {
            w[d] = a[d][DIM] / a[d][d];
        }
        return w;
    }

    /** Norms of the honest updates at w, for choosing a clipping bound. */
    double[] honestNorms(double[] w) {
        double[] out = new double[SITES];
        for (int s = 0; s < SITES; s++) {
            double[] u = localUpdate(s, w);
            out[s] = Math.sqrt(dot(u, u));
        }
        Arrays.sort(out);
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] gaussian(Random r, int n, double std) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = std * r.nextGaussian();
        }
        return v;
    }

    private static float[] toFloats(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) v[i];
        }
        return out;
    }
}
