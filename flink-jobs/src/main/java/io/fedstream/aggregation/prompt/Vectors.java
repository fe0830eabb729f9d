package io.fedstream.aggregation.prompt;

/** Small dense-vector helpers in double precision. */
final class Vectors {
    private Vectors() {}

    static double dot(float[] a, float[] b) {
        check(a, b);
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    static double norm(float[] a) {
        return Math.sqrt(dot(a, a));
    }

    /** Cosine similarity; 0 if either vector is zero. */
    static double cosine(float[] a, float[] b) {
        double na = norm(a);
        double nb = norm(b);
        if (na == 0 || nb == 0) {
            return 0;
        }
        return dot(a, b) / (na * nb);
    }

    /** Below this a cosine distance is rounding error: identical vectors. */
    static final double ROUNDING = 1e-9;

    /**
     * Cosine distance 1 - cos, with rounding error snapped to 0: cos(v, v) computes to 1 ± a few
     * ulps, and identical tokens must be at distance exactly 0 (≤ any eps, including an eps of 0
     * that the elbow chose).
     */
    static double cosineDistance(float[] a, float[] b) {
        double d = 1 - cosine(a, b);
        return d < ROUNDING ? 0 : d;
    }

    static void check(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(
                    "vectors of different sizes: " + a.length + " and " + b.length);
        }
    }
}
