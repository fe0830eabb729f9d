package io.fedstream.worker;

import io.fedstream.schemas.PrivacySpec;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Local differential privacy at the site, for sites that trust no aggregator: before an update
 * leaves the site it is clipped to L2 norm {@code clipNorm} (over all its tensors) and every
 * element gets Gaussian noise of standard deviation {@code noiseMultiplier · clipNorm}, drawn from
 * the site's own {@link SecureRandom} (no one else can reproduce or subtract it). The update then
 * declares both values in its metrics ({@link PrivacySpec#LOCAL_DP_CLIP_METRIC}, {@link
 * PrivacySpec#LOCAL_DP_NOISE_METRIC}) and the job's privacy ledger records them for the site.
 *
 * @param clipNorm C, > 0
 * @param noiseMultiplier σ, > 0
 */
public record LocalDp(double clipNorm, double noiseMultiplier) {

    public LocalDp {
        if (!(clipNorm > 0) || Double.isInfinite(clipNorm)) {
            throw new IllegalArgumentException("local DP clip norm must be positive: " + clipNorm);
        }
        if (!(noiseMultiplier > 0) || Double.isInfinite(noiseMultiplier)) {
            throw new IllegalArgumentException(
                    "local DP noise multiplier must be positive: " + noiseMultiplier);
        }
    }

    /** The clipped and noised copy of {@code delta} (tensor order kept). */
    public Map<String, float[]> apply(Map<String, float[]> delta, Random rnd) {
        double sumSquares = 0;
        for (float[] t : delta.values()) {
            for (float x : t) {
                sumSquares += (double) x * x;
            }
        }
        double norm = Math.sqrt(sumSquares);
        double scale = norm > clipNorm ? clipNorm / norm : 1.0;
        double std = noiseMultiplier * clipNorm;
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : delta.entrySet()) {
            float[] t = e.getValue();
            float[] o = new float[t.length];
            for (int i = 0; i < t.length; i++) {
                o[i] = (float) (t[i] * scale + std * rnd.nextGaussian());
            }
            out.put(e.getKey(), o);
        }
        return out;
    }

    /** The declaration added to the update's metrics. */
    public void declare(Map<String, Double> metrics) {
        metrics.put(PrivacySpec.LOCAL_DP_CLIP_METRIC, clipNorm);
        metrics.put(PrivacySpec.LOCAL_DP_NOISE_METRIC, noiseMultiplier);
    }
}
