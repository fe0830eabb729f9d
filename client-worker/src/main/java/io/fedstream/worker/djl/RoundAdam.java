package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.optimizer.Optimizer;
import java.util.HashMap;
import java.util.Map;

/**
 * Adam (Kingma and Ba, 2015) for one local round (or any training scope), with its moment estimates
 * in a manager the caller owns and closes at the end of the round. It uses the same fused update
 * kernel and bias correction as DJL's {@code Adam}.
 *
 * <p>Why not DJL's {@code Adam}: it detaches its state arrays from every manager, so nothing ever
 * closes them; a fresh optimizer per round (standard local training in federated averaging) would
 * leak two native arrays per trainable tensor per round in a worker that runs indefinitely.
 */
public final class RoundAdam extends Optimizer {
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPSILON = 1e-8f;

    private final float learningRate;
    private final NDManager stateManager;
    private final Map<String, NDArray[]> moments = new HashMap<>();

    public RoundAdam(float learningRate, NDManager stateManager) {
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
        double coef1 = 1.0 - Math.pow(BETA1, t);
        double coef2 = 1.0 - Math.pow(BETA2, t);
        float corrected = (float) (learningRate * Math.sqrt(coef2) / coef1);
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
