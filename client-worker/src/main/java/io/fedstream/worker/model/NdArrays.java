package io.fedstream.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.initializer.Initializer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;

/**
 * NDArrays from Java data whose storage belongs to libtorch. DJL's PyTorch engine creates CPU
 * arrays from Java arrays by pointing the tensor at a direct buffer owned by the Java wrapper; a
 * native reference (autograd graph, view) outliving the wrapper would then read freed memory.
 * Copying into libtorch-owned storage right away costs one copy and removes that class of bug.
 */
final class NdArrays {

    private NdArrays() {}

    static NDArray create(NDManager manager, float[] data, Shape shape) {
        try (NDArray view = manager.create(data, shape)) {
            return view.duplicate();
        }
    }

    static NDArray create(NDManager manager, long[] data, Shape shape) {
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
    static NDArray scalar(NDManager manager, float value) {
        return manager.full(new Shape(), value);
    }

    /**
     * An initializer that supplies {@code tensor} once and then forgets it, so the Java copy of a
     * frozen weight can be collected as soon as the parameter lives in libtorch.
     */
    static Initializer once(String name, Weight tensor) {
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
}
