package io.fedstream.aggregation.privacy;

/**
 * Adaptive clipping after Andrew, Thakkar, McMahan and Ramaswamy, "Differentially Private Learning
 * with Adaptive Clipping" (NeurIPS 2021), Algorithm 1: the clip norm C follows the {@code
 * targetQuantile} γ of the updates' norms, updated geometrically from a noised count of the updates
 * that were not clipped, {@code C ← C·exp(−η_C·(b̃ − γ))} with {@code b̃ = (Σ bᵢ + N(0, σ_b²)) /
 * m}, bᵢ = 1 if ‖Δᵢ‖ ≤ C, m the expected number of contributions.
 *
 * <p>The count is a second Gaussian query on the same updates. The paper keeps the total privacy
 * cost that of one Gaussian mechanism with noise multiplier z by giving the sum the larger
 * multiplier {@link #sumNoiseMultiplier z_Δ = (z⁻² − (2σ_b)⁻²)^(-1/2)}: the centred count Σ(bᵢ − ½)
 * has sensitivity ½, so its multiplier is 2σ_b, and two Gaussian queries with multipliers z_Δ and
 * 2σ_b compose in Rényi DP to one with z (their ρ add: 1/z² = 1/z_Δ² + 1/(2σ_b)²). The accountant
 * therefore charges a version with z as before.
 *
 * <p>Plain maths, not yet wired into the job (the spec option, the clip carried across versions in
 * state and the audit's re-derivation are still to do; docs/algorithms.md).
 *
 * @param targetQuantile γ ∈ (0, 1): the fraction of updates meant to stay under the clip
 * @param learningRate η_C &gt; 0 of the geometric update
 * @param countNoise σ_b &gt; 0, the standard deviation of the count's noise (the paper suggests
 *     m/20)
 * @param initialClip C₀ &gt; 0
 */
public record AdaptiveClip(
        double targetQuantile, double learningRate, double countNoise, double initialClip) {

    public AdaptiveClip {
        if (!(targetQuantile > 0 && targetQuantile < 1)) {
            throw new IllegalArgumentException(
                    "targetQuantile must be in (0, 1), not " + targetQuantile);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be > 0, not " + learningRate);
        }
        if (!(countNoise > 0) || Double.isInfinite(countNoise)) {
            throw new IllegalArgumentException("countNoise must be > 0, not " + countNoise);
        }
        if (!(initialClip > 0) || Double.isInfinite(initialClip)) {
            throw new IllegalArgumentException("initialClip must be > 0, not " + initialClip);
        }
    }

    /**
     * z_Δ, the noise multiplier of the sum that keeps sum and count together at the cost of one
     * Gaussian mechanism with multiplier {@code z}; refused unless 2σ_b &gt; z (else the count
     * alone would cost more than z allows).
     */
    public static double sumNoiseMultiplier(double z, double countNoise) {
        if (!(z > 0) || !(countNoise > 0)) {
            throw new IllegalArgumentException(
                    "noise multiplier and count noise must be > 0: " + z + ", " + countNoise);
        }
        double rest = 1 / (z * z) - 1 / (4 * countNoise * countNoise);
        if (!(rest > 0)) {
            throw new IllegalArgumentException(
                    "countNoise "
                            + countNoise
                            + " is too small for noise multiplier "
                            + z
                            + ": 2 * countNoise must exceed it");
        }
        return 1 / Math.sqrt(rest);
    }

    /** Whether an update of L2 norm {@code norm} counts as under the clip {@code clip} (bᵢ). */
    public static boolean under(double norm, double clip) {
        return norm <= clip;
    }

    /**
     * b̃: the noised fraction of updates under the clip, {@code (unclipped + σ_b·n) / expected}
     * with n a standard normal draw.
     */
    public double noisedFraction(int unclipped, double standardNormal, int expected) {
        if (expected < 1) {
            throw new IllegalArgumentException("expected must be >= 1, not " + expected);
        }
        return (unclipped + countNoise * standardNormal) / expected;
    }

    /** The clip of the next version: {@code clip · exp(−η_C · (b̃ − γ))}. */
    public double next(double clip, double noisedFraction) {
        return clip * Math.exp(-learningRate * (noisedFraction - targetQuantile));
    }
}
