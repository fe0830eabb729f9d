package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;

/**
 * NDArrays from Java data whose storage belongs to libtorch. DJL's PyTorch engine creates CPU
 * arrays from Java arrays by pointing the tensor at a direct buffer owned by the Java wrapper; a
 * native reference (autograd graph, view) outliving the wrapper would then read freed memory.
 * Copying into libtorch-owned storage right away costs one copy and removes that class of bug.
 */
public final class NdArrays {

    /** The additive bias of a masked attention score: the lowest float. */
    public static final float MASKED = -Float.MAX_VALUE;

    private NdArrays() {}

    /**
     * {@code (1 - mask) * -FLT_MAX}: 0 where attended, the lowest float where masked (the additive
     * attention bias of the encoder and the decoder).
     */
    public static NDArray maskBias(NDArray mask) {
        NDManager m = mask.getManager();
        return mask.toType(DataType.FLOAT32, false).neg().add(scalar(m, 1f)).mul(scalar(m, MASKED));
    }

    /**
     * {@code array} if it is float32, else a float32 copy that the caller closes after use ({@link
     * #closeCopy}): frozen 16-bit weights are widened one use at a time, never all at once.
     */
    public static NDArray float32(NDArray array) {
        return array.getDataType() == DataType.FLOAT32
                ? array
                : array.toType(DataType.FLOAT32, false);
    }

    /**
     * Closes {@code widened} if {@link #float32} made it from {@code original}. Safe under
     * autograd: a graph that saved the copy keeps its own reference to the storage.
     */
    public static void closeCopy(NDArray widened, NDArray original) {
        if (widened != original) {
            widened.close();
        }
    }

    public static NDArray create(NDManager manager, float[] data, Shape shape) {
        try (NDArray view = manager.create(data, shape)) {
            return view.duplicate();
        }
    }

    public static NDArray create(NDManager manager, long[] data, Shape shape) {
        try (NDArray view = manager.create(data, shape)) {
            return view.duplicate();
        }
    }

    /**
     * A 0-d float tensor in {@code manager}, owned by libtorch. Use it instead of DJL's scalar
     * overloads ({@code mul(float)}, {@code div(float)}, ...) on any path autograd records: those
     * back the scalar with a Java buffer freed right after the op, while the autograd graph keeps
     * the scalar for the backward pass, which then reads freed memory (random NaN gradients).
     */
    public static NDArray scalar(NDManager manager, float value) {
        return manager.full(new Shape(), value);
    }

    /**
     * An initializer that supplies {@code tensor} once and then forgets it, so the Java copy of a
     * frozen weight can be collected as soon as the parameter lives in libtorch.
     */
    public static Initializer once(String name, Weight tensor) {
        AtomicReference<Weight> pending = new AtomicReference<>(tensor);
        return (manager, shape, dataType) -> {
            Weight t = pending.getAndSet(null);
            if (t == null) {
                throw new IllegalStateException(
                        "the values of " + name + " were already used: initialize a block once");
            }
            if (!shape.equals(t.djlShape())) {
                throw new IllegalArgumentException(
                        name + " has shape " + Arrays.toString(t.shape()) + ", expected " + shape);
            }
            return t.create(manager);
        };
    }

    /**
     * A parameter that does not train, holding {@code value} ({@link #once}).
     *
     * @param name the parameter's name in its block
     * @param type its type
     * @param source the tensor's name, for errors
     * @param value its values
     */
    public static Parameter frozen(String name, Parameter.Type type, String source, Weight value) {
        return Parameter.builder()
                .setName(name)
                .setType(type)
                .optShape(value.djlShape())
                .optInitializer(once(source, value))
                .optRequiresGrad(false)
                .build();
    }
}
