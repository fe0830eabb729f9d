package io.fedstream.worker.mlp;

/**
 * Shape and adapter hyperparameters of the {@link LoraMlp}: {@code inputDim -> hiddenDim ->
 * hiddenDim -> numClasses} with ReLU, every layer adapted with rank {@code rank} and scaling {@code
 * alpha / rank}. {@code baseSeed} determines the frozen base weights: every site and the server
 * build the same base from the same seed.
 */
public record LoraMlpConfig(
        int inputDim,
        int hiddenDim,
        int numClasses,
        int rank,
        double alpha,
        double dropout,
        long baseSeed) {

    public static final int LAYERS = 3;

    public LoraMlpConfig {
        if (inputDim <= 0 || hiddenDim <= 0 || numClasses < 2) {
            throw new IllegalArgumentException(
                    "need positive dimensions and at least two classes: "
                            + inputDim
                            + "/"
                            + hiddenDim
                            + "/"
                            + numClasses);
        }
        if (rank <= 0) {
            throw new IllegalArgumentException("rank must be positive: " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha must be positive: " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1): " + dropout);
        }
    }

    /** 32 -> 64 -> 64 -> 8, rank 4, alpha 8, no dropout, base seed 42. */
    public static LoraMlpConfig defaults() {
        return new LoraMlpConfig(32, 64, 8, 4, 8.0, 0.0, 42L);
    }

    /** The LoRA scaling {@code alpha / rank}. */
    public double scaling() {
        return alpha / rank;
    }

    /** Input features of layer {@code layer} (0, 1 or 2). */
    public int layerIn(int layer) {
        checkLayer(layer);
        return layer == 0 ? inputDim : hiddenDim;
    }

    /** Output features of layer {@code layer} (0, 1 or 2). */
    public int layerOut(int layer) {
        checkLayer(layer);
        return layer == LAYERS - 1 ? numClasses : hiddenDim;
    }

    private static void checkLayer(int layer) {
        if (layer < 0 || layer >= LAYERS) {
            throw new IllegalArgumentException("no layer " + layer);
        }
    }
}
