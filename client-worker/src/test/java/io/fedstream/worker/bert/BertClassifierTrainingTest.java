package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.bert.LoraConfig.Target;
import io.fedstream.worker.djl.LoraDense;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LoRA fine-tuning of MiniLM on a tiny, separable question-type task. */
class BertClassifierTrainingTest {
    private static final int SYMPTOMS = 0;
    private static final int TREATMENT = 1;
    private static final List<String> QUESTIONS =
            List.of(
                    "What are the symptoms of glaucoma?",
                    "What are the signs of Lyme disease?",
                    "How do I know if I have diabetes?",
                    "What are the symptoms of a stroke?",
                    "What does an asthma attack feel like?",
                    "What are the warning signs of skin cancer?",
                    "What symptoms does influenza cause?",
                    "What are the early signs of Parkinson's disease?",
                    "What are the treatments for glaucoma?",
                    "How is Lyme disease treated?",
                    "What medicines treat diabetes?",
                    "How is a stroke treated in the hospital?",
                    "What is the treatment for asthma?",
                    "How do doctors treat skin cancer?",
                    "Which drugs are used against influenza?",
                    "What therapies help Parkinson's disease?");
    private static final int[] LABELS = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

    private static HuggingFaceTokenizer tokenizer;
    private static TokenBatch batch;

    @BeforeAll
    static void setUp() throws IOException {
        tokenizer = MiniLm.tokenizer(MiniLm.DEFAULT_MAX_TOKENS);
        batch = TokenBatch.encode(tokenizer, QUESTIONS);
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    @Test
    void aFewStepsLowerTheTrainingLossAndSeparateTheClasses() throws IOException {
        LoraConfig lora = LoraConfig.of(8, 16, 0.1, Target.QUERY, Target.VALUE);
        try (LoraBert model = new LoraBert(new BertClassifier(BertEncoder.miniLm(lora), 2), 42)) {
            List<Float> losses = new ArrayList<>();

            try (LoraBert.Training training = model.newTraining(5e-3, 7)) {
                for (int step = 0; step < 12; step++) {
                    losses.add(training.step(batch, LABELS));
                }
            }

            System.out.println("MiniLM LoRA training losses: " + losses);
            assertThat(losses.get(0)).isBetween(0.6f, 0.8f); // ~ln 2 from the N(0, 0.02) head
            assertThat(losses.get(losses.size() - 1)).isLessThan(0.5f * losses.get(0));
            assertThat(accuracy(model.logits(batch))).isEqualTo(1.0);
        }
    }

    @Test
    void trainingIsReproducibleFromTheSameAdapterAndSeed() throws IOException {
        LoraConfig lora = LoraConfig.of(4, 8, 0.2, Target.QUERY, Target.VALUE);
        TokenBatch half = batch.rows(4, 12);
        int[] labels = java.util.Arrays.copyOfRange(LABELS, 4, 12);
        try (LoraBert model = new LoraBert(new BertClassifier(BertEncoder.miniLm(lora), 2), 1)) {
            Map<String, float[]> start = model.getAdapter();

            List<Float> first = run(model, half, labels);
            Map<String, float[]> firstResult = model.getAdapter();
            model.setAdapter(start);
            List<Float> second = run(model, half, labels);

            assertThat(second).containsExactlyElementsOf(first);
            assertThat(model.getAdapter()).containsExactlyEntriesOf(firstResult);
        }
    }

    @Test
    void gradientsStayFiniteWhileTheGarbageCollectorRuns() throws Exception {
        // Regression: DJL's scalar overloads (mul(float), div(float)) free the scalar's Java
        // buffer right after the op while autograd keeps it for backward; with a collector
        // running, that gave NaN gradients within a step or two.
        LoraConfig lora = LoraConfig.of(8, 16, 0, Target.QUERY, Target.VALUE);
        Thread collector =
                new Thread(
                        () -> {
                            while (!Thread.currentThread().isInterrupted()) {
                                System.gc();
                                try {
                                    Thread.sleep(2);
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        });
        collector.setDaemon(true);
        try (LoraBert model = new LoraBert(new BertClassifier(BertEncoder.miniLm(lora), 2), 3)) {
            List<Float> losses = new ArrayList<>();
            collector.start();
            try (LoraBert.Training training = model.newTraining(5e-3, 5)) {
                for (int step = 0; step < 6; step++) {
                    losses.add(training.step(batch.rows(6, 10), new int[] {0, 0, 1, 1}));
                }
            } finally {
                collector.interrupt();
                collector.join();
            }

            assertThat(losses).allMatch(Float::isFinite);
            model.getAdapter()
                    .values()
                    .forEach(
                            v -> {
                                for (float x : v) {
                                    assertThat(x).isFinite();
                                }
                            });
        }
    }

    @Test
    void withAFrozenTheFactorMeanIsExactlyTheMeanOfTheSitesProducts() throws IOException {
        // two "sites" train from the same adapter on different halves; FedAvg of the factors
        // is the mean of the products B_i A_i only if the A's stay equal (FFA-LoRA)
        int[] first = java.util.Arrays.copyOfRange(LABELS, 2, 10);
        int[] second = java.util.Arrays.copyOfRange(LABELS, 6, 14);
        LoraConfig plain = LoraConfig.of(4, 8, 0, Target.QUERY, Target.VALUE);

        double frozenGap = factorMeanGap(plain.withFreezeA(true), first, second);
        double plainGap = factorMeanGap(plain, first, second);

        assertThat(frozenGap).isLessThan(1e-6);
        assertThat(plainGap).isGreaterThan(1e-4);
    }

    /**
     * Trains two copies of one adapter on rows 2..10 and 6..14 and returns the largest relative gap
     * ‖B̄·Ā − mean(Bᵢ·Aᵢ)‖ / ‖mean(Bᵢ·Aᵢ) − B₀·A₀‖ over the adapted layers; asserts on the way that
     * a frozen A never moves and B always does.
     */
    private static double factorMeanGap(LoraConfig lora, int[] firstLabels, int[] secondLabels)
            throws IOException {
        try (LoraBert model = new LoraBert(new BertClassifier(BertEncoder.miniLm(lora), 2), 11)) {
            Map<String, float[]> start = model.getAdapter();
            run(model, batch.rows(2, 10), firstLabels);
            Map<String, float[]> one = model.getAdapter();
            model.setAdapter(start);
            run(model, batch.rows(6, 14), secondLabels);
            Map<String, float[]> two = model.getAdapter();

            double worst = 0;
            for (String name : start.keySet()) {
                if (!name.endsWith(LoraDense.LORA_A)) {
                    continue;
                }
                String bName =
                        name.substring(0, name.length() - LoraDense.LORA_A.length())
                                + LoraDense.LORA_B;
                if (lora.freezeA()) {
                    assertThat(one.get(name)).containsExactly(start.get(name));
                    assertThat(two.get(name)).containsExactly(start.get(name));
                }
                assertThat(one.get(bName)).isNotEqualTo(start.get(bName));
                int rank = lora.rank();
                int out = start.get(bName).length / rank;
                int in = start.get(name).length / rank;
                double[] meanOfProducts = new double[out * in];
                double[] p1 = product(one.get(bName), one.get(name), out, rank, in);
                double[] p2 = product(two.get(bName), two.get(name), out, rank, in);
                double[] p0 = product(start.get(bName), start.get(name), out, rank, in);
                for (int i = 0; i < meanOfProducts.length; i++) {
                    meanOfProducts[i] = (p1[i] + p2[i]) / 2;
                }
                double[] productOfMeans =
                        product(
                                mean(one.get(bName), two.get(bName)),
                                mean(one.get(name), two.get(name)),
                                out,
                                rank,
                                in);
                double gap = 0;
                double change = 0;
                for (int i = 0; i < meanOfProducts.length; i++) {
                    gap += Math.pow(productOfMeans[i] - meanOfProducts[i], 2);
                    change += Math.pow(meanOfProducts[i] - p0[i], 2);
                }
                worst = Math.max(worst, Math.sqrt(gap / change));
            }
            return worst;
        }
    }

    private static float[] mean(float[] x, float[] y) {
        float[] m = new float[x.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) (((double) x[i] + y[i]) / 2);
        }
        return m;
    }

    /** {@code B [out, rank] · A [rank, in]} in float64. */
    private static double[] product(float[] b, float[] a, int out, int rank, int in) {
        double[] p = new double[out * in];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < rank; k++) {
                double bk = b[o * rank + k];
                for (int i = 0; i < in; i++) {
                    p[o * in + i] += bk * a[k * in + i];
                }
            }
        }
        return p;
    }

    private static List<Float> run(LoraBert model, TokenBatch b, int[] labels) {
        List<Float> losses = new ArrayList<>();
        try (LoraBert.Training training = model.newTraining(1e-3, 99)) {
            for (int step = 0; step < 3; step++) {
                losses.add(training.step(b, labels));
            }
        }
        return losses;
    }

    private static double accuracy(float[] logits) {
        int correct = 0;
        for (int i = 0; i < LABELS.length; i++) {
            int predicted =
                    logits[2 * i + TREATMENT] > logits[2 * i + SYMPTOMS] ? TREATMENT : SYMPTOMS;
            correct += predicted == LABELS[i] ? 1 : 0;
        }
        return (double) correct / LABELS.length;
    }
}
