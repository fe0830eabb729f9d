package io.fedstream.worker.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.LocalParameterServer;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One DJL {@link Model} holding an {@link AdaptedBlock} for its whole life: the adapter bookkeeping
 * the encoder ({@code LoraBert}) and the decoder ({@code LoraCausalLm}) share: exchange of the
 * adapter tensors by name, their layout as the federation's contract, and one training at a time
 * that updates only the adapter with Adam.
 *
 * <p>The adapter starts at version 0 of {@code adapterSpec(any id, seed)}, the same values the
 * federation creates from that seed. Not thread-safe; close it to free the native memory.
 *
 * @param <B> the adapted block
 */
public abstract class AdapterModel<B extends AdaptedBlock> implements AutoCloseable {
    // DJL's PtGradientCollector refuses a second collector anywhere in the JVM.

    protected final B block;
    protected final Model model;

    /** Parameters for inference-mode forward passes. */
    protected final ParameterStore inferenceStore;

    private final Map<String, Parameter> adapter;
    private final List<TensorSpec> layout;
    private AdapterTraining training;

    /**
     * Initialises {@code block} (it takes its pretrained weights now) in a new model named {@code
     * name}, for inputs of {@code inputShapes}, and loads the adapter's version 0 for {@code seed}.
     */
    protected AdapterModel(String name, B block, long seed, Shape... inputShapes) {
        this.block = block;
        DjlRuntime.engine();
        this.model = Model.newInstance(name, Device.cpu(), DjlRuntime.ENGINE);
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad()) {
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, inputShapes);
            inferenceStore = new ParameterStore(model.getNDManager(), false);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        this.adapter = Collections.unmodifiableMap(block.adapterParameters());
        this.layout = block.adapterTensors();
        if (!layout.isEmpty()) {
            setAdapter(new FederationSpec("init", seed, layout).initialValues());
        }
    }

    public B block() {
        return block;
    }

    public Model model() {
        return model;
    }

    /**
     * The federation contract: exactly the adapter tensors.
     *
     * @throws IllegalArgumentException if the block has no adapter tensors
     */
    public FederationSpec adapterSpec(String federationId, long seed) {
        return new FederationSpec(federationId, seed, layout);
    }

    /** The exchanged tensor names, in spec order. */
    public List<String> adapterNames() {
        return new ArrayList<>(adapter.keySet());
    }

    /** Number of trainable (exchanged) values. */
    public long adapterSize() {
        long n = 0;
        for (TensorSpec t : layout) {
            n += t.size();
        }
        return n;
    }

    /** The current adapter values, in spec order. */
    public Map<String, float[]> getAdapter() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : adapter.keySet()) {
            out.put(name, getAdapterTensor(name));
        }
        return out;
    }

    /** One adapter tensor, row-major. */
    public float[] getAdapterTensor(String name) {
        return parameter(name).getArray().toFloatArray();
    }

    /** Writes every adapter tensor; {@code values} must hold exactly the spec's tensors. */
    public void setAdapter(Map<String, float[]> values) {
        if (!values.keySet().equals(adapter.keySet())) {
            throw new IllegalArgumentException(
                    "adapter tensors " + values.keySet() + " do not match " + adapter.keySet());
        }
        for (TensorSpec t : layout) {
            float[] v = values.get(t.name());
            if (v == null || v.length != t.size()) {
                throw new IllegalArgumentException(
                        "tensor " + t.name() + " needs " + t.size() + " values");
            }
        }
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            setAdapterTensor(e.getKey(), e.getValue());
        }
    }

    /**
     * Copies {@code values} into one adapter tensor in place (same array and storage, new values).
     */
    public void setAdapterTensor(String name, float[] values) {
        Parameter p = parameter(name);
        NDArray target = p.getArray();
        if (values.length != target.size()) {
            throw new IllegalArgumentException(
                    name + " has " + target.size() + " values, got " + values.length);
        }
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            NDArray source = NdArrays.create(scope, values, target.getShape());
            target.set(new NDIndex(":"), source);
        }
    }

    private Parameter parameter(String name) {
        Parameter p = adapter.get(name);
        if (p == null) {
            throw new IllegalArgumentException(
                    "no adapter tensor " + name + "; have " + adapter.keySet());
        }
        return p;
    }

    @Override
    public void close() {
        if (training != null) {
            training.close();
        }
        model.close();
    }

    /**
     * Mini-batch training of the adapter with Adam (fresh moments) at a fixed learning rate,
     * dropout masks restarted from a seed. One training at a time per model; close it before the
     * next. Subclasses add the model's loss steps on top of {@link #step}.
     */
    public abstract class AdapterTraining implements AutoCloseable {
        private final NDManager scope;

        /** The DJL trainer; batch arrays belong in sub-managers of its manager. */
        protected final Trainer trainer;

        /**
         * The parameter store of {@link #stepWith}: parameters read through it during the step are
         * updated by the trainer's optimizer.
         */
        protected final ParameterStore store;

        private long steps;
        private boolean closed;

        protected AdapterTraining(float learningRate, long seed) {
            if (training != null) {
                throw new IllegalStateException("a training is already open");
            }
            if (adapter.isEmpty()) {
                throw new IllegalStateException("nothing to train: no adapter tensors");
            }
            block.seedDropout(seed);
            // the optimizer's moments and any array derived from the trainable ones during
            // training (gradient handles) live in this scope and are freed with it
            scope = model.getNDManager().newSubManager();
            for (Parameter p : adapter.values()) {
                p.getArray().tempAttach(scope);
            }
            RoundAdam optimizer = new RoundAdam(learningRate, scope);
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(optimizer)
                            .optDevices(new Device[] {Device.cpu()});
            trainer = model.newTrainer(config);
            store = new ParameterStore(model.getNDManager(), false);
            store.setParameterServer(
                    new LocalParameterServer(optimizer), new Device[] {Device.cpu()});
            training = this;
        }

        /** Throws once the training is closed. */
        protected final void checkOpen() {
            if (closed) {
                throw new IllegalStateException("training is closed");
            }
        }

        /**
         * One optimizer step of the adapter on {@code loss} (forward and loss on the trainer; see
         * {@link DjlRuntime#step}), counted.
         *
         * @return the loss before the update
         */
        protected final float step(Function<Trainer, NDArray> loss) {
            checkOpen();
            float value = DjlRuntime.step(trainer, adapter.values(), loss);
            steps++;
            return value;
        }

        /** Steps taken so far. */
        /**
         * One optimizer step whose {@code gradients} run the forward and backward passes
         * themselves, reading the parameters through {@link #store}.
         */
        protected final float stepWith(DjlRuntime.Gradients gradients) {
            checkOpen();
            float value =
                    DjlRuntime.step(
                            adapter.values(),
                            trainer::newGradientCollector,
                            gradients,
                            store::updateAllParameters);
            steps++;
            return value;
        }

        public long steps() {
            return steps;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                trainer.close();
            } finally {
                scope.close();
                training = null;
            }
        }
    }
}
