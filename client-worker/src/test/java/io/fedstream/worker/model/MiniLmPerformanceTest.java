package io.fedstream.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.fedstream.worker.model.LoraConfig.Target;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Timings of MiniLM on this machine (one PyTorch thread): forward and LoRA training step for 16
 * sequences of 64 tokens. Opt-in: {@code -Dfedstream.perf=true}.
 */
@EnabledIfSystemProperty(named = "fedstream.perf", matches = "true")
class MiniLmPerformanceTest {
    private static final int BATCH = 16;
    private static final int TOKENS = 64;
    private static final int RUNS = 10;

    @Test
    void measureForwardAndTrainingStep() throws Exception {
        TokenBatch batch;
        try (HuggingFaceTokenizer tokenizer = MiniLm.tokenizer(TOKENS)) {
            batch = TokenBatch.encode(tokenizer, texts(), TOKENS);
        }
        assertThat(batch.tokens(BATCH - 1)).isEqualTo(TOKENS);
        int[] labels = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = i % 16;
        }
        OnnxWeights onnx = MiniLm.onnx();

        try (LoraBert plain = new LoraBert(BertEncoder.fromOnnx(onnx, LoraConfig.none()), 0)) {
            report("forward, no LoRA", time(() -> plain.lastHiddenState(batch)));
        }
        for (double dropout : new double[] {0, 0.05}) {
            LoraConfig lora = LoraConfig.of(8, 16, dropout, Target.QUERY, Target.VALUE);
            try (LoraBert model =
                    new LoraBert(new BertClassifier(BertEncoder.fromOnnx(onnx, lora), 16), 1)) {
                report("forward, LoRA r8 q/v + head (logits)", time(() -> model.logits(batch)));
                try (LoraBert.Training training = model.newTraining(1e-4, 2)) {
                    report(
                            "training step (fwd+bwd+Adam), LoRA r8 q/v, dropout " + dropout,
                            time(() -> training.step(batch, labels)));
                }
            }
        }
        try (InputStream in = MiniLm.openOnnx()) {
            byte[] bytes = in.readAllBytes();
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            try (OrtSession session = env.createSession(bytes, options);
                    OnnxTensor ids =
                            OnnxTensor.createTensor(
                                    env, TokenBatch.matrix(batch.inputIds(), BATCH, TOKENS));
                    OnnxTensor mask =
                            OnnxTensor.createTensor(
                                    env, TokenBatch.matrix(batch.attentionMask(), BATCH, TOKENS));
                    OnnxTensor types =
                            OnnxTensor.createTensor(
                                    env, TokenBatch.matrix(batch.tokenTypeIds(), BATCH, TOKENS))) {
                Map<String, OnnxTensor> in2 =
                        Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types);
                report(
                        "ONNX Runtime forward, 1 thread",
                        time(
                                () -> {
                                    try (OrtSession.Result r = session.run(in2)) {
                                        return r.get(0).getValue();
                                    }
                                }));
            }
        }
    }

    private interface Run {
        Object run() throws Exception;
    }

    private static double[] time(Run run) throws Exception {
        for (int i = 0; i < 2; i++) {
            run.run();
        }
        double[] ms = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            long t0 = System.nanoTime();
            run.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    private static void report(String what, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        System.out.printf(
                "PERF %-60s median %7.1f ms  min %7.1f ms  max %7.1f ms  (%d x %d tokens)%n",
                what,
                sorted[sorted.length / 2],
                sorted[0],
                sorted[sorted.length - 1],
                BATCH,
                TOKENS);
    }

    private static List<String> texts() {
        String base =
                "What are the symptoms and treatments of chronic obstructive pulmonary disease,"
                        + " how is it diagnosed by doctors, which tests are needed, what are the"
                        + " long term outcomes for patients, and how can smoking cessation programs"
                        + " together with pulmonary rehabilitation improve breathing and quality of"
                        + " life for people number ";
        List<String> out = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
            out.add(i + " " + base + base);
        }
        return out;
    }
}
