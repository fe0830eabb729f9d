package io.fedstream.lab.experiment;

import io.fedstream.worker.data.Sampling;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * How long each site takes per round in the asynchronous experiment, seeded and heavy-tailed: site
 * medians spaced geometrically from {@code median / sqrt(spread)} to {@code median · sqrt(spread)}
 * (the slowest site's median is {@code spread} times the fastest's), assigned to sites in a seeded
 * order, and every round's delay drawn lognormally around its site's median: {@code m_i ·
 * exp(jitter · ε)}, ε standard normal. The delay is a wait (no CPU), so on a 2-core machine it can
 * dominate the training it stands for, as slow sites' hardware and links do in a real federation.
 */
final class SiteDelays {
    private final double[] medianMs;
    private final double jitter;
    private final long seed;

    SiteDelays(int sites, Duration median, double spread, double jitter, long seed) {
        if (sites < 1 || !(spread >= 1) || !(jitter >= 0) || median.isNegative()) {
            throw new IllegalArgumentException("bad delay model");
        }
        this.jitter = jitter;
        this.seed = seed;
        int[] order = new int[sites];
        for (int i = 0; i < sites; i++) {
            order[i] = i;
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = sites - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        medianMs = new double[sites];
        for (int rank = 0; rank < sites; rank++) {
            double position = sites == 1 ? 0.5 : rank / (double) (sites - 1);
            medianMs[order[rank]] = median.toMillis() * Math.pow(spread, position - 0.5);
        }
    }

    /** Site {@code site}'s median delay in milliseconds. */
    double medianMillis(int site) {
        return medianMs[site];
    }

    /** The delay of site {@code site} in its round {@code round}. */
    Duration delay(int site, long round) {
        SplittableRandom r = new SplittableRandom(Sampling.streamSeed(seed, site, round));
        double z = Sampling.gaussian(r);
        return Duration.ofMillis(Math.round(medianMs[site] * Math.exp(jitter * z)));
    }
}
