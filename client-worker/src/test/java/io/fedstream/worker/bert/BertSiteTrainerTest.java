package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.TwoRounds;
import io.fedstream.worker.bert.LoraConfig.Target;
import io.fedstream.worker.djl.LoraDense;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link BertSiteTrainer} on a tiny made-up question-type task with the real MiniLM. */
class BertSiteTrainerTest {
    private static final LoraConfig LORA = LoraConfig.of(4, 8, 0.05, Target.QUERY, Target.VALUE);
    private static final BertSiteTrainer.Labelled TRAIN =
            new BertSiteTrainer.Labelled(
                    List.of(
                            "What are the symptoms of glaucoma?",
                            "What are the signs of Lyme disease?",
                            "What are the symptoms of a stroke?",
                            "What are the treatments for glaucoma?",
                            "How is Lyme disease treated?",
                            "What is the treatment for asthma?",
                            "Is psoriasis inherited?",
                            "Is cystic fibrosis inherited?"),
                    new int[] {0, 0, 0, 1, 1, 1, 2, 2});
    private static final BertSiteTrainer.Labelled TEST =
            new BertSiteTrainer.Labelled(
                    List.of(
                            "What are the symptoms of influenza?",
                            "How is diabetes treated?",
                            "Is hemophilia inherited?"),
                    new int[] {0, 1, 2});
    private static final BertSiteTrainer.Options OPTIONS =
            new BertSiteTrainer.Options(24, 4, 2, 5e-3, 11);

    private static HuggingFaceTokenizer tokenizer;

    @BeforeAll
    static void setUp() throws IOException {
        tokenizer = MiniLm.tokenizer(24);
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    private static BertSiteTrainer trainer(BertSiteTrainer.Labelled train) throws IOException {
        LoraBert model = new LoraBert(new BertClassifier(BertEncoder.miniLm(LORA), 3), 5);
        return new BertSiteTrainer(model, true, tokenizer, train, TEST, OPTIONS);
    }

    /** A trainer of {@code model} that leaves it open, on the fixed train and test sets. */
    private static BertSiteTrainer sharing(LoraBert model, BertSiteTrainer.Options options) {
        return new BertSiteTrainer(model, false, tokenizer, TRAIN, TEST, options);
    }

    @Test
    void localRoundsLowerTheLossAndReturnADeltaOfExactlyTheSpecsTensors() throws IOException {
        try (BertSiteTrainer trainer = trainer(TRAIN)) {
            TwoRounds r = TwoRounds.run(trainer, 5, trainer::evaluateTrain);
            SiteTrainer.EvalResult after = trainer.evaluateTrain(r.v2());

            assertThat(r.first().delta().keySet())
                    .containsExactlyElementsOf(
                            r.spec().tensors().stream().map(TensorSpec::name).toList());
            Adapters.requireLayout(r.first().delta(), r.spec());
            assertThat(r.first().delta())
                    .containsKeys(BertClassifier.HEAD_WEIGHT, BertClassifier.HEAD_BIAS);
            assertThat(r.first().numExamples()).isEqualTo(8);
            // 2 epochs of 8 examples in batches of 4
            assertThat(r.first().metrics().get(BertSiteTrainer.STEPS)).isEqualTo(4.0);
            assertThat(Adapters.l2Norm(r.first().delta())).isPositive();
            // the LoRA B matrices moved away from 0
            assertThat(Adapters.l2Norm(Map.of("b", r.first().delta().get("layer5.value.lora_B"))))
                    .isPositive();
            assertThat(after.loss()).isLessThan(0.7 * r.before().loss());
            assertThat(after.accuracy()).isGreaterThan(r.before().accuracy());

            SiteTrainer.EvalResult held = trainer.evaluate(r.v2());
            assertThat(held.examples()).isEqualTo(3);
            assertThat(held.loss()).isFinite();
            assertThat(held.accuracy()).isBetween(0.0, 1.0);
        }
    }

    @Test
    void versionZeroHasBZeroAndComputesThePretrainedEncoder() throws IOException {
        try (BertSiteTrainer trainer = trainer(TRAIN);
                LoraBert base = new LoraBert(BertEncoder.miniLm(LoraConfig.none()), 0)) {
            Map<String, float[]> v0 = trainer.federationSpec("f", 5).initialValues();
            trainer.evaluate(v0); // loads v0
            v0.forEach(
                    (name, values) -> {
                        if (name.endsWith(LoraDense.LORA_B)) {
                            assertThat(values).containsOnly(0f);
                        }
                    });
            TokenBatch batch = TokenBatch.encode(tokenizer, TRAIN.texts());

            float[] adapted = trainer.model().lastHiddenState(batch);

            assertThat(adapted).containsExactly(base.lastHiddenState(batch));
        }
    }

    @Test
    void theSameStartAndSeedGiveTheSameDelta() throws IOException {
        try (BertSiteTrainer a = trainer(TRAIN)) {
            Map<String, float[]> v0 = a.federationSpec("f", 5).initialValues();
            LoraBert shared = a.model();
            BertSiteTrainer b = new BertSiteTrainer(shared, false, tokenizer, TRAIN, TEST, OPTIONS);

            Map<String, float[]> first = a.train(v0, 3).delta();
            Map<String, float[]> second = b.train(v0, 3).delta();
            b.close(); // does not own the model

            assertThat(second.keySet()).containsExactlyElementsOf(first.keySet());
            first.forEach((name, v) -> assertThat(second.get(name)).containsExactly(v));
            assertThat(a.evaluate(v0).examples()).isEqualTo(3);
        }
    }

    @Test
    void batchesArePaddedOnlyToTheirLongestRow() {
        TokenBatch all = TokenBatch.encode(tokenizer, TRAIN.texts(), 24);

        TokenBatch two = BertSiteTrainer.gather(all, new int[] {6, 0});

        assertThat(two.sequenceLength()).isEqualTo(Math.max(all.tokens(6), all.tokens(0)));
        assertThat(two.tokens(0)).isEqualTo(all.tokens(6));
        assertThat(two.inputIds()[0]).isEqualTo(all.inputIds()[6 * 24]);
    }

    @Test
    void theFrozenPrefixCacheAndBucketingTrainTheSameModel() throws IOException {
        // adapters on layers 3-5 only: the cache holds the output of layer 2
        LoraConfig upper = LoraConfig.of(4, 8, 0, Target.QUERY, Target.VALUE).withFromLayer(3);
        try (LoraBert model = new LoraBert(new BertClassifier(BertEncoder.miniLm(upper), 3), 5);
                BertSiteTrainer plain = sharing(model, OPTIONS);
                BertSiteTrainer cached = sharing(model, OPTIONS.withSpeedups(true, false));
                BertSiteTrainer both = sharing(model, OPTIONS.withSpeedups(true, true))) {
            Map<String, float[]> v0 = plain.federationSpec("f", 5).initialValues();

            Map<String, float[]> expected = plain.train(v0, 0).delta();
            Map<String, float[]> expectedNext = plain.train(v0, 0).delta(); // the 2nd round's seed
            Map<String, float[]> actual = cached.train(v0, 0).delta();
            Map<String, float[]> again = cached.train(v0, 0).delta(); // from the filled cache
            SiteTrainer.EvalResult before = both.evaluateTrain(v0);
            SiteTrainer.TrainResult bucketed = both.train(v0, 0);
            SiteTrainer.EvalResult after = both.evaluateTrain(Adapters.apply(v0, bucketed.delta()));

            assertThat(v0.keySet())
                    .noneMatch(name -> name.startsWith("layer0.") || name.startsWith("layer2."))
                    .contains("layer3.query.lora_A", "layer5.value.lora_B");
            double scale = maxAbs(expected);
            assertThat(scale).isPositive();
            assertThat(maxAbsDiff(actual, expected)).isLessThan(1e-3 * scale);
            assertThat(maxAbsDiff(again, expectedNext)).isLessThan(1e-3 * scale);
            assertThat(maxAbsDiff(expectedNext, expected)).isGreaterThan(1e-2 * scale);
            assertThat(bucketed.metrics().get(BertSiteTrainer.TRAIN_TOKENS))
                    .isEqualTo(2.0 * java.util.Arrays.stream(plain.trainTokenCounts()).sum());
            assertThat(after.loss()).isLessThan(0.9 * before.loss());
        }
    }

    @Test
    void bucketingKeepsEveryRowOnceAndCutsPadding() {
        int[] lengths = new int[200];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = 4 + rnd.nextInt(60);
        }
        int[] order = io.fedstream.worker.data.Sampling.range(lengths.length);
        io.fedstream.worker.data.Sampling.shuffle(order, rnd);

        List<int[]> plain =
                BertSiteTrainer.batches(order, 8, null, new java.util.SplittableRandom(1));
        List<int[]> bucketed =
                BertSiteTrainer.batches(order, 8, lengths, new java.util.SplittableRandom(1));

        assertThat(bucketed.stream().flatMapToInt(java.util.Arrays::stream).sorted().toArray())
                .containsExactly(io.fedstream.worker.data.Sampling.range(lengths.length));
        assertThat(bucketed).hasSize(25).allMatch(b -> b.length == 8);
        assertThat(paddedTokens(bucketed, lengths))
                .isLessThan(paddedTokens(plain, lengths) * 3 / 4);
    }

    private static long paddedTokens(List<int[]> batches, int[] lengths) {
        long n = 0;
        for (int[] b : batches) {
            n += (long) b.length * java.util.Arrays.stream(b).map(i -> lengths[i]).max().orElse(0);
        }
        return n;
    }

    private static double maxAbs(Map<String, float[]> m) {
        double x = 0;
        for (float[] v : m.values()) {
            for (float f : v) {
                x = Math.max(x, Math.abs(f));
            }
        }
        return x;
    }

    private static double maxAbsDiff(Map<String, float[]> a, Map<String, float[]> b) {
        assertThat(a.keySet()).containsExactlyElementsOf(b.keySet());
        double x = 0;
        for (String k : a.keySet()) {
            for (int i = 0; i < a.get(k).length; i++) {
                x = Math.max(x, Math.abs(a.get(k)[i] - b.get(k)[i]));
            }
        }
        return x;
    }

    @Test
    void labelsOutsideTheHeadAreRejected() throws IOException {
        LoraBert model = new LoraBert(new BertClassifier(BertEncoder.miniLm(LORA), 3), 5);
        try (model) {
            BertSiteTrainer.Labelled bad =
                    new BertSiteTrainer.Labelled(List.of("What is x?"), new int[] {3});
            assertThatThrownBy(
                            () -> new BertSiteTrainer(model, false, tokenizer, bad, TEST, OPTIONS))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
