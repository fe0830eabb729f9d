package io.fedstream.schemas;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * The name, shape and initialisation of one adapter tensor of a federation.
 *
 * <p>{@code init} is one of {@code zeros}, {@code normal} (mean 0, standard deviation {@code
 * scale}) or {@code uniform} (in [-scale, scale]).
 */
public final class TensorSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final int[] shape;
    private final String init;
    private final double scale;

    @JsonCreator
    public TensorSpec(
            @JsonProperty("name") String name,
            @JsonProperty("shape") int[] shape,
            @JsonProperty("init") String init,
            @JsonProperty("scale") double scale) {
        if (name == null) {
            throw new IllegalArgumentException("a tensor has no \"name\"");
        }
        if (shape == null) {
            throw new IllegalArgumentException("tensor " + name + " has no \"shape\"");
        }
        this.name = name;
        this.shape = shape.clone();
        this.init = init == null ? "zeros" : init;
        this.scale = scale;
        if (shape.length == 0) {
            throw new IllegalArgumentException("tensor " + name + " has no dimensions");
        }
        for (int d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException(
                        "tensor "
                                + name
                                + " has a non-positive dimension: "
                                + Arrays.toString(shape));
            }
        }
        if (!this.init.equals("zeros")
                && !this.init.equals("normal")
                && !this.init.equals("uniform")) {
            throw new IllegalArgumentException(
                    "tensor " + name + ": init must be zeros, normal or uniform, not " + init);
        }
    }

    public static TensorSpec zeros(String name, int... shape) {
        return new TensorSpec(name, shape, "zeros", 0);
    }

    public static TensorSpec normal(String name, double std, int... shape) {
        return new TensorSpec(name, shape, "normal", std);
    }

    public static TensorSpec uniform(String name, double bound, int... shape) {
        return new TensorSpec(name, shape, "uniform", bound);
    }

    @JsonProperty
    public String name() {
        return name;
    }

    @JsonProperty
    public int[] shape() {
        return shape.clone();
    }

    @JsonProperty
    public String init() {
        return init;
    }

    @JsonProperty
    public double scale() {
        return scale;
    }

    /** Number of elements. */
    public int size() {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor " + name + " is too large: " + n + " elements");
        }
        return (int) n;
    }

    public boolean hasShape(java.util.List<Integer> other) {
        if (other.size() != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (other.get(i) != shape[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t
                && name.equals(t.name)
                && Arrays.equals(shape, t.shape)
                && init.equals(t.init)
                && Double.compare(scale, t.scale) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), init, scale);
    }

    @Override
    public String toString() {
        return name
                + Arrays.toString(shape)
                + "~"
                + init
                + (init.equals("zeros") ? "" : "(" + scale + ")");
    }
}
