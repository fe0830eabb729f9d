package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.SiteTrainer.TrainResult;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.decoder.CausalBatch;
import io.fedstream.worker.decoder.CausalLmSiteTrainer;
import io.fedstream.worker.decoder.CausalTraining;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.decoder.MergedBase;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FedPitSiteTrainerTest {
    static LoraCausalLm lm;
    static HuggingFaceTokenizer tokenizer;
    static final List<InstructionExample> ALL = TinyMedical.examples();
    static final List<InstructionExample> TRAIN = ALL.subList(0, 12);
    static final List<InstructionExample> EVAL = ALL.subList(12, 18);
    static final CausalTraining.Options TRAINING = new CausalTraining.Options(64, 4, 2, 1e-2, 3);
    static final FedPitSiteTrainer.Options OPTIONS =
            new FedPitSiteTrainer.Options(
                    TRAINING,
                    0,
                    new SelfInstruct.Config(
                            4,
                            3,
                            16,
                            20,
                            SelfInstructPrompts.Config.defaults(),
                            SyntheticFilter.Config.defaults()),
                    1,
                    null);

    @BeforeAll
    static void load() {
        lm = TinyMedical.model();
        tokenizer = TinyMedical.tokenizer();
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        lm.close();
    }

    static FedPitSiteTrainer fedpit(FedPitSiteTrainer.Options options) {
        return new FedPitSiteTrainer(lm, false, tokenizer, null, TRAIN, EVAL, options);
    }

    static Map<String, float[]> global() {
        return lm.adapterSpec("f", 9).initialValues();
    }

    @Test
    void betaOneSendsExactlyWhatFedItSends() {
        TrainResult fedit;
        try (CausalLmSiteTrainer plain =
                new CausalLmSiteTrainer(
                        lm,
                        false,
                        tokenizer,
                        TRAIN,
                        EVAL,
                        new CausalLmSiteTrainer.Options(
                                TRAINING.maxTokens(),
                                TRAINING.batchSize(),
                                TRAINING.localEpochs(),
                                TRAINING.learningRate(),
                                TRAINING.seed()))) {
            fedit = plain.train(global(), 3);
        }
        TrainResult pit;
        try (FedPitSiteTrainer t = fedpit(OPTIONS.withBeta(1))) {
            pit = t.train(global(), 3);
        }

        assertThat(pit.delta().keySet()).containsExactlyElementsOf(fedit.delta().keySet());
        for (String name : fedit.delta().keySet()) {
            assertThat(pit.delta().get(name)).as(name).containsExactly(fedit.delta().get(name));
        }
        assertThat(pit.numExamples()).isEqualTo(fedit.numExamples()).isEqualTo(12);
        float[] moved = fedit.delta().get("layer0.v_proj.lora_B");
        assertThat(moved).isNotEqualTo(new float[moved.length]);
        // the private adapter was still trained on the side, with synthetic data
        assertThat(pit.metrics()).containsEntry(SelfInstruct.GENERATED, 4.0);
        assertThat(pit.metrics()).containsKey(FedPitSiteTrainer.LOCAL_ADAPTER_LOSS);
    }

    @Test
    void strictIsolationReturnsOnlyTheGlobalLayoutAndNeverTheLocalAdapter(@TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("local-adapter.safetensors");
        FederationSpec spec = lm.adapterSpec("f", 9);
        Map<String, float[]> local;
        TrainResult r;
        Map<String, float[]> initialLocal;
        try (FedPitSiteTrainer t = fedpit(OPTIONS.withLocalAdapterFile(file))) {
            initialLocal = t.localAdapter();
            r = t.train(global(), 0);
            local = t.localAdapter();
        }

        assertThat(r.delta().keySet())
                .containsExactlyElementsOf(spec.tensors().stream().map(TensorSpec::name).toList());
        assertThat(r.metrics())
                .containsKeys(
                        SelfInstruct.GENERATED,
                        SelfInstruct.KEPT,
                        SelfInstruct.GENERATION_MILLIS,
                        "filtered_near_copy",
                        "filtered_refusal",
                        FedPitSiteTrainer.LOCAL_ADAPTER_LOSS)
                .containsEntry(FedPitSiteTrainer.BETA, 0.0);
        assertThat(r.numExamples())
                .isEqualTo(Math.max(1, r.metrics().get(SelfInstruct.KEPT).longValue()));
        // the private adapter trained: its B moved away from zero
        assertThat(
                        Arrays.equals(
                                local.get("layer1.q_proj.lora_B"),
                                initialLocal.get("layer1.q_proj.lora_B")))
                .isFalse();
        // no returned tensor equals the private adapter, its change, or global + it
        Map<String, float[]> g = global();
        for (String name : r.delta().keySet()) {
            float[] sent = r.delta().get(name);
            float[] priv = local.get(name);
            float[] change = new float[priv.length];
            float[] sum = new float[priv.length];
            for (int i = 0; i < priv.length; i++) {
                change[i] = priv[i] - initialLocal.get(name)[i];
                sum[i] = g.get(name)[i] + sent[i];
            }
            assertThat(sent).as(name).isNotEqualTo(priv);
            if (name.endsWith("lora_B")) {
                assertThat(sent).as(name).isNotEqualTo(change);
                assertThat(sum).as(name).isNotEqualTo(priv);
            }
        }
        // persisted on the site and read back by the next trainer
        assertThat(file).isRegularFile();
        try (FedPitSiteTrainer again = fedpit(OPTIONS.withLocalAdapterFile(file))) {
            Map<String, float[]> reloaded = again.localAdapter();
            for (String name : local.keySet()) {
                assertThat(reloaded.get(name)).containsExactly(local.get(name));
            }
        }
    }

    @Test
    void halfwayMixesTheTwoDeltas() {
        TrainResult one;
        TrainResult zero;
        TrainResult half;
        try (FedPitSiteTrainer t = fedpit(OPTIONS.withBeta(1))) {
            one = t.train(global(), 5);
        }
        try (FedPitSiteTrainer t = fedpit(OPTIONS.withBeta(0))) {
            zero = t.train(global(), 5);
        }
        try (FedPitSiteTrainer t = fedpit(OPTIONS.withBeta(0.5))) {
            half = t.train(global(), 5);
        }

        Map<String, float[]> expected = DeltaMix.mix(0.5, one.delta(), zero.delta());
        for (String name : expected.keySet()) {
            float[] e = expected.get(name);
            float[] a = half.delta().get(name);
            for (int i = 0; i < e.length; i++) {
                assertThat(a[i]).isCloseTo(e[i], org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
    }

    @Test
    void trainingLeavesTheBaseAsItWasAndThePersonalModelDiffers() {
        CausalBatch probe =
                CausalBatch.of(List.of(new long[] {2, 5, 6, 7, 8}), List.of(new long[] {9, 10}));
        lm.setAdapter(global());
        float[] before = lm.logits(probe);
        try (FedPitSiteTrainer t = fedpit(OPTIONS)) {
            TrainResult r = t.train(global(), 0);
            lm.setAdapter(global());
            assertThat(lm.logits(probe)).containsExactly(before);

            double published = t.evaluate(global()).loss();
            double personal = t.evaluatePersonalised(global()).loss();
            assertThat(personal).isNotEqualTo(published).isFinite();
            assertThat(r.delta()).isNotEmpty();
        }
    }

    @Test
    void mergingAnAdapterIntoTheBaseEqualsLoadingIt() {
        CausalBatch probe =
                CausalBatch.of(List.of(new long[] {2, 5, 6, 7, 8}), List.of(new long[] {9, 10}));
        Map<String, float[]> g = global();
        for (Map.Entry<String, float[]> e : g.entrySet()) {
            if (e.getKey().endsWith("lora_B")) {
                for (int i = 0; i < e.getValue().length; i++) {
                    e.getValue()[i] = (float) Math.sin(i + e.getKey().length());
                }
            }
        }
        Map<String, float[]> zeroB = lm.adapterSpec("f", 1).initialValues(); // B = 0
        lm.setAdapter(zeroB);
        float[] base = lm.logits(probe);
        lm.setAdapter(g);
        float[] loaded = lm.logits(probe);

        float[] merged;
        float[] restored;
        try (MergedBase m = new MergedBase(lm)) {
            m.merge(g);
            lm.setAdapter(zeroB);
            merged = lm.logits(probe);
            m.restore();
            restored = lm.logits(probe);
        }

        assertThat(loaded).isNotEqualTo(base);
        for (int i = 0; i < loaded.length; i++) {
            assertThat(merged[i]).isCloseTo(loaded[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
        assertThat(restored).containsExactly(base);
    }
}
