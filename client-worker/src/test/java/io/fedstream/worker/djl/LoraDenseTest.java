package io.fedstream.worker.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.fedstream.worker.data.Sampling;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LoraDenseTest {
    private static final int IN = 6;
    private static final int OUT = 5;
    private static final int RANK = 2;
    private static final double SCALING = 1.5;
    private static final int BATCH = 4;

    private Model model;
    private NDManager manager;
    private LoraDense layer;
    private float[] w;
    private float[] b;

    @BeforeEach
    void setUp() {
        DjlRuntime.engine();
        SplittableRandom rnd = new SplittableRandom(1);
        w = randoms(OUT * IN, rnd);
        b = randoms(OUT, rnd);
        layer = newLayer(0.0);
        model = Model.newInstance("lora-linear-test", ai.djl.Device.cpu(), DjlRuntime.ENGINE);
        model.setBlock(layer);
        manager = model.getNDManager();
        layer.initialize(manager, DataType.FLOAT32, new Shape(BATCH, IN));
    }

    @AfterEach
    void tearDown() {
        model.close();
    }

    /**
     * A layer over the fixed weight {@code w} and bias {@code b}, with LoRA dropout {@code
     * dropout}.
     */
    private LoraDense newLayer(double dropout) {
        return new LoraDense(
                "l",
                new FloatTensor(new int[] {OUT, IN}, w),
                new FloatTensor(new int[] {OUT}, b),
                RANK,
                SCALING,
                dropout);
    }

    @Test
    void withBZeroTheOutputIsExactlyTheBase() {
        layer.loraA().getArray().set(randoms(RANK * IN, new SplittableRandom(2)));
        try (NDManager scope = manager.newSubManager()) {
            NDArray x =
                    scope.create(
                            randoms(BATCH * IN, new SplittableRandom(3)), new Shape(BATCH, IN));
            NDArray y =
                    layer.forward(new ParameterStore(scope, false), new NDList(x), false)
                            .singletonOrThrow();
            NDArray expected =
                    Linear.linear(x, layer.weight().getArray(), layer.bias().getArray())
                            .singletonOrThrow();
            assertThat(y.getShape()).isEqualTo(new Shape(BATCH, OUT));
            assertThat(y.toFloatArray()).containsExactly(expected.toFloatArray());
            // and that is x W^T + b with W stored [out, in]
            float[] reference = reference(x.toFloatArray(), null, null);
            assertThat(y.toFloatArray()).containsExactly(reference, within(1e-5f));
        }
    }

    @Test
    void theAdapterAddsScaledLowRankUpdate() {
        float[] a = randoms(RANK * IN, new SplittableRandom(4));
        float[] up = randoms(OUT * RANK, new SplittableRandom(5));
        layer.loraA().getArray().set(a);
        layer.loraB().getArray().set(up);
        try (NDManager scope = manager.newSubManager()) {
            float[] xs = randoms(BATCH * IN, new SplittableRandom(6));
            NDArray x = scope.create(xs, new Shape(BATCH, IN));
            float[] y =
                    layer.forward(new ParameterStore(scope, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();
            assertThat(y).containsExactly(reference(xs, a, up), within(1e-5f));
        }
    }

    @Test
    void gradientsReachOnlyTheAdapter() {
        layer.loraA().getArray().set(randoms(RANK * IN, new SplittableRandom(7)));
        layer.loraB().getArray().set(randoms(OUT * RANK, new SplittableRandom(8)));
        try (NDManager scope = manager.newSubManager()) {
            NDArray x =
                    scope.create(
                            randoms(BATCH * IN, new SplittableRandom(9)), new Shape(BATCH, IN));
            try (GradientCollector collector = DjlRuntime.engine().newGradientCollector()) {
                NDArray y =
                        layer.forward(new ParameterStore(scope, false), new NDList(x), true)
                                .singletonOrThrow();
                collector.backward(y.square().sum());
            }
            assertThat(layer.weight().requiresGradient()).isFalse();
            assertThat(layer.bias().requiresGradient()).isFalse();
            assertThat(layer.weight().getArray().hasGradient()).isFalse();
            assertThat(layer.bias().getArray().hasGradient()).isFalse();
            for (NDArray p : new NDArray[] {layer.loraA().getArray(), layer.loraB().getArray()}) {
                assertThat(p.hasGradient()).isTrue();
                try (NDArray g = p.getGradient()) {
                    assertThat(g.getShape()).isEqualTo(p.getShape());
                    assertThat(g.abs().sum().getFloat()).isGreaterThan(0f);
                }
            }
        }
    }

    @Test
    void gradientsAreExactEvenIfTheJavaHeapIsCollectedBetweenForwardAndBackward() {
        // Regression: with NDArray.mul(float) the scale lived in a Java buffer that DJL frees
        // right after the forward op while autograd still reads it in backward.
        float[] a = randoms(RANK * IN, new SplittableRandom(13));
        float[] up = randoms(OUT * RANK, new SplittableRandom(14));
        float[] xs = randoms(BATCH * IN, new SplittableRandom(15));
        layer.loraA().getArray().set(a);
        layer.loraB().getArray().set(up);
        double[][] expected = loraGradients(xs, a, up);
        for (int attempt = 0; attempt < 20; attempt++) {
            try (NDManager scope = manager.newSubManager()) {
                NDArray x = scope.create(xs, new Shape(BATCH, IN));
                try (GradientCollector collector = DjlRuntime.engine().newGradientCollector()) {
                    NDArray y =
                            layer.forward(new ParameterStore(scope, false), new NDList(x), true)
                                    .singletonOrThrow();
                    NDArray loss = y.square().sum();
                    churnNativeMemory();
                    collector.backward(loss);
                }
                try (NDArray gA = layer.loraA().getArray().getGradient();
                        NDArray gB = layer.loraB().getArray().getGradient()) {
                    assertThat(gA.toFloatArray())
                            .containsExactly(floats(expected[0]), within(1e-3f));
                    assertThat(gB.toFloatArray())
                            .containsExactly(floats(expected[1]), within(1e-3f));
                    gA.subi(gA); // gradients accumulate: clear for the next attempt
                    gB.subi(gB);
                }
            }
        }
    }

    @Test
    void dropoutActsOnlyInTraining() {
        LoraDense dropping = newLayer(0.5);
        try (NDManager scope = manager.newSubManager()) {
            dropping.initialize(scope, DataType.FLOAT32, new Shape(BATCH, IN));
            dropping.loraA().getArray().set(randoms(RANK * IN, new SplittableRandom(10)));
            dropping.loraB().getArray().set(randoms(OUT * RANK, new SplittableRandom(11)));
            NDArray x =
                    scope.create(
                            randoms(BATCH * IN, new SplittableRandom(12)), new Shape(BATCH, IN));
            ParameterStore store = new ParameterStore(scope, false);
            float[] eval1 =
                    dropping.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();
            float[] eval2 =
                    dropping.forward(store, new NDList(x), false).singletonOrThrow().toFloatArray();
            dropping.seedDropout(3);
            float[] train1 =
                    dropping.forward(store, new NDList(x), true).singletonOrThrow().toFloatArray();
            dropping.seedDropout(3);
            float[] train2 =
                    dropping.forward(store, new NDList(x), true).singletonOrThrow().toFloatArray();
            assertThat(eval1).containsExactly(eval2);
            assertThat(train1).isNotEqualTo(eval1);
            assertThat(train1).containsExactly(train2); // seeded masks
        }
    }

    // d/dA and d/dB of sum(y^2), in double
    private double[][] loraGradients(float[] x, float[] a, float[] up) {
        float[] y = reference(x, a, up);
        double[] gA = new double[RANK * IN];
        double[] gB = new double[OUT * RANK];
        for (int n = 0; n < BATCH; n++) {
            double[] low = new double[RANK];
            for (int r = 0; r < RANK; r++) {
                for (int i = 0; i < IN; i++) {
                    low[r] += (double) x[n * IN + i] * a[r * IN + i];
                }
            }
            double[] dLow = new double[RANK];
            for (int o = 0; o < OUT; o++) {
                double dy = 2.0 * y[n * OUT + o];
                for (int r = 0; r < RANK; r++) {
                    gB[o * RANK + r] += SCALING * dy * low[r];
                    dLow[r] += SCALING * dy * up[o * RANK + r];
                }
            }
            for (int r = 0; r < RANK; r++) {
                for (int i = 0; i < IN; i++) {
                    gA[r * IN + i] += dLow[r] * x[n * IN + i];
                }
            }
        }
        return new double[][] {gA, gB};
    }

    // frees unreachable direct buffers and reuses their memory
    private static void churnNativeMemory() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            java.util.List<java.nio.ByteBuffer> junk = new java.util.ArrayList<>();
            for (int j = 0; j < 2000; j++) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(4 + (j % 4) * 4);
                while (b.hasRemaining()) {
                    b.put((byte) 0x7f);
                }
                junk.add(b);
            }
        }
    }

    private static float[] floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    // x W^T + b + scaling * x A^T B^T in double
    private float[] reference(float[] x, float[] a, float[] up) {
        float[] y = new float[BATCH * OUT];
        for (int n = 0; n < BATCH; n++) {
            double[] low = new double[RANK];
            if (a != null) {
                for (int r = 0; r < RANK; r++) {
                    for (int i = 0; i < IN; i++) {
                        low[r] += (double) x[n * IN + i] * a[r * IN + i];
                    }
                }
            }
            for (int o = 0; o < OUT; o++) {
                double s = b[o];
                for (int i = 0; i < IN; i++) {
                    s += (double) x[n * IN + i] * w[o * IN + i];
                }
                if (up != null) {
                    for (int r = 0; r < RANK; r++) {
                        s += SCALING * up[o * RANK + r] * low[r];
                    }
                }
                y[n * OUT + o] = (float) s;
            }
        }
        return y;
    }

    private static float[] randoms(int n, SplittableRandom rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Sampling.gaussian(rnd);
        }
        return v;
    }
}
