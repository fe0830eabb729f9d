package io.fedstream.worker.decoder;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.TwoRounds;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link CausalLmSiteTrainer}: instruction tuning of a tiny Llama checkpoint written here. */
class CausalLmSiteTrainerTest {
    private static final List<String> VOCAB =
            TinyDecoder.instructionVocab(
                    "symptom", "of", "flu", "cold", "treat", "fever", "sneeze", "rest", "tea");
    private static final List<InstructionExample> TRAIN =
            List.of(
                    example("1", "symptom of flu", "fever"),
                    example("2", "symptom of cold", "sneeze"),
                    example("3", "treat flu", "rest"),
                    example("4", "treat cold", "tea"));
    private static final CausalLmSiteTrainer.Options OPTIONS =
            new CausalLmSiteTrainer.Options(32, 2, 8, 0.02, 3);

    @TempDir Path dir;

    private static InstructionExample example(String id, String instruction, String output) {
        return new InstructionExample(id, instruction, "", output, null, null);
    }

    private CausalLmSiteTrainer trainer() throws IOException {
        DecoderConfig config = TinyDecoder.LLAMA;
        if (!Files.exists(dir.resolve("config.json"))) {
            TinyDecoder.writeCheckpoint(dir, config, 1, SafeTensors.DType.F32, VOCAB);
        }
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(dir);
        DecoderLora lora = DecoderLora.of(4, 8, 0.05, Module.Q_PROJ, Module.V_PROJ, Module.UP_PROJ);
        LoraCausalLm model = new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, lora), 2);
        try (HuggingFaceTokenizer tokenizer = checkpoint.tokenizer()) {
            return new CausalLmSiteTrainer(model, true, tokenizer, TRAIN, TRAIN, OPTIONS);
        }
    }

    @Test
    void localRoundsLowerTheAnswerLossAndReturnExactlyTheSpecsTensors() throws IOException {
        try (CausalLmSiteTrainer trainer = trainer()) {
            TwoRounds r = TwoRounds.run(trainer, 2, trainer::evaluateTrain);
            SiteTrainer.EvalResult after = trainer.evaluate(r.v2());

            assertThat(r.first().delta().keySet())
                    .containsExactlyElementsOf(
                            r.spec().tensors().stream().map(TensorSpec::name).toList());
            assertThat(r.first().numExamples()).isEqualTo(4);
            // 8 epochs of 4 examples in batches of 2; answers are one word + EOS
            assertThat(r.first().metrics().get(CausalLmSiteTrainer.STEPS)).isEqualTo(16.0);
            assertThat(r.first().metrics().get(CausalLmSiteTrainer.ANSWER_TOKENS)).isEqualTo(64.0);
            assertThat(after.examples()).isEqualTo(4);
            assertThat(after.loss()).isLessThan(0.3 * r.before().loss());
            assertThat(after.accuracy())
                    .isGreaterThan(r.before().accuracy())
                    .isGreaterThanOrEqualTo(0.75);
        }
    }

    @Test
    void theSameStartAndSeedGiveTheSameDelta() throws IOException {
        try (CausalLmSiteTrainer a = trainer();
                CausalLmSiteTrainer b = trainer()) {
            Map<String, float[]> v0 = a.federationSpec("f", 2).initialValues();

            Map<String, float[]> first = a.train(v0, 5).delta();
            Map<String, float[]> second = b.train(v0, 5).delta();

            first.forEach((name, v) -> assertThat(second.get(name)).containsExactly(v));
            assertThat(Adapters.l2Norm(first)).isPositive();
        }
    }
}
