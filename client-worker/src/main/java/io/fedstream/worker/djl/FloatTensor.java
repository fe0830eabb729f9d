package io.fedstream.worker.djl;

import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense row-major float tensor held in Java memory: the unit in which weights are read from ONNX
 * graphs and safetensors files before they become DJL parameters.
 *
 * <p>The arrays are not copied: callers must not modify them after handing them over.
 */
public record FloatTensor(int[] shape, float[] data) implements Weight {

    public FloatTensor {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension: " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "shape "
                            + Arrays.toString(shape)
                            + " needs "
                            + n
                            + " values, got "
                            + data.length);
        }
        shape = shape.clone();
    }

    @Override
    public FloatTensor toFloatTensor() {
        return this;
    }

    @Override
    public ai.djl.ndarray.NDArray create(ai.djl.ndarray.NDManager manager) {
        return NdArrays.create(manager, data, djlShape());
    }

    /** Number of elements. */
    public int size() {
        return data.length;
    }

    @Override
    public int rank() {
        return shape.length;
    }

    /** Dimension {@code i}; negative indices count from the end. */
    @Override
    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** The shape as a DJL {@link Shape}. */
    @Override
    public Shape djlShape() {
        return new Shape(Arrays.stream(shape).asLongStream().toArray());
    }

    @Override
    public boolean hasShape(int... expected) {
        return Arrays.equals(shape, expected);
    }

    /** The transpose of a matrix: {@code [r, c] -> [c, r]}. */
    public FloatTensor transpose() {
        if (shape.length != 2) {
            throw new IllegalStateException("transpose needs a matrix, not " + this);
        }
        int rows = shape[0];
        int cols = shape[1];
        float[] t = new float[data.length];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = data[base + c];
            }
        }
        return new FloatTensor(new int[] {cols, rows}, t);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatTensor t
                && Arrays.equals(shape, t.shape)
                && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FloatTensor" + Arrays.toString(shape);
    }
}
