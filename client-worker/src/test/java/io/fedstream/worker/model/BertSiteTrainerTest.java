package io.fedstream.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.model.LoraConfig.Target;
import io.fedstream.worker.train.Adapters;
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

    @Test
    void localRoundsLowerTheLossAndReturnADeltaOfExactlyTheSpecsTensors() throws IOException {
        try (BertSiteTrainer trainer = trainer(TRAIN)) {
            FederationSpec spec = trainer.federationSpec("f", 5);
            Map<String, float[]> v0 = spec.initialValues();
            SiteTrainer.EvalResult before = trainer.evaluateTrain(v0);

            SiteTrainer.TrainResult first = trainer.train(v0, 0);
            Map<String, float[]> v1 = Adapters.apply(v0, first.delta());
            SiteTrainer.TrainResult second = trainer.train(v1, 1);
            Map<String, float[]> v2 = Adapters.apply(v1, second.delta());
            SiteTrainer.EvalResult after = trainer.evaluateTrain(v2);

            assertThat(first.delta().keySet())
                    .containsExactlyElementsOf(
                            spec.tensors().stream().map(TensorSpec::name).toList());
            Adapters.requireLayout(first.delta(), spec);
            assertThat(first.delta())
                    .containsKeys(BertClassifier.HEAD_WEIGHT, BertClassifier.HEAD_BIAS);
            assertThat(first.numExamples()).isEqualTo(8);
            // 2 epochs of 8 examples in batches of 4
            assertThat(first.metrics().get(BertSiteTrainer.STEPS)).isEqualTo(4.0);
            assertThat(Adapters.l2Norm(first.delta())).isPositive();
            // the LoRA B matrices moved away from 0
            assertThat(Adapters.l2Norm(Map.of("b", first.delta().get("layer5.value.lora_B"))))
                    .isPositive();
            assertThat(after.loss()).isLessThan(0.7 * before.loss());
            assertThat(after.accuracy()).isGreaterThan(before.accuracy());

            SiteTrainer.EvalResult held = trainer.evaluate(v2);
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
