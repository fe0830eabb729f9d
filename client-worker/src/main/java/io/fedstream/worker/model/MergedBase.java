package io.fedstream.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.model.DecoderLora.Module;
import io.fedstream.worker.train.DjlRuntime;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Folds one LoRA adapter into the frozen base weights of a {@link LoraCausalLm}, so that the
 * model's own adapter slot can hold a second, independent adapter: after {@link #merge(Map)} every
 * adapted projection computes {@code x (W + s·B₁A₁)ᵀ + b + s·dropout(x) A₂ᵀB₂ᵀ}, i.e. base plus
 * both adapters, while only the second trains. {@link #restore()} puts the pretrained weights back
 * bit for bit (they are kept as copies). FedPIT uses this to train a site's private adapter on top
 * of the global one, and to run inference with both.
 */
public final class MergedBase implements AutoCloseable {
    private final LoraCausalLm lm;
    private final NDManager manager;
    private final Map<String, NDArray> original = new LinkedHashMap<>();
    private boolean merged;

    /** Keeps a copy of every adapted projection's pretrained weight. */
    public MergedBase(LoraCausalLm lm) {
        this.lm = lm;
        this.manager = lm.model().getNDManager().newSubManager();
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad()) {
            forEachAdapted(
                    (key, dense) -> original.put(key, dense.weight().getArray().duplicate()));
            for (NDArray a : original.values()) {
                a.attach(manager);
            }
        }
    }

    private interface Visitor {
        void visit(String key, LoraDense dense);
    }

    private void forEachAdapted(Visitor v) {
        CausalLm block = lm.block();
        for (int i = 0; i < block.config().numLayers(); i++) {
            for (Module m : block.lora().targets()) {
                v.visit(CausalLm.adapterName(i, m, ""), block.dense(i, m));
            }
        }
    }

    /**
     * Sets every adapted weight to {@code W + s·B·A} with {@code A, B} from {@code adapter} (the
     * model's tensor names; {@code s} the model's LoRA scaling). Replaces an earlier merge.
     */
    public void merge(Map<String, float[]> adapter) {
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = manager.newSubManager()) {
            forEachAdapted(
                    (key, dense) -> {
                        float[] a = adapter.get(key + LoraDense.LORA_A);
                        float[] b = adapter.get(key + LoraDense.LORA_B);
                        if (a == null || b == null) {
                            throw new IllegalArgumentException("adapter lacks " + key + "*");
                        }
                        int r = dense.rank();
                        NDArray am = NdArrays.create(scope, a, new Shape(r, dense.inFeatures()));
                        NDArray bm = NdArrays.create(scope, b, new Shape(dense.outFeatures(), r));
                        NDArray scale = NdArrays.scalar(scope, dense.scaling());
                        NDArray w = original.get(key).add(bm.matMul(am).mul(scale));
                        dense.weight().getArray().set(new NDIndex(":"), w);
                    });
        }
        merged = true;
    }

    /** The pretrained weights again. */
    public void restore() {
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad()) {
            forEachAdapted(
                    (key, dense) ->
                            dense.weight().getArray().set(new NDIndex(":"), original.get(key)));
        }
        merged = false;
    }

    public boolean isMerged() {
        return merged;
    }

    @Override
    public void close() {
        if (merged) {
            restore();
        }
        manager.close();
    }
}
