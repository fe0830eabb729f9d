package io.fedstream.worker.mlp;

/**
 * Local training hyperparameters of a site: {@code localEpochs} passes over the local data per
 * round in mini-batches of {@code batchSize}, with Adam at {@code learningRate} (fresh optimizer
 * state every round). {@code seed} drives the batch order and dropout masks.
 */
public record TrainConfig(int localEpochs, int batchSize, double learningRate, long seed) {
    public TrainConfig {
        if (localEpochs <= 0 || batchSize <= 0) {
            throw new IllegalArgumentException("localEpochs and batchSize must be positive");
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be positive: " + learningRate);
        }
    }

    /** 2 epochs, batches of 32, Adam at 0.01. */
    public static TrainConfig defaults(long seed) {
        return new TrainConfig(2, 32, 0.01, seed);
    }
}
