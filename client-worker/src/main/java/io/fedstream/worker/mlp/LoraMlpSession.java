package io.fedstream.worker.mlp;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer.EvalResult;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.djl.DjlRuntime;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One DJL {@link Model} holding a {@link LoraMlp} for its whole life: loads and reads adapters by
 * name and evaluates on examples. Shared by {@link MlpSiteTrainer} and {@link LoraMlpEvaluator}.
 * Not thread-safe.
 */
public final class LoraMlpSession implements AutoCloseable {
    private static final int EVAL_CHUNK = 1024;

    private final LoraMlpConfig config;
    private final FederationSpec layout;
    private final LoraMlp block;
    private final Model model;
    private final ParameterStore inferenceStore;
    private final Map<String, Parameter> adapter;

    LoraMlpSession(LoraMlpConfig config, String name) {
        this.config = config;
        this.layout = LoraMlp.spec(config, "layout", 0);
        this.block = new LoraMlp(config);
        DjlRuntime.engine();
        this.model = Model.newInstance(name, Device.cpu(), DjlRuntime.ENGINE);
        try {
            model.setBlock(block);
            block.initialize(model.getNDManager());
            inferenceStore = new ParameterStore(model.getNDManager(), false);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        this.adapter = block.adapterParameters();
    }

    LoraMlpConfig config() {
        return config;
    }

    /** The adapter layout: tensor names and shapes (its id and seed are not used). */
    FederationSpec layout() {
        return layout;
    }

    LoraMlp block() {
        return block;
    }

    Model model() {
        return model;
    }

    NDManager manager() {
        return model.getNDManager();
    }

    /**
     * Copies {@code values} into the adapter parameters in place: same NDArrays, same
     * (libtorch-owned) storage, new values.
     */
    void loadAdapter(Map<String, float[]> values) {
        Adapters.requireLayout(values, layout);
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            for (Map.Entry<String, Parameter> e : adapter.entrySet()) {
                NDArray target = e.getValue().getArray();
                NDArray source =
                        OwnedArrays.create(scope, values.get(e.getKey()), target.getShape());
                target.set(new NDIndex(":"), source);
            }
        }
    }

    /** The current adapter values, in spec order. */
    Map<String, float[]> readAdapter() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : adapter.entrySet()) {
            out.put(e.getKey(), e.getValue().getArray().toFloatArray());
        }
        return out;
    }

    /**
     * Temporarily attaches the trainable arrays to {@code scope}: arrays DJL derives from them
     * during a round (the optimizer's moment estimates, gradients) then live in {@code scope} and
     * are freed when it closes, when the parameters themselves return to the model.
     */
    void scopeTrainable(NDManager scope) {
        for (Parameter p : adapter.values()) {
            p.getArray().tempAttach(scope);
        }
    }

    /** Logits for {@code rows[from..to)} of {@code data}, inference mode. */
    float[] logits(Examples data, int[] rows, int from, int to) {
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            NDArray x =
                    OwnedArrays.create(
                            scope,
                            data.gatherFeatures(rows, from, to),
                            new Shape(to - from, data.dim()));
            NDList out = block.forward(inferenceStore, new NDList(x), false);
            return out.singletonOrThrow().toFloatArray();
        }
    }

    /** Mean loss and accuracy of the current adapter on {@code data}. */
    EvalResult evaluate(Examples data) {
        if (data.dim() != config.inputDim()) {
            throw new IllegalArgumentException(
                    "examples have "
                            + data.dim()
                            + " features, the model takes "
                            + config.inputDim());
        }
        if (data.size() == 0) {
            return new EvalResult(Double.NaN, Double.NaN, 0);
        }
        int[] rows = Sampling.range(data.size());
        double loss = 0;
        long correct = 0;
        for (int from = 0; from < rows.length; from += EVAL_CHUNK) {
            int to = Math.min(rows.length, from + EVAL_CHUNK);
            float[] logits = logits(data, rows, from, to);
            int[] labels = data.gatherLabels(rows, from, to);
            loss += Classification.crossEntropySum(logits, labels, config.numClasses());
            correct += Classification.correct(logits, labels, config.numClasses());
        }
        return new EvalResult(loss / data.size(), (double) correct / data.size(), data.size());
    }

    @Override
    public void close() {
        model.close();
    }
}
