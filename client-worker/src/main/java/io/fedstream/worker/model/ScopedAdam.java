package io.fedstream.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.optimizer.Optimizer;
import java.util.HashMap;
import java.util.Map;

/**
 * Adam (Kingma and Ba 2015) whose moment estimates live in a manager the caller owns and closes
 * when training ends. Same fused update kernel and bias correction as DJL's {@code Adam}, which
 * instead detaches its state from every manager, so a fresh optimizer per local round would leak
 * two native arrays per trainable tensor per round.
 */
final class ScopedAdam extends Optimizer {
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPSILON = 1e-8f;

    private final float learningRate;
    private final NDManager stateManager;
    private final Map<String, NDArray[]> moments = new HashMap<>();

    ScopedAdam(float learningRate, NDManager stateManager) {
        super(new Builder());
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be positive: " + learningRate);
        }
        this.learningRate = learningRate;
        this.stateManager = stateManager;
    }

    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        int t = updateCount(parameterId);
        double bias1 = 1 - Math.pow(BETA1, t);
        double bias2 = 1 - Math.pow(BETA2, t);
        float corrected = (float) (learningRate * Math.sqrt(bias2) / bias1);
        NDArray[] state =
                moments.computeIfAbsent(
                        parameterId,
                        k ->
                                new NDArray[] {
                                    stateManager.zeros(weight.getShape(), weight.getDataType()),
                                    stateManager.zeros(weight.getShape(), weight.getDataType())
                                });
        weight.getNDArrayInternal()
                .adamUpdate(
                        new NDList(weight, grad, state[0], state[1]),
                        new NDList(weight),
                        learningRate,
                        corrected,
                        0f,
                        rescaleGrad,
                        clipGrad,
                        BETA1,
                        BETA2,
                        EPSILON,
                        true,
                        false);
    }

    private static final class Builder extends OptimizerBuilder<Builder> {
        @Override
        protected Builder self() {
            return this;
        }
    }
}
