package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.weights.StoredTensor;
import java.util.Arrays;

/**
 * A frozen pretrained tensor: its shape and a way to create it in an {@link NDManager}. A {@link
 * FloatTensor} is held in Java memory; a {@link StoredTensor} stays in its safetensors file until
 * created, in the file's own precision, so a checkpoint is loaded one tensor at a time.
 */
public interface Weight {

    /** The dimensions. */
    int[] shape();

    /** The values as float32 in Java memory (reads the file for a stored tensor). */
    FloatTensor toFloatTensor();

    /**
     * The values as a libtorch-owned array in {@code manager}: float32, or float16 for a 16-bit
     * matrix still in its checkpoint file ({@link StoredTensor}); {@link NdArrays#float32} widens.
     */
    NDArray create(NDManager manager);

    default int rank() {
        return shape().length;
    }

    /** Dimension {@code i}; negative indices count from the end. */
    default int dim(int i) {
        int[] s = shape();
        return s[i < 0 ? s.length + i : i];
    }

    default Shape djlShape() {
        return new Shape(Arrays.stream(shape()).asLongStream().toArray());
    }

    default boolean hasShape(int... expected) {
        return Arrays.equals(shape(), expected);
    }

    /** Number of elements. */
    default long elements() {
        long n = 1;
        for (int d : shape()) {
            n *= d;
        }
        return n;
    }
}
