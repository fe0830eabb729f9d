package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * RMSNorm (Zhang and Sennrich 2019) over the last axis with a pretrained, frozen scale, as Llama
 * computes it: {@code w * x / sqrt(mean(x^2) + eps)}.
 */
public final class FrozenRmsNorm extends AbstractBlock {
    private static final byte VERSION = 1;

    private final float eps;
    private final Parameter weight;

    public FrozenRmsNorm(String name, FloatTensor weight, double eps) {
        super(VERSION);
        if (weight.rank() != 1) {
            throw new IllegalArgumentException(name + ": RMSNorm weight must be a vector");
        }
        this.eps = (float) eps;
        this.weight =
                addParameter(
                        NdArrays.frozen("weight", Parameter.Type.GAMMA, name + ".weight", weight));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray w = parameterStore.getValue(weight, x.getDevice(), training);
        NDArray rms =
                x.square()
                        .mean(new int[] {-1}, true)
                        .add(NdArrays.scalar(x.getManager(), eps))
                        .sqrt();
        return new NDList(x.div(rms).mul(w));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    public Parameter weight() {
        return weight;
    }
}
