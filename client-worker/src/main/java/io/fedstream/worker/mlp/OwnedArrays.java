package io.fedstream.worker.mlp;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Creates NDArrays from Java data whose storage belongs to libtorch.
 *
 * <p>DJL 0.35's PyTorch engine creates CPU arrays from Java data (and {@code NDArray.set}) by
 * pointing the tensor at a Java direct buffer that only the Java wrapper keeps alive. A native
 * reference to that storage that outlives the wrapper, such as a tensor autograd saved for
 * backward, then reads freed memory once the garbage collector runs: DJL's own {@code
 * NDArray.mul(Number)} does exactly that (see {@link io.fedstream.worker.djl.LoraDense}). Copying
 * into libtorch-owned storage right away rules this out at the cost of one small copy.
 */
public final class OwnedArrays {

    private OwnedArrays() {}

    /** A {@code shape} float array in {@code manager} holding a copy of {@code data}. */
    static NDArray create(NDManager manager, float[] data, Shape shape) {
        try (NDArray view = manager.create(data, shape)) {
            return view.duplicate();
        }
    }
}
