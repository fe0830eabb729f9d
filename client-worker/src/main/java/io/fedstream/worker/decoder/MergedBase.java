package io.fedstream.worker.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.LoraDense;
import io.fedstream.worker.djl.NdArrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Folds one LoRA adapter into the frozen base weights of a {@link LoraCausalLm}, so that the
 * model's own adapter slot can hold a second, independent adapter: after {@link #merge(Map)} every
 * adapted projection computes {@code x (W + s·B₁A₁)ᵀ + b + s·dropout(x) A₂ᵀB₂ᵀ}, i.e. base plus
 * both adapters, while only the second trains. The merged weights are copies the projections
 * compute with ({@link LoraDense#replaceWeight}); the pretrained weights are never written (nor
 * copied), so {@link #restore()} returns to them bit for bit. FedPIT uses this to train a site's
 * private adapter on top of the global one, and to run inference with both.
 */
public final class MergedBase implements AutoCloseable {
    private final LoraCausalLm lm;
    private final NDManager manager;
    // the float32 W + s·B·A each adapted projection computes with while merged
    private final Map<String, NDArray> merged = new LinkedHashMap<>();

    /** Ready to merge; the pretrained weights themselves are never written. */
    public MergedBase(LoraCausalLm lm) {
        this.lm = lm;
        this.manager = lm.model().getNDManager().newSubManager();
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
        restore();
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
                        NDArray base = dense.weight().getArray();
                        NDArray base32 = NdArrays.float32(base); // float16 base: widened
                        NDArray w = base32.add(bm.matMul(am).mul(scale));
                        NdArrays.closeCopy(base32, base);
                        w.attach(manager);
                        merged.put(key, w);
                        dense.replaceWeight(w);
                    });
        }
    }

    /** The pretrained weights again. */
    public void restore() {
        forEachAdapted((key, dense) -> dense.replaceWeight(null));
        merged.values().forEach(NDArray::close);
        merged.clear();
    }

    public boolean isMerged() {
        return !merged.isEmpty();
    }

    @Override
    public void close() {
        restore();
        manager.close();
    }
}
