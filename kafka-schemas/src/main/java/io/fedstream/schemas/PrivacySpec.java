package io.fedstream.schemas;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.Objects;

/**
 * Central client-level differential privacy (DP-FedAvg) of a federation: the {@code privacy} object
 * of its spec, e.g. {@code "privacy": {"clipNorm": 1.0, "noiseMultiplier": 1.1, "delta": 1e-5,
 * "epsilonBudget": 8, "expectedContributions": 3}}.
 *
 * <p>Every update is clipped to L2 norm {@code clipNorm} (C), weighted by its staleness discount
 * alone (at most 1; example counts are the site's claim and unbounded, so they cannot enter a
 * sensitivity), summed, noised with N(0, (σ·C)²) per element and divided by {@code
 * expectedContributions} (fixed in advance, never the actual count). Each site may spend at most
 * {@code epsilonBudget} at {@code delta}; the job refuses its updates beyond that.
 *
 * @param expectedContributions the divisor; null means the job's round quorum
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PrivacySpec(
        @JsonProperty("clipNorm") Double clipNorm,
        @JsonProperty("noiseMultiplier") Double noiseMultiplier,
        @JsonProperty("delta") Double delta,
        @JsonProperty("epsilonBudget") Double epsilonBudget,
        @JsonProperty("expectedContributions") Integer expectedContributions)
        implements Serializable {

    /**
     * Update metric a worker with local DP sets: the L2 norm it clipped its update to. A
     * declaration, not signed: the job records it in the ledger as the site's claim.
     */
    public static final String LOCAL_DP_CLIP_METRIC = "local_dp_clip_norm";

    /** Update metric a worker with local DP sets: its noise multiplier (noise std / its clip). */
    public static final String LOCAL_DP_NOISE_METRIC = "local_dp_noise_multiplier";

    @JsonCreator
    public PrivacySpec {
        positive(clipNorm, "clipNorm", "the L2 norm every update is clipped to");
        positive(noiseMultiplier, "noiseMultiplier", "sigma: noise std = sigma * clipNorm");
        if (delta == null) {
            throw new IllegalArgumentException(
                    "privacy.delta is required: the delta of each site's (epsilon, delta) budget,"
                            + " e.g. 1e-5");
        }
        if (!(delta > 0 && delta < 1)) {
            throw new IllegalArgumentException("privacy.delta must be in (0, 1), not " + delta);
        }
        positive(epsilonBudget, "epsilonBudget", "each site's epsilon budget at delta");
        if (expectedContributions != null && expectedContributions < 1) {
            throw new IllegalArgumentException(
                    "privacy.expectedContributions must be >= 1, not " + expectedContributions);
        }
    }

    private static void positive(Double v, String field, String what) {
        if (v == null) {
            throw new IllegalArgumentException("privacy." + field + " is required: " + what);
        }
        if (!(v > 0) || v.isInfinite()) {
            throw new IllegalArgumentException(
                    "privacy."
                            + field
                            + " must be positive and finite, not "
                            + v
                            + " ("
                            + what
                            + ")");
        }
    }

    /** The divisor of the noised sum: {@link #expectedContributions} or else {@code quorum}. */
    public int expectedContributionsOr(int quorum) {
        return expectedContributions == null ? quorum : expectedContributions;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PrivacySpec p
                && clipNorm.equals(p.clipNorm)
                && noiseMultiplier.equals(p.noiseMultiplier)
                && delta.equals(p.delta)
                && epsilonBudget.equals(p.epsilonBudget)
                && Objects.equals(expectedContributions, p.expectedContributions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(clipNorm, noiseMultiplier, delta, epsilonBudget, expectedContributions);
    }
}
