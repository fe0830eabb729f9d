package io.fedstream.aggregation.privacy;

import java.util.Arrays;

/**
 * Rényi differential privacy (RDP) of the sampled Gaussian mechanism, composed over rounds and
 * converted to (ε, δ)-DP.
 *
 * <p>The RDP of one round at order α is that of Mironov, Talwar and Zhang, "Rényi Differential
 * Privacy of the Sampled Gaussian Mechanism" (2019), Section 3.3, for integer α: {@code
 * log(A_α)/(α-1)} with {@code A_α = Σ_{i=0..α} C(α,i) (1-q)^(α-i) q^i exp((i²-i)/(2σ²))}, and the
 * closed form {@code α/(2σ²)} of the plain Gaussian mechanism for sampling rate q = 1. RDP adds up
 * over rounds. The conversion to ε at δ is Balle et al., "Hypothesis Testing Interpretations and
 * Renyi Differential Privacy" (AISTATS 2020), Theorem 21, minimised over the orders: {@code ε = rdp
 * - (log δ + log α)/(α-1) + log((α-1)/α)} — the same definitions as Opacus' and TensorFlow
 * Privacy's RDP accountants, so their values for the same parameters and orders agree (see the
 * test). Own code because there is no maintained JVM library of it on Maven Central; plain Java
 * with no Flink import.
 *
 * <p>Sensitivity in units of the clip norm: a site with k contributions to one round moves the
 * noised sum by at most k·C (each clipped to C, with a weight of at most 1), which with noise of
 * standard deviation σ·C is the Gaussian mechanism with noise multiplier σ/k.
 */
public final class RdpAccountant {
    /** The orders α the accountant tracks: 2..64 and a few large ones for small ε and tight δ. */
    private static final double[] ORDERS = defaultOrders();

    private RdpAccountant() {}

    private static double[] defaultOrders() {
        double[] o = new double[63 + 5];
        for (int a = 2; a <= 64; a++) {
            o[a - 2] = a;
        }
        double[] large = {80, 96, 128, 192, 256};
        System.arraycopy(large, 0, o, 63, large.length);
        return o;
    }

    /** The orders, in the order of every RDP vector this class returns or accepts. */
    public static double[] orders() {
        return ORDERS.clone();
    }

    /** A zero RDP vector (nothing spent). */
    public static double[] zero() {
        return new double[ORDERS.length];
    }

    /**
     * RDP at every order of {@code steps} rounds of the Gaussian mechanism with noise multiplier
     * {@code sigma} (noise standard deviation / L2 sensitivity) and sampling rate {@code q}.
     */
    public static double[] rdp(double q, double sigma, long steps) {
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("sampling rate must be in [0, 1]: " + q);
        }
        if (!(sigma > 0) || Double.isInfinite(sigma)) {
            throw new IllegalArgumentException("noise multiplier must be positive: " + sigma);
        }
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0: " + steps);
        }
        double[] out = new double[ORDERS.length];
        if (q == 0 || steps == 0) {
            return out;
        }
        for (int k = 0; k < ORDERS.length; k++) {
            int alpha = (int) ORDERS[k];
            double one = q == 1 ? alpha / (2 * sigma * sigma) : logA(q, sigma, alpha) / (alpha - 1);
            out[k] = one * steps;
        }
        return out;
    }

    /** One round in which a site contributed {@code contributions} updates (q = 1). */
    public static double[] round(double sigma, int contributions) {
        if (contributions < 1) {
            throw new IllegalArgumentException("contributions must be >= 1: " + contributions);
        }
        return rdp(1.0, sigma / contributions, 1);
    }

    /** The element-wise sum (composition) of two RDP vectors. */
    public static double[] compose(double[] a, double[] b) {
        check(a);
        check(b);
        double[] out = new double[ORDERS.length];
        for (int k = 0; k < out.length; k++) {
            out[k] = a[k] + b[k];
        }
        return out;
    }

    /** The smallest ε over the orders such that the RDP vector gives (ε, δ)-DP. */
    public static double epsilon(double[] rdp, double delta) {
        check(rdp);
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("delta must be in (0, 1): " + delta);
        }
        if (Arrays.stream(rdp).allMatch(r -> r == 0)) {
            return 0; // no mechanism ran on the data (the conversion alone would give ~0.02)
        }
        double best = Double.POSITIVE_INFINITY;
        for (int k = 0; k < ORDERS.length; k++) {
            double a = ORDERS[k];
            double eps = rdp[k] - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
            if (eps < best) {
                best = eps;
            }
        }
        return Math.max(0, best);
    }

    /** ε after {@code steps} rounds at sampling rate q and noise multiplier σ. */
    public static double epsilon(double q, double sigma, long steps, double delta) {
        return epsilon(rdp(q, sigma, steps), delta);
    }

    /**
     * The smallest noise multiplier σ (to 0.1% relative) for which {@code steps} rounds at sampling
     * rate q stay within ε at δ. For {@code ./fedstream local --dp-epsilon} and the experiments:
     * with FedStream's rounds q = 1 and steps = the rounds a site contributes to.
     */
    public static double sigmaFor(double epsilon, double delta, long steps, double q) {
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be positive: " + epsilon);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1: " + steps);
        }
        double lo = 1e-3;
        double hi = 1;
        while (epsilon(q, hi, steps, delta) > epsilon) {
            hi *= 2;
            if (hi > 1e7) {
                throw new IllegalArgumentException(
                        "no noise multiplier below 1e7 reaches epsilon " + epsilon);
            }
        }
        while (hi - lo > 1e-3 * hi) {
            double mid = (lo + hi) / 2;
            if (epsilon(q, mid, steps, delta) > epsilon) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return hi;
    }

    /** log(A_α) for integer α and 0 < q < 1, summed in log space. */
    static double logA(double q, double sigma, int alpha) {
        double logA = Double.NEGATIVE_INFINITY;
        double logBinom = 0; // log C(alpha, 0)
        double logQ = Math.log(q);
        double log1mQ = Math.log1p(-q);
        for (int i = 0; i <= alpha; i++) {
            if (i > 0) {
                logBinom += Math.log(alpha - i + 1) - Math.log(i);
            }
            double s =
                    logBinom
                            + i * logQ
                            + (alpha - i) * log1mQ
                            + ((double) i * i - i) / (2 * sigma * sigma);
            logA = logAdd(logA, s);
        }
        return logA;
    }

    private static double logAdd(double x, double y) {
        double a = Math.min(x, y);
        double b = Math.max(x, y);
        if (a == Double.NEGATIVE_INFINITY) {
            return b;
        }
        return Math.log1p(Math.exp(a - b)) + b;
    }

    private static void check(double[] rdp) {
        if (rdp == null || rdp.length != ORDERS.length) {
            throw new IllegalArgumentException(
                    "an RDP vector has one value per order ("
                            + ORDERS.length
                            + "), not "
                            + (rdp == null ? "null" : Arrays.toString(rdp)));
        }
    }
}
