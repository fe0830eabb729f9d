package io.fedstream.worker.bert;

import io.fedstream.worker.djl.FloatTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The weights of a BERT encoder under Hugging Face {@code BertModel} names, with PyTorch layouts:
 * linear weights are {@code [out, in]}. For example {@code embeddings.word_embeddings.weight
 * [vocab, hidden]}, {@code encoder.layer.3.attention.self.query.weight [hidden, hidden]}, {@code
 * encoder.layer.3.intermediate.dense.weight [intermediate, hidden]}.
 *
 * <p>{@link #of(Map)} normalises the names of other exports: a {@code bert.} prefix (task models)
 * is dropped and the old TensorFlow-era {@code LayerNorm.gamma/beta} become {@code weight/bias}.
 * Tensors that are not part of the encoder (pooler, task heads) are kept but ignored.
 */
public final class BertWeights {
    public static final String WORD_EMBEDDINGS = "embeddings.word_embeddings.weight";
    public static final String POSITION_EMBEDDINGS = "embeddings.position_embeddings.weight";
    public static final String TOKEN_TYPE_EMBEDDINGS = "embeddings.token_type_embeddings.weight";
    public static final String EMBEDDINGS_NORM = "embeddings.LayerNorm";

    /**
     * The linear layers of one transformer layer, as HF names them under {@code encoder.layer.i}.
     */
    public static final List<String> LINEAR_MODULES =
            List.of(
                    "attention.self.query",
                    "attention.self.key",
                    "attention.self.value",
                    "attention.output.dense",
                    "intermediate.dense",
                    "output.dense");

    private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");

    private final Map<String, FloatTensor> tensors;

    private BertWeights(Map<String, FloatTensor> tensors) {
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Weights under HF names (normalised as described above), in the given order. */
    public static BertWeights of(Map<String, FloatTensor> named) {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, FloatTensor> e : named.entrySet()) {
            String name = normalize(e.getKey());
            if (out.put(name, e.getValue()) != null) {
                throw new IllegalArgumentException("two tensors are named " + name);
            }
        }
        return new BertWeights(out);
    }

    static String normalize(String name) {
        String n = name.startsWith("bert.") ? name.substring("bert.".length()) : name;
        if (n.endsWith(".LayerNorm.gamma")) {
            n = n.substring(0, n.length() - "gamma".length()) + "weight";
        } else if (n.endsWith(".LayerNorm.beta")) {
            n = n.substring(0, n.length() - "beta".length()) + "bias";
        }
        return n;
    }

    /** {@code encoder.layer.<layer>.<suffix>}. */
    public static String layerName(int layer, String suffix) {
        return "encoder.layer." + layer + "." + suffix;
    }

    /** All tensors by name (including any this class ignores). */
    public Map<String, FloatTensor> tensors() {
        return tensors;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor {@code name}; fails naming the tensor if absent. */
    public FloatTensor get(String name) {
        FloatTensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("missing BERT weight " + name);
        }
        return t;
    }

    /** Name and shape of every tensor an encoder of {@code config} needs, in a canonical order. */
    public static Map<String, int[]> expectedShapes(BertConfig config) {
        int h = config.hiddenSize();
        int i = config.intermediateSize();
        Map<String, int[]> out = new LinkedHashMap<>();
        out.put(WORD_EMBEDDINGS, new int[] {config.vocabSize(), h});
        out.put(POSITION_EMBEDDINGS, new int[] {config.maxPositions(), h});
        out.put(TOKEN_TYPE_EMBEDDINGS, new int[] {config.typeVocabSize(), h});
        out.put(EMBEDDINGS_NORM + ".weight", new int[] {h});
        out.put(EMBEDDINGS_NORM + ".bias", new int[] {h});
        for (int l = 0; l < config.numLayers(); l++) {
            for (String m : LINEAR_MODULES) {
                int in = m.equals("output.dense") ? i : h;
                int outDim = m.equals("intermediate.dense") ? i : h;
                out.put(layerName(l, m + ".weight"), new int[] {outDim, in});
                out.put(layerName(l, m + ".bias"), new int[] {outDim});
            }
            for (String norm : List.of("attention.output.LayerNorm", "output.LayerNorm")) {
                out.put(layerName(l, norm + ".weight"), new int[] {h});
                out.put(layerName(l, norm + ".bias"), new int[] {h});
            }
        }
        return out;
    }

    /** Checks that every tensor {@code config} needs is present with the right shape. */
    public void validate(BertConfig config) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, int[]> e : expectedShapes(config).entrySet()) {
            FloatTensor t = tensors.get(e.getKey());
            if (t == null) {
                problems.add("missing " + e.getKey());
            } else if (!t.hasShape(e.getValue())) {
                problems.add(
                        e.getKey()
                                + " has shape "
                                + Arrays.toString(t.shape())
                                + ", expected "
                                + Arrays.toString(e.getValue()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(
                    "weights do not fit " + config + ": " + String.join("; ", problems));
        }
    }

    /**
     * The configuration these weights imply, given what weights cannot tell: the number of heads
     * and the LayerNorm epsilon.
     */
    public BertConfig inferConfig(int numHeads, double layerNormEps) {
        FloatTensor word = get(WORD_EMBEDDINGS);
        int layers = 0;
        for (String name : tensors.keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.find()) {
                layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
            }
        }
        if (layers == 0) {
            throw new IllegalArgumentException("no encoder.layer.* weights");
        }
        BertConfig config =
                new BertConfig(
                        word.dim(0),
                        word.dim(1),
                        layers,
                        numHeads,
                        get(layerName(0, "intermediate.dense.weight")).dim(0),
                        get(POSITION_EMBEDDINGS).dim(0),
                        get(TOKEN_TYPE_EMBEDDINGS).dim(0),
                        layerNormEps);
        validate(config);
        return config;
    }

    /** Only the tensors {@code config} needs, in canonical order (for writing checkpoints). */
    public Map<String, FloatTensor> encoderTensors(BertConfig config) {
        validate(config);
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (String name : expectedShapes(config).keySet()) {
            out.put(name, tensors.get(name));
        }
        return out;
    }

    @Override
    public String toString() {
        return "BertWeights(" + tensors.size() + " tensors)";
    }
}
