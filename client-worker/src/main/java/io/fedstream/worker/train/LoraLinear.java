package io.fedstream.worker.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import java.util.SplittableRandom;

/**
 * A linear layer with a frozen base and a trainable low-rank adapter (LoRA, Hu et al. 2021):
 *
 * <pre>y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T</pre>
 *
 * <p>with {@code W [out, in]} and {@code b [out]} frozen (no gradient, never updated) and {@code A
 * [rank, in]}, {@code B [out, rank]} trainable. The base values are given at construction; {@code
 * A} and {@code B} start at zero and are written by name through {@link #loraA()} and {@link
 * #loraB()}.
 *
 * <p>Every intermediate array is created from the input, so it lives in the caller's (per-batch)
 * manager. Dropout masks come from a Java {@link SplittableRandom} ({@link #seedDropout(long)}), so
 * training is reproducible and independent of PyTorch's global generator.
 */
public final class LoraLinear extends AbstractBlock {
    public static final String WEIGHT = "weight";
    public static final String BIAS = "bias";
    public static final String LORA_A = "lora_A";
    public static final String LORA_B = "lora_B";

    private static final byte VERSION = 1;

    private final int inFeatures;
    private final int outFeatures;
    private final int rank;
    private final float scaling;
    private final float dropout;
    private final Parameter weight;
    private final Parameter bias;
    private final Parameter loraA;
    private final Parameter loraB;
    private SplittableRandom dropoutRandom = new SplittableRandom(0);

    /**
     * @param baseWeight row-major {@code [out, in]} frozen weight
     * @param baseBias {@code [out]} frozen bias
     * @param scaling the LoRA scaling {@code alpha / rank}
     * @param dropout LoRA input dropout probability in {@code [0, 1)}, active only in training
     */
    public LoraLinear(
            int inFeatures,
            int outFeatures,
            int rank,
            double scaling,
            double dropout,
            float[] baseWeight,
            float[] baseBias) {
        super(VERSION);
        if (inFeatures <= 0 || outFeatures <= 0 || rank <= 0) {
            throw new IllegalArgumentException("dimensions must be positive");
        }
        if (baseWeight.length != inFeatures * outFeatures || baseBias.length != outFeatures) {
            throw new IllegalArgumentException("base weight or bias has the wrong size");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1): " + dropout);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.rank = rank;
        this.scaling = (float) scaling;
        this.dropout = (float) dropout;
        float[] w = baseWeight.clone();
        float[] b = baseBias.clone();
        weight =
                addParameter(
                        Parameter.builder()
                                .setName(WEIGHT)
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(outFeatures, inFeatures))
                                .optInitializer((m, shape, type) -> OwnedArrays.create(m, w, shape))
                                .optRequiresGrad(false)
                                .build());
        bias =
                addParameter(
                        Parameter.builder()
                                .setName(BIAS)
                                .setType(Parameter.Type.BIAS)
                                .optShape(new Shape(outFeatures))
                                .optInitializer((m, shape, type) -> OwnedArrays.create(m, b, shape))
                                .optRequiresGrad(false)
                                .build());
        loraA =
                addParameter(
                        Parameter.builder()
                                .setName(LORA_A)
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(rank, inFeatures))
                                .optInitializer(Initializer.ZEROS)
                                .build());
        loraB =
                addParameter(
                        Parameter.builder()
                                .setName(LORA_B)
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(outFeatures, rank))
                                .optInitializer(Initializer.ZEROS)
                                .build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Device device = x.getDevice();
        NDArray w = parameterStore.getValue(weight, device, training);
        NDArray b = parameterStore.getValue(bias, device, training);
        NDArray a = parameterStore.getValue(loraA, device, training);
        NDArray up = parameterStore.getValue(loraB, device, training);
        NDArray base = Linear.linear(x, w, b).singletonOrThrow();
        NDArray xd = training && dropout > 0 ? x.mul(dropoutMask(x)) : x;
        NDArray low = Linear.linear(xd, a).singletonOrThrow();
        // Not mul(float): DJL backs that scalar with a Java buffer it frees right after the op,
        // while autograd keeps reading it in backward. A libtorch-owned scalar living as long as
        // the input's manager (the batch) is safe.
        NDArray scale = x.getManager().full(new Shape(), scaling);
        NDArray adapted = Linear.linear(low, up).singletonOrThrow().mul(scale);
        return new NDList(base.add(adapted));
    }

    // Inverted dropout: keep with probability 1 - p and scale by 1 / (1 - p).
    private NDArray dropoutMask(NDArray x) {
        float keep = 1 - dropout;
        float[] mask = new float[Math.toIntExact(x.size())];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = dropoutRandom.nextDouble() < keep ? 1 / keep : 0;
        }
        return OwnedArrays.create(x.getManager(), mask, x.getShape());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures)};
    }

    /** Restarts the dropout mask stream. */
    public void seedDropout(long seed) {
        dropoutRandom = new SplittableRandom(seed);
    }

    /** Frozen base weight {@code [out, in]}. */
    public Parameter weight() {
        return weight;
    }

    /** Frozen base bias {@code [out]}. */
    public Parameter bias() {
        return bias;
    }

    /** Trainable down-projection {@code A [rank, in]}. */
    public Parameter loraA() {
        return loraA;
    }

    /** Trainable up-projection {@code B [out, rank]}. */
    public Parameter loraB() {
        return loraB;
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    public int rank() {
        return rank;
    }

    public float scaling() {
        return scaling;
    }

    @Override
    public String toString() {
        return "LoraLinear("
                + inFeatures
                + " -> "
                + outFeatures
                + ", rank "
                + rank
                + ", scaling "
                + scaling
                + ")";
    }
}
