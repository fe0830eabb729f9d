package io.fedstream.worker.decoder;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.decoder.DecoderConfig.Family;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.AdaptedBlock;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.LoraDense;
import io.fedstream.worker.djl.NdArrays;
import io.fedstream.worker.djl.Weight;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A pretrained causal language model (GPT-2 or Llama architecture: Llama 2/3.x, SmolLM2, Qwen2/2.5,
 * Mistral; {@link DecoderConfig}) as a DJL block, written out op by op, with LoRA adapters on the
 * projections {@link DecoderLora} targets. It computes Hugging Face's {@code GPT2LMHeadModel} /
 * {@code LlamaForCausalLM} logits: token (and for GPT-2 position) embeddings, the {@link
 * DecoderLayer}s under a causal mask, the final norm and the LM head (the token embedding matrix
 * when tied). Mistral's sliding window is part of the causal mask, also for cached generation.
 *
 * <p>Inputs: {@code inputIds [B, T]} (int64), optionally {@code attentionMask [B, T]} (1 = token, 0
 * = padding; padding must come after a row's tokens). Output: logits {@code [B, T, V]}. With two
 * more inputs, {@code positions [N]} (flat indices {@code b * T + t}) and {@code targets [N]}, the
 * output is instead the log-probabilities {@code log p(targets[n] | tokens up to positions[n])}
 * {@code [N]} and the most likely next tokens at those positions {@code [N]} (int64): the LM head
 * and softmax then run only on those N positions, which is what training on answer tokens needs
 * (the full {@code [B, T, V]} logits of a 50k vocabulary would dominate).
 *
 * <p>All pretrained weights are frozen; the adapter tensors ({@code layer3.q_proj.lora_A}, ...) are
 * the only trainable parameters. The block takes its weights when first initialised (once).
 */
public final class CausalLm extends AbstractBlock implements AdaptedBlock {
    private static final byte VERSION = 1;
    // vocabulary rows of a float16 LM head widened at a time (16 MB at H = 2048)
    private static final long HEAD_ROWS = 2048;

    private final DecoderConfig config;
    private final DecoderLora lora;
    private final Parameter tokenEmbeddings;
    private final Parameter positionEmbeddings;
    private final List<DecoderLayer> layers;
    private final Block finalNorm;
    private final Parameter lmHead;
    private final float[] rotation;
    private final double[] inverseFrequencies;

    public CausalLm(DecoderConfig config, DecoderWeights weights, DecoderLora lora) {
        super(VERSION);
        weights.validate(config);
        lora.checkFamily(config.family());
        this.config = config;
        this.lora = lora;
        tokenEmbeddings =
                frozen("token_embeddings", "token embeddings", weights.tokenEmbeddings(config));
        positionEmbeddings =
                config.family() == Family.GPT2
                        ? frozen("position_embeddings", "wpe.weight", weights.get("wpe.weight"))
                        : null;
        List<DecoderLayer> ls = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            ls.add(addChildBlock("layer" + i, new DecoderLayer(i, config, weights, lora)));
        }
        layers = Collections.unmodifiableList(ls);
        finalNorm = addChildBlock("final_norm", DecoderLayer.norm(0, 0, config, weights));
        lmHead =
                config.tieWordEmbeddings()
                        ? null
                        : frozen("lm_head", DecoderWeights.LM_HEAD, weights.lmHead());
        int d = config.headDim();
        int half = d / 2;
        rotation = new float[d * d];
        for (int j = 0; j < half; j++) {
            // (x R)[j] = -x[j + half], (x R)[j + half] = x[j]: rotate_half
            rotation[(j + half) * d + j] = -1;
            rotation[j * d + j + half] = 1;
        }
        inverseFrequencies = config.ropeScaling().inverseFrequencies(d, config.ropeTheta());
    }

    /** A model from a local Hugging Face checkpoint. */
    public static CausalLm fromCheckpoint(DecoderCheckpoint checkpoint, DecoderLora lora) {
        return new CausalLm(checkpoint.config(), checkpoint.weights(), lora);
    }

    private Parameter frozen(String name, String hfName, Weight t) {
        return addParameter(NdArrays.frozen(name, Parameter.Type.WEIGHT, hfName, t));
    }

    public DecoderConfig config() {
        return config;
    }

    public DecoderLora lora() {
        return lora;
    }

    /** Cached keys and values of every layer, for incremental decoding. */
    public static final class KvCache {
        private final DecoderLayer.KvEntry[] entries;
        private int length;

        KvCache(int layers) {
            entries = new DecoderLayer.KvEntry[layers];
            for (int i = 0; i < layers; i++) {
                entries[i] = new DecoderLayer.KvEntry();
            }
        }

        /** Number of positions cached. */
        public int length() {
            return length;
        }

        /** Moves the cached arrays into {@code manager} (so the caller can free step scopes). */
        void attach(NDManager manager) {
            for (DecoderLayer.KvEntry e : entries) {
                e.keys.attach(manager);
                e.values.attach(manager);
            }
        }
    }

    /** An empty cache for this model. */
    public KvCache newCache() {
        return new KvCache(layers.size());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        NDArray hidden = hidden(ps, ids, mask, null, training, params);
        if (inputs.size() > 3) {
            return targetLogProbs(ps, hidden, inputs.get(2), inputs.get(3), training);
        }
        return new NDList(head(ps, hidden, training));
    }

    /**
     * The next-token logits of {@code ids} {@code [B, T]} continuing the positions in {@code
     * cache}, which is extended by them (no padding); {@code [B, T, V]}.
     */
    public NDArray forwardCached(ParameterStore ps, NDArray ids, KvCache cache) {
        NDArray hidden = hidden(ps, ids, null, cache, false, null);
        cache.length += Math.toIntExact(ids.getShape().get(1));
        return head(ps, hidden, false);
    }

    // the final normed hidden states [B, T, H]
    private NDArray hidden(
            ParameterStore ps,
            NDArray ids,
            NDArray mask,
            KvCache cache,
            boolean training,
            PairList<String, Object> params) {
        int offset = cache == null ? 0 : cache.length;
        NDArray x = embed(ps, ids, offset, training);
        Context c = context(ids, mask, offset);
        for (int i = 0; i < layers.size(); i++) {
            DecoderLayer.KvEntry entry = cache == null ? null : cache.entries[i];
            x = layers.get(i).apply(ps, x, c.bias, c.cos, c.sin, c.rotate, entry, training, params);
        }
        return finalNorm.forward(ps, new NDList(x), training, params).singletonOrThrow();
    }

    // what every layer reads besides the hidden states: attention bias and RoPE tables
    private record Context(NDArray bias, NDArray cos, NDArray sin, NDArray rotate) {}

    // the token (and position) embeddings of ids [B, T] at positions offset.. [B, T, H]
    private NDArray embed(ParameterStore ps, NDArray ids, int offset, boolean training) {
        if (ids.getShape().dimension() != 2) {
            throw new IllegalArgumentException(
                    "input ids must be [batch, tokens]: " + ids.getShape());
        }
        Device device = ids.getDevice();
        int total = offset + Math.toIntExact(ids.getShape().get(1));
        if (total > config.maxPositions()) {
            throw new IllegalArgumentException(
                    total + " positions, the model has " + config.maxPositions());
        }
        NDArray w = ps.getValue(tokenEmbeddings, device, training);
        // float16 rows of a 16-bit checkpoint widen exactly
        NDArray x =
                NdArrays.float32(
                        Embedding.embedding(ids, w, SparseFormat.DENSE).singletonOrThrow());
        if (positionEmbeddings != null) {
            NDArray p = ps.getValue(positionEmbeddings, device, training);
            x = x.add(p.get(new NDIndex(offset + ":" + total)));
        }
        return x;
    }

    private Context context(NDArray ids, NDArray mask, int offset) {
        NDManager m = ids.getManager();
        int seq = Math.toIntExact(ids.getShape().get(1));
        NDArray bias = causalBias(m, seq, offset, config.slidingWindow());
        if (mask != null) {
            long batch = ids.getShape().get(0);
            NDArray pad = NdArrays.maskBias(mask).reshape(new Shape(batch, 1, 1, seq));
            bias = bias.minimum(pad);
        }
        if (config.family() != Family.LLAMA) {
            return new Context(bias, null, null, null);
        }
        int d = config.headDim();
        float[] c = new float[seq * d];
        float[] s = new float[seq * d];
        int half = d / 2;
        for (int t = 0; t < seq; t++) {
            for (int j = 0; j < half; j++) {
                double angle = (offset + t) * inverseFrequencies[j];
                float cj = (float) Math.cos(angle);
                float sj = (float) Math.sin(angle);
                c[t * d + j] = cj;
                c[t * d + j + half] = cj;
                s[t * d + j] = sj;
                s[t * d + j + half] = sj;
            }
        }
        return new Context(
                bias,
                NdArrays.create(m, c, new Shape(seq, d)),
                NdArrays.create(m, s, new Shape(seq, d)),
                NdArrays.create(m, rotation, new Shape(d, d)));
    }

    /**
     * The mean answer loss of one batch ({@code -mean log p(target)}, inputs as {@link
     * #forwardInternal}'s four) and its gradients, accumulated into the adapter, computed layer by
     * layer so that a 16-bit checkpoint's weights are never all widened to float32 at once (the
     * memory of a recorded graph would otherwise hold a float32 copy of every frozen matrix it
     * passed through): a forward pass without a graph keeps each layer's input; the LM head's
     * gradient {@code (softmax - onehot) / N · W} is computed directly, in vocabulary blocks; then
     * from the last layer down each layer is run again with a graph and back-propagated with the
     * gradient of its output, giving the gradient of its input (activation checkpointing). Dropout
     * masks are drawn again identically, so the gradients are those of one recorded pass.
     */
    public float lossAndGradients(ParameterStore ps, NDList inputs, GradientCollector collector) {
        NDArray ids = inputs.get(0);
        NDArray positions = inputs.get(2);
        NDArray targets = inputs.get(3);
        NDManager m = ids.getManager();
        List<NDArray> layerInputs = new ArrayList<>();
        Context c;
        NDArray top;
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad()) {
            NDArray x = embed(ps, ids, 0, true);
            c = context(ids, inputs.get(1), 0);
            for (DecoderLayer layer : layers) {
                layerInputs.add(x);
                layer.beginPass();
                try (NDManager scope = m.newSubManager()) {
                    x.tempAttach(scope);
                    NDArray y =
                            layer.apply(ps, x, c.bias, c.cos, c.sin, c.rotate, null, true, null);
                    y.attach(m);
                    x = y;
                }
            }
            top = x;
        }
        top.setRequiresGradient(true);
        NDArray normed = finalNorm.forward(ps, new NDList(top), true, null).singletonOrThrow();
        NDArray picked = pick(normed, positions);
        float loss;
        NDArray pickedGradient;
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad()) {
            // [N, V] arrays are the largest of a step: at most two at a time
            NDArray logits = head(ps, picked.stopGradient(), true);
            NDArray g = logits.logSoftmax(1);
            logits.close();
            long n = targets.size();
            try (NDArray chosen = g.gather(targets.expandDims(1), 1)) {
                loss = -chosen.sum().getFloat() / n;
            }
            NDArray logp = g;
            g = logp.exp(); // softmax
            logp.close();
            try (NDArray oneHot = targets.oneHot(config.vocabSize())) {
                g.subi(oneHot);
            }
            g.divi(NdArrays.scalar(m, n));
            pickedGradient = headBackward(ps, g, true);
            g.close();
        }
        collector.backward(picked.mul(pickedGradient).sum());
        NDArray upstream = detachedGradient(top, m);
        for (int i = layers.size() - 1; i >= 0; i--) {
            DecoderLayer layer = layers.get(i);
            try (NDManager scope = m.newSubManager()) {
                NDArray x = layerInputs.get(i);
                x.tempAttach(scope);
                if (i > 0) {
                    x.setRequiresGradient(true);
                }
                layer.replayPass();
                NDArray y = layer.apply(ps, x, c.bias, c.cos, c.sin, c.rotate, null, true, null);
                layer.endPass();
                collector.backward(y.mul(upstream).sum());
                upstream = i > 0 ? detachedGradient(x, m) : null;
            }
        }
        return loss;
    }

    /**
     * Starts a pass with replayable dropout masks in every layer, as {@link #lossAndGradients}
     * does: after the same {@link #seedDropout}, a recorded forward pass draws the same masks.
     */
    void beginPasses() {
        layers.forEach(DecoderLayer::beginPass);
    }

    // a copy of x's gradient in manager m
    private static NDArray detachedGradient(NDArray x, NDManager m) {
        try (NDArray g = x.getGradient()) {
            NDArray copy = g.duplicate();
            copy.attach(m);
            return copy;
        }
    }

    // the rows positions [N] of hidden [B, T, H] flattened: [N, H]
    private static NDArray pick(NDArray hidden, NDArray positions) {
        Shape s = hidden.getShape();
        long h = s.get(2);
        NDArray flat = hidden.reshape(new Shape(s.get(0) * s.get(1), h));
        return flat.gather(positions.expandDims(1).repeat(1, h), 0);
    }

    /**
     * {@code [1, 1, T, offset + T]}: 0 where key position {@code s <= offset + t} (and, with a
     * sliding window {@code W > 0}, {@code s > offset + t - W}, as Mistral masks), the lowest float
     * elsewhere.
     */
    static NDArray causalBias(NDManager m, int seq, int offset, int window) {
        int keys = offset + seq;
        float[] b = new float[seq * keys];
        for (int t = 0; t < seq; t++) {
            int query = offset + t;
            for (int s = 0; s < keys; s++) {
                if (s > query || (window > 0 && s <= query - window)) {
                    b[t * keys + s] = NdArrays.MASKED;
                }
            }
        }
        return NdArrays.create(m, b, new Shape(1, 1, seq, keys));
    }

    private NDArray headWeight(ParameterStore ps, Device device, boolean training) {
        return ps.getValue(lmHead != null ? lmHead : tokenEmbeddings, device, training);
    }

    private NDArray head(ParameterStore ps, NDArray hidden, boolean training) {
        NDArray w = headWeight(ps, hidden.getDevice(), training);
        if (w.getDataType() == DataType.FLOAT32) {
            return Linear.linear(hidden, w).singletonOrThrow();
        }
        // a float16 head is widened HEAD_ROWS vocabulary rows at a time
        long vocab = w.getShape().get(0);
        NDList parts = new NDList();
        for (long from = 0; from < vocab; from += HEAD_ROWS) {
            long to = Math.min(vocab, from + HEAD_ROWS);
            try (NDArray rows = w.get(new NDIndex(from + ":" + to))) {
                NDArray rows32 = NdArrays.float32(rows);
                parts.add(Linear.linear(hidden, rows32).singletonOrThrow());
                rows32.close();
            }
        }
        NDArray logits = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, -1);
        if (parts.size() > 1) {
            parts.close();
        }
        return logits;
    }

    /**
     * {@code dLoss/dHidden [N, H] = g [N, V] · W [V, H]} through the LM head for a given gradient
     * of the logits, without autograd (so a float16 head is never widened whole): HEAD_ROWS rows at
     * a time.
     */
    private NDArray headBackward(ParameterStore ps, NDArray g, boolean training) {
        NDArray w = headWeight(ps, g.getDevice(), training);
        long vocab = w.getShape().get(0);
        NDArray sum = null;
        for (long from = 0; from < vocab; from += HEAD_ROWS) {
            long to = Math.min(vocab, from + HEAD_ROWS);
            NDIndex range = new NDIndex(from + ":" + to);
            try (NDArray rows = w.get(range);
                    NDArray gPart = g.get(new NDIndex(":, " + from + ":" + to))) {
                NDArray rows32 = NdArrays.float32(rows);
                NDArray part = gPart.matMul(rows32);
                NdArrays.closeCopy(rows32, rows);
                if (sum == null) {
                    sum = part;
                } else {
                    sum.addi(part);
                    part.close();
                }
            }
        }
        return sum;
    }

    // log p(target | position) for N flat positions [N], and the most likely tokens there [N]
    private NDList targetLogProbs(
            ParameterStore ps,
            NDArray hidden,
            NDArray positions,
            NDArray targets,
            boolean training) {
        NDArray logits = head(ps, pick(hidden, positions), training);
        NDArray logp = logits.logSoftmax(1).gather(targets.expandDims(1), 1).squeeze(1);
        return new NDList(logp, logits.argMax(1));
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        Shape hidden = ids.add(config.hiddenSize());
        Shape bias = new Shape(ids.get(0), 1, ids.get(1), ids.get(1));
        for (DecoderLayer layer : layers) {
            layer.initialize(manager, dataType, hidden, bias);
        }
        finalNorm.initialize(manager, dataType, hidden);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(config.vocabSize())};
    }

    /** Initialises all parameters (taking the pretrained weights) in {@code manager}. */
    public void initialize(NDManager manager) {
        Shape s = new Shape(1, 8);
        initialize(manager, DataType.FLOAT32, s, s);
    }

    /** {@code layer<i>.<module>.<parameter>}, e.g. {@code layer3.q_proj.lora_A}. */
    public static String adapterName(int layer, Module module, String parameter) {
        return "layer" + layer + "." + module.moduleName() + "." + parameter;
    }

    /** The projection {@code module} of block {@code layer}. */
    public LoraDense dense(int layer, Module module) {
        LoraDense d = layers.get(layer).dense().get(module);
        if (d == null) {
            throw new IllegalArgumentException(config.family() + " has no " + module);
        }
        return d;
    }

    /** The trainable parameters by exchanged tensor name, in {@link #adapterTensors()} order. */
    public Map<String, Parameter> adapterParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            for (Module m : lora.targets()) {
                LoraDense d = dense(i, m);
                out.put(adapterName(i, m, LoraDense.LORA_A), d.loraA());
                out.put(adapterName(i, m, LoraDense.LORA_B), d.loraB());
            }
        }
        return out;
    }

    /**
     * Name, shape and initialisation of every adapter tensor: {@code A} uniform in {@code
     * ±1/sqrt(in)}, {@code B} zero (version 0 computes exactly the pretrained model).
     */
    public List<TensorSpec> adapterTensors() {
        return adapterTensors(config, lora);
    }

    /**
     * The adapter layout of {@code lora} on a model of architecture {@code config} (no weights
     * needed: a federation's spec can be written from {@code config.json} alone).
     */
    public static List<TensorSpec> adapterTensors(DecoderConfig config, DecoderLora lora) {
        lora.checkFamily(config.family());
        int h = config.hiddenSize();
        int kv = config.numKvHeads() * config.headDim();
        int inter = config.intermediateSize();
        List<TensorSpec> out = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            for (Module m : lora.targets()) {
                int in =
                        switch (m) {
                            case DOWN_PROJ -> inter;
                            default -> h;
                        };
                int outF =
                        switch (m) {
                            case Q_PROJ, O_PROJ, DOWN_PROJ -> h;
                            case K_PROJ, V_PROJ -> kv;
                            case GATE_PROJ, UP_PROJ -> inter;
                        };
                out.add(
                        TensorSpec.uniform(
                                adapterName(i, m, LoraDense.LORA_A),
                                1 / Math.sqrt(in),
                                lora.rank(),
                                in));
                out.add(TensorSpec.zeros(adapterName(i, m, LoraDense.LORA_B), outF, lora.rank()));
            }
        }
        return out;
    }

    /** The frozen pretrained parameters; never exchanged. */
    public Map<String, Parameter> baseParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        out.put("token_embeddings", tokenEmbeddings);
        if (positionEmbeddings != null) {
            out.put("position_embeddings", positionEmbeddings);
        }
        for (int i = 0; i < layers.size(); i++) {
            out.putAll(layers.get(i).baseParameters(i));
        }
        DecoderLayer.normParameters(out, "final_norm", finalNorm);
        if (lmHead != null) {
            out.put("lm_head", lmHead);
        }
        return out;
    }

    /** Restarts every dropout mask stream from one seed. */
    public void seedDropout(long seed) {
        SplittableRandom seeds = new SplittableRandom(seed);
        for (DecoderLayer layer : layers) {
            for (LoraDense d : layer.dense().values()) {
                d.seedDropout(seeds.nextLong());
            }
        }
    }

    @Override
    public String toString() {
        return "CausalLm(" + config + ", " + lora + ")";
    }
}
