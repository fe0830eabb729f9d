package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;

/**
 * RMSNorm (Zhang and Sennrich 2019) over the last axis with a pretrained, frozen scale, as Llama
 * computes it: {@code w * x / sqrt(mean(x^2) + eps)}.
 */
public final class FrozenRmsNorm extends FrozenNorm {
    private final float eps;

    public FrozenRmsNorm(String name, FloatTensor weight, double eps) {
        super(name, weight, "RMSNorm");
        this.eps = (float) eps;
    }

    @Override
    NDList normalize(ParameterStore parameterStore, NDArray x, NDArray w, boolean training) {
        NDArray rms =
                x.square()
                        .mean(new int[] {-1}, true)
                        .add(NdArrays.scalar(x.getManager(), eps))
                        .sqrt();
        return new NDList(x.div(rms).mul(w));
    }
}
