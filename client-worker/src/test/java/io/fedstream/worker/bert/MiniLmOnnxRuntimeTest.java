package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The DJL re-implementation of all-MiniLM-L6-v2 against ONNX Runtime running the very graph the
 * weights were read from, on real sentences tokenized with the artifact's tokenizer.
 */
class MiniLmOnnxRuntimeTest {
    private static final double TOLERANCE = 1e-4;
    // observed 2.6e-6 on real tokens; padding positions (never used downstream) reach 6e-5
    private static final double TOKEN_TOLERANCE = 1e-5;
    private static final List<String> SENTENCES =
            List.of(
                    "What are the symptoms of Glaucoma?",
                    "How is type 2 diabetes treated?",
                    "Who is at risk for Parkinson's disease? Older adults, mostly.",
                    "The quick brown fox jumps over the lazy dog.",
                    "Is there a genetic test for cystic fibrosis, and how reliable is it in"
                            + " newborns compared with adults?");

    private static byte[] onnxBytes;
    private static OrtEnvironment env;
    private static OrtSession session;
    private static HuggingFaceTokenizer tokenizer;
    private static LoraBert model;

    @BeforeAll
    static void setUp() throws Exception {
        try (InputStream in = MiniLm.openOnnx()) {
            onnxBytes = in.readAllBytes();
        }
        env = OrtEnvironment.getEnvironment();
        session = env.createSession(onnxBytes, new OrtSession.SessionOptions());
        tokenizer = MiniLm.tokenizer(MiniLm.DEFAULT_MAX_TOKENS);
        model =
                new LoraBert(
                        BertEncoder.fromOnnx(OnnxWeights.parse(onnxBytes), LoraConfig.none()), 0);
    }

    @AfterAll
    static void tearDown() throws OrtException {
        if (model != null) {
            model.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (session != null) {
            session.close();
        }
    }

    @Test
    void lastHiddenStatesMatchOnnxRuntime() throws OrtException {
        TokenBatch batch = TokenBatch.encode(tokenizer, SENTENCES);

        float[] djl = model.lastHiddenState(batch);
        float[][][] ort = runOrt(batch);

        int hidden = model.config().hiddenSize();
        double maxDiffTokens = 0;
        double maxDiffPadding = 0;
        double maxAbs = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            for (int t = 0; t < batch.sequenceLength(); t++) {
                boolean token = batch.attentionMask()[b * batch.sequenceLength() + t] != 0;
                for (int h = 0; h < hidden; h++) {
                    float expected = ort[b][t][h];
                    float actual = djl[(b * batch.sequenceLength() + t) * hidden + h];
                    double diff = Math.abs(expected - actual);
                    if (token) {
                        maxDiffTokens = Math.max(maxDiffTokens, diff);
                    } else {
                        maxDiffPadding = Math.max(maxDiffPadding, diff);
                    }
                    maxAbs = Math.max(maxAbs, Math.abs(expected));
                }
            }
        }
        System.out.printf(
                "MiniLM DJL vs ONNX Runtime, %s: max |diff| %.3g on tokens, %.3g on padding"
                        + " positions (max |value| %.3g)%n",
                batch, maxDiffTokens, maxDiffPadding, maxAbs);
        assertThat(batch.tokens(0)).isLessThan(batch.sequenceLength()); // padding is exercised
        assertThat(maxDiffTokens).isLessThan(TOKEN_TOLERANCE);
        assertThat(maxDiffPadding).isLessThan(TOLERANCE);
    }

    @Test
    void sentencePairsWithTheSecondTokenTypeMatchOnnxRuntime() throws OrtException {
        Encoding[] pairs = {
            tokenizer.encode("What causes glaucoma?", "Increased pressure in the eye."),
            tokenizer.encode("How is flu treated?", "Rest, fluids and sometimes antiviral drugs.")
        };
        TokenBatch batch = TokenBatch.of(pairs, 0);

        float[] djl = model.lastHiddenState(batch);
        float[][][] ort = runOrt(batch);

        assertThat(batch.tokenTypeIds()).contains(1L);
        int hidden = model.config().hiddenSize();
        double maxDiff = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            for (int t = 0; t < batch.tokens(b); t++) {
                for (int h = 0; h < hidden; h++) {
                    float actual = djl[(b * batch.sequenceLength() + t) * hidden + h];
                    maxDiff = Math.max(maxDiff, Math.abs(ort[b][t][h] - actual));
                }
            }
        }
        System.out.printf("MiniLM sentence pairs: max |diff| %.3g on tokens%n", maxDiff);
        assertThat(maxDiff).isLessThan(TOKEN_TOLERANCE);
    }

    @Test
    void meanPooledEmbeddingsMatchOnnxRuntimeAndAreUnitLength() throws OrtException {
        TokenBatch batch = TokenBatch.encode(tokenizer, SENTENCES);

        float[] djl = model.sentenceEmbeddings(batch, true);
        float[][][] ort = runOrt(batch);

        int hidden = model.config().hiddenSize();
        double maxDiff = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            double[] pooled = new double[hidden];
            int n = 0;
            for (int t = 0; t < batch.sequenceLength(); t++) {
                if (batch.attentionMask()[b * batch.sequenceLength() + t] != 0) {
                    n++;
                    for (int h = 0; h < hidden; h++) {
                        pooled[h] += ort[b][t][h];
                    }
                }
            }
            double norm = 0;
            for (int h = 0; h < hidden; h++) {
                pooled[h] /= n;
                norm += pooled[h] * pooled[h];
            }
            norm = Math.sqrt(norm);
            double djlNorm = 0;
            for (int h = 0; h < hidden; h++) {
                float actual = djl[b * hidden + h];
                djlNorm += actual * actual;
                maxDiff = Math.max(maxDiff, Math.abs(pooled[h] / norm - actual));
            }
            assertThat(Math.sqrt(djlNorm))
                    .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
        System.out.printf("MiniLM normalised embeddings: max |diff| %.3g%n", maxDiff);
        assertThat(maxDiff).isLessThan(1e-5);
    }

    @Test
    void paddingDoesNotChangeASentencesEmbedding() {
        TokenBatch alone = TokenBatch.encode(tokenizer, SENTENCES.subList(0, 1));
        TokenBatch padded = TokenBatch.encode(tokenizer, SENTENCES.subList(0, 1), 40);

        float[] a = model.sentenceEmbeddings(alone, true);
        float[] b = model.sentenceEmbeddings(padded, true);

        assertThat(padded.sequenceLength()).isGreaterThan(alone.sequenceLength());
        for (int i = 0; i < a.length; i++) {
            assertThat(b[i]).isCloseTo(a[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    private static float[][][] runOrt(TokenBatch batch) throws OrtException {
        int rows = batch.batchSize();
        int cols = batch.sequenceLength();
        try (OnnxTensor ids =
                        OnnxTensor.createTensor(
                                env, TokenBatch.matrix(batch.inputIds(), rows, cols));
                OnnxTensor mask =
                        OnnxTensor.createTensor(
                                env, TokenBatch.matrix(batch.attentionMask(), rows, cols));
                OnnxTensor types =
                        OnnxTensor.createTensor(
                                env, TokenBatch.matrix(batch.tokenTypeIds(), rows, cols));
                OrtSession.Result result =
                        session.run(
                                Map.of(
                                        "input_ids", ids,
                                        "attention_mask", mask,
                                        "token_type_ids", types))) {
            return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
        }
    }
}
