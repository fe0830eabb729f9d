package io.fedstream.worker.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Checks, after a backward pass, that only the adapter of an {@link AdaptedBlock} got gradients.
 */
public final class AdapterGradients {
    private AdapterGradients() {}

    /**
     * One forward pass of {@code model}'s block in training mode on {@code inputs} and a backward
     * pass of {@code loss} of its outputs (both in a scope closed after); the gradients stay on the
     * parameters.
     */
    public static void backward(
            AdapterModel<?> model,
            Function<NDManager, NDList> inputs,
            BiFunction<NDManager, NDList, NDArray> loss) {
        try (DjlRuntime.NoGrad noGrad = DjlRuntime.noGrad();
                NDManager scope = model.model().getNDManager().newSubManager();
                GradientCollector collector =
                        Engine.getEngine(DjlRuntime.ENGINE).newGradientCollector()) {
            NDList out =
                    model.block()
                            .forward(new ParameterStore(scope, false), inputs.apply(scope), true);
            collector.backward(loss.apply(scope, out));
        }
    }

    /**
     * Every base parameter is frozen and has no gradient, every adapter parameter has a non-zero
     * one, and the adapter parameters are exactly the block's trainable ones.
     */
    public static void assertOnlyAdapterTrained(Map<String, Parameter> base, AdaptedBlock block) {
        for (Map.Entry<String, Parameter> e : base.entrySet()) {
            assertThat(e.getValue().requiresGradient()).as(e.getKey()).isFalse();
            assertThat(e.getValue().getArray().hasGradient()).as(e.getKey()).isFalse();
        }
        for (Map.Entry<String, Parameter> e : block.adapterParameters().entrySet()) {
            NDArray value = e.getValue().getArray();
            assertThat(value.hasGradient()).as(e.getKey()).isTrue();
            try (NDArray g = value.getGradient()) {
                assertThat(g.abs().sum().getFloat()).as(e.getKey()).isPositive();
            }
        }
        List<Parameter> trainable = new ArrayList<>();
        block.getParameters()
                .values()
                .forEach(
                        p -> {
                            if (p.requiresGradient()) {
                                trainable.add(p);
                            }
                        });
        assertThat(trainable)
                .containsExactlyInAnyOrderElementsOf(block.adapterParameters().values());
    }
}
