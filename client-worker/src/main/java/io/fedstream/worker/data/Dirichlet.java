package io.fedstream.worker.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Dirichlet sampling through Gamma variates: if {@code G_i ~ Gamma(alpha_i, 1)} independently, then
 * {@code G / sum(G) ~ Dir(alpha)}.
 *
 * <p>Gamma variates use Marsaglia and Tsang's method (2000); for a shape below 1 the boost {@code
 * Gamma(a) = Gamma(a + 1) * U^(1/a)} is applied. Normalisation happens in log space so that very
 * small concentrations (e.g. 0.01), whose Gamma draws underflow to 0 in double precision, still
 * give a valid point on the simplex.
 */
public final class Dirichlet {

    private Dirichlet() {}

    /** One draw from {@code Dir(alpha)}; all entries of {@code alpha} must be positive. */
    public static double[] sample(double[] alpha, SplittableRandom rnd) {
        if (alpha.length == 0) {
            throw new IllegalArgumentException("Dirichlet needs at least one component");
        }
        double[] logs = new double[alpha.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < alpha.length; i++) {
            logs[i] = logGamma(alpha[i], rnd);
            max = Math.max(max, logs[i]);
        }
        double sum = 0;
        double[] p = new double[alpha.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logs[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** One draw from the symmetric {@code Dir(alpha, ..., alpha)} with {@code k} components. */
    public static double[] symmetric(double alpha, int k, SplittableRandom rnd) {
        double[] a = new double[k];
        Arrays.fill(a, alpha);
        return sample(a, rnd);
    }

    /** One draw from {@code Gamma(shape, 1)}. */
    public static double gamma(double shape, SplittableRandom rnd) {
        return Math.exp(logGamma(shape, rnd));
    }

    /** The logarithm of one draw from {@code Gamma(shape, 1)}, finite even for tiny shapes. */
    public static double logGamma(double shape, SplittableRandom rnd) {
        if (!(shape > 0) || Double.isInfinite(shape)) {
            throw new IllegalArgumentException("Gamma shape must be positive and finite: " + shape);
        }
        if (shape < 1) {
            // Gamma(a) = Gamma(a + 1) * U^(1/a); U in (0, 1]
            double u = 1 - rnd.nextDouble();
            return Math.log(marsagliaTsang(shape + 1, rnd)) + Math.log(u) / shape;
        }
        return Math.log(marsagliaTsang(shape, rnd));
    }

    // Marsaglia & Tsang, "A simple method for generating gamma variables", shape >= 1.
    private static double marsagliaTsang(double shape, SplittableRandom rnd) {
        double d = shape - 1.0 / 3.0;
        double c = 1.0 / Math.sqrt(9 * d);
        while (true) {
            double x;
            double v;
            do {
                x = Sampling.gaussian(rnd);
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = 1 - rnd.nextDouble(); // (0, 1]
            if (u < 1 - 0.0331 * x * x * x * x) {
                return d * v;
            }
            if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
                return d * v;
            }
        }
    }
}
