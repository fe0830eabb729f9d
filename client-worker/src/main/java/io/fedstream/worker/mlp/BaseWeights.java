package io.fedstream.worker.mlp;

import io.fedstream.worker.data.Sampling;
import java.util.SplittableRandom;

/**
 * The frozen base weights of a {@link LoraMlp}, generated in plain Java from the base seed so that
 * every site and the server hold bit-identical bases. Hidden layers use He initialisation ({@code
 * N(0, 2 / in)}), the output layer {@code N(0, 1 / in)}; biases are uniform in {@code [-0.1, 0.1]}.
 * Each layer and tensor draws from its own stream.
 */
public final class BaseWeights {
    private static final double BIAS_BOUND = 0.1;

    private BaseWeights() {}

    /** Row-major {@code [out, in]} weight of layer {@code layer}. */
    public static float[] weight(LoraMlpConfig config, int layer) {
        int in = config.layerIn(layer);
        int out = config.layerOut(layer);
        double gain = layer == LoraMlpConfig.LAYERS - 1 ? 1.0 : 2.0;
        double std = Math.sqrt(gain / in);
        SplittableRandom rnd =
                new SplittableRandom(Sampling.streamSeed(config.baseSeed(), layer, 0));
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (std * Sampling.gaussian(rnd));
        }
        return w;
    }

    /** The {@code [out]} bias of layer {@code layer}. */
    public static float[] bias(LoraMlpConfig config, int layer) {
        int out = config.layerOut(layer);
        SplittableRandom rnd =
                new SplittableRandom(Sampling.streamSeed(config.baseSeed(), layer, 1));
        float[] b = new float[out];
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) ((rnd.nextDouble() * 2 - 1) * BIAS_BOUND);
        }
        return b;
    }
}
