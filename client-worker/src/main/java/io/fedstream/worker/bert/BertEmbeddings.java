package io.fedstream.worker.bert;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.djl.FrozenLayerNorm;
import io.fedstream.worker.djl.NdArrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * BERT's input layer: {@code LayerNorm(word[ids] + tokenType[typeIds] + position[0..T))}, all
 * frozen. Inputs: {@code inputIds [B, T]} and optionally {@code tokenTypeIds [B, T]} (int64).
 */
public final class BertEmbeddings extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int maxPositions;
    private final Parameter word;
    private final Parameter position;
    private final Parameter tokenType;
    private final FrozenLayerNorm norm;

    BertEmbeddings(BertConfig config, BertWeights weights) {
        super(VERSION);
        this.maxPositions = config.maxPositions();
        word = frozen("word_embeddings", BertWeights.WORD_EMBEDDINGS, weights);
        position = frozen("position_embeddings", BertWeights.POSITION_EMBEDDINGS, weights);
        tokenType = frozen("token_type_embeddings", BertWeights.TOKEN_TYPE_EMBEDDINGS, weights);
        norm =
                addChildBlock(
                        "LayerNorm",
                        new FrozenLayerNorm(
                                BertWeights.EMBEDDINGS_NORM,
                                weights.get(BertWeights.EMBEDDINGS_NORM + ".weight"),
                                weights.get(BertWeights.EMBEDDINGS_NORM + ".bias"),
                                config.layerNormEps()));
    }

    private Parameter frozen(String name, String hfName, BertWeights weights) {
        FloatTensor t = weights.get(hfName);
        return addParameter(NdArrays.frozen(name, Parameter.Type.WEIGHT, hfName, t));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        NDArray typeIds = inputs.size() > 1 ? inputs.get(1) : null;
        Device device = ids.getDevice();
        long seqLen = ids.getShape().get(1);
        if (seqLen > maxPositions) {
            throw new IllegalArgumentException(
                    "sequence of "
                            + seqLen
                            + " tokens, the model has "
                            + maxPositions
                            + " positions");
        }
        NDArray w = parameterStore.getValue(word, device, training);
        NDArray p = parameterStore.getValue(position, device, training);
        NDArray t = parameterStore.getValue(tokenType, device, training);
        NDArray words = Embedding.embedding(ids, w, SparseFormat.DENSE).singletonOrThrow();
        NDArray types =
                typeIds == null
                        ? t.get(0)
                        : Embedding.embedding(typeIds, t, SparseFormat.DENSE).singletonOrThrow();
        NDArray positions = p.get(new NDIndex("0:" + seqLen));
        NDArray x = words.add(types).add(positions);
        return norm.forward(parameterStore, new NDList(x), training, params);
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        norm.initialize(manager, dataType, ids.add(word.getShape().get(1)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(word.getShape().get(1))};
    }

    /** The frozen parameters under their HF names. */
    Map<String, Parameter> hfParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        out.put(BertWeights.WORD_EMBEDDINGS, word);
        out.put(BertWeights.POSITION_EMBEDDINGS, position);
        out.put(BertWeights.TOKEN_TYPE_EMBEDDINGS, tokenType);
        out.put(BertWeights.EMBEDDINGS_NORM + ".weight", norm.weight());
        out.put(BertWeights.EMBEDDINGS_NORM + ".bias", norm.bias());
        return out;
    }
}
