package io.fedstream.worker.djl;

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
 * A pretrained linear layer, optionally with a LoRA adapter:
 *
 * <pre>y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T</pre>
 *
 * <p>{@code W [out, in]} and {@code b [out]} are frozen (no gradient, never updated). A float16
 * {@code W} (a 16-bit checkpoint's, see {@code StoredTensor}) is widened to float32 for each use
 * and the copy closed right after, so only one layer's weights exist in float32 at a time (in a
 * recorded graph, until its backward pass). With a rank above zero, {@code A [rank, in]} and {@code
 * B [out, rank]} are trainable; they start at zero and are written by name by the owner. Without a
 * rank the layer is just {@code x W^T + b}.
 *
 * <p>Dropout masks come from a Java {@link SplittableRandom} ({@link #seedDropout(long)}), so
 * training is reproducible and independent of PyTorch's global generator.
 */
public final class LoraDense extends AbstractBlock {
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
    // a pass's own mask stream (beginPass), so that a recomputation draws the same masks
    private SplittableRandom passRandom;
    private long passSeed;
    private NDArray replacement;

    /**
     * @param name the layer's weight name, for messages
     * @param weight frozen {@code [out, in]}
     * @param bias frozen {@code [out]}
     * @param rank LoRA rank, 0 for none
     * @param scaling {@code alpha / rank}
     * @param dropout LoRA input dropout in {@code [0, 1)}
     */
    public LoraDense(
            String name, Weight weight, Weight bias, int rank, double scaling, double dropout) {
        this(name, weight, bias, rank, scaling, dropout, false);
    }

    /**
     * @param name the layer's weight name, for messages
     * @param weight frozen {@code [out, in]}
     * @param bias frozen {@code [out]}
     * @param rank LoRA rank, 0 for none
     * @param scaling {@code alpha / rank}
     * @param dropout LoRA input dropout in {@code [0, 1)}
     * @param freezeA whether {@code A} is frozen too (FFA-LoRA): no gradient, never updated
     */
    public LoraDense(
            String name,
            Weight weight,
            Weight bias,
            int rank,
            double scaling,
            double dropout,
            boolean freezeA) {
        super(VERSION);
        if (weight.rank() != 2 || !bias.hasShape(weight.dim(0))) {
            throw new IllegalArgumentException(
                    name + ": weight " + weight + " and bias " + bias + " do not fit");
        }
        if (rank < 0 || !(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException(name + ": bad LoRA rank or dropout");
        }
        this.outFeatures = weight.dim(0);
        this.inFeatures = weight.dim(1);
        this.rank = rank;
        this.scaling = (float) scaling;
        this.dropout = (float) dropout;
        this.weight =
                addParameter(
                        NdArrays.frozen(WEIGHT, Parameter.Type.WEIGHT, name + ".weight", weight));
        this.bias = addParameter(NdArrays.frozen(BIAS, Parameter.Type.BIAS, name + ".bias", bias));
        if (rank > 0) {
            loraA =
                    addParameter(
                            Parameter.builder()
                                    .setName(LORA_A)
                                    .setType(Parameter.Type.WEIGHT)
                                    .optShape(new Shape(rank, inFeatures))
                                    .optInitializer(Initializer.ZEROS)
                                    .optRequiresGrad(!freezeA)
                                    .build());
            loraB =
                    addParameter(
                            Parameter.builder()
                                    .setName(LORA_B)
                                    .setType(Parameter.Type.WEIGHT)
                                    .optShape(new Shape(outFeatures, rank))
                                    .optInitializer(Initializer.ZEROS)
                                    .build());
        } else {
            loraA = null;
            loraB = null;
        }
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Device device = x.getDevice();
        NDArray w =
                replacement != null
                        ? replacement
                        : parameterStore.getValue(weight, device, training);
        NDArray b = parameterStore.getValue(bias, device, training);
        NDArray w32 = NdArrays.float32(w);
        NDArray y = Linear.linear(x, w32, b).singletonOrThrow();
        NdArrays.closeCopy(w32, w);
        if (rank == 0) {
            return new NDList(y);
        }
        NDArray a = parameterStore.getValue(loraA, device, training);
        NDArray up = parameterStore.getValue(loraB, device, training);
        NDArray xd = training && dropout > 0 ? x.mul(dropoutMask(x)) : x;
        NDArray low = Linear.linear(xd, a).singletonOrThrow();
        NDArray scale = NdArrays.scalar(x.getManager(), scaling); // not mul(float), see NdArrays
        NDArray adapted = Linear.linear(low, up).singletonOrThrow().mul(scale);
        return new NDList(y.add(adapted));
    }

    // Inverted dropout: keep with probability 1 - p and scale by 1 / (1 - p).
    private NDArray dropoutMask(NDArray x) {
        float keep = 1 - dropout;
        float[] mask = new float[Math.toIntExact(x.size())];
        SplittableRandom random = passRandom != null ? passRandom : dropoutRandom;
        for (int i = 0; i < mask.length; i++) {
            mask[i] = random.nextDouble() < keep ? 1 / keep : 0;
        }
        return NdArrays.create(x.getManager(), mask, x.getShape());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures)};
    }

    /**
     * Computes with {@code w} (float32 {@code [out, in]}, owned by the caller) instead of the
     * frozen weight until called with null; the parameter itself is never changed.
     */
    public void replaceWeight(NDArray w) {
        if (w != null && !w.getShape().equals(new Shape(outFeatures, inFeatures))) {
            throw new IllegalArgumentException(
                    "a replacement weight must be " + outFeatures + " x " + inFeatures);
        }
        replacement = w;
    }

    /** Restarts the dropout mask stream. */
    public void seedDropout(long seed) {
        dropoutRandom = new SplittableRandom(seed);
        passRandom = null;
    }

    /**
     * Starts a forward pass whose dropout masks can be drawn again ({@link #replayPass}): its
     * stream is seeded by the next value of the layer's own stream.
     */
    public void beginPass() {
        passSeed = dropoutRandom.nextLong();
        passRandom = new SplittableRandom(passSeed);
    }

    /** Draws the masks of the pass {@link #beginPass} started again, from its first. */
    public void replayPass() {
        passRandom = new SplittableRandom(passSeed);
    }

    /** Back to the layer's own stream. */
    public void endPass() {
        passRandom = null;
    }

    public boolean hasAdapter() {
        return rank > 0;
    }

    /** Frozen base weight {@code [out, in]}. */
    public Parameter weight() {
        return weight;
    }

    /** Frozen base bias {@code [out]}. */
    public Parameter bias() {
        return bias;
    }

    /** {@code A [rank, in]}, trainable unless frozen (FFA-LoRA); null without an adapter. */
    public Parameter loraA() {
        return loraA;
    }

    /** Trainable {@code B [out, rank]}; null without an adapter. */
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
        return "LoraDense(" + inFeatures + " -> " + outFeatures + ", rank " + rank + ")";
    }
}
