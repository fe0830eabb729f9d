package io.fedstream.worker.decoder;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.testing.GlobalVersions;
import io.fedstream.testing.JoinedUpdates;
import io.fedstream.testing.TestTopics;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.WorkerListener;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.weights.SafeTensors;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's Kafka loop training a causal LM site (a tiny Llama checkpoint in HF format) against
 * a real broker; the test plays the job, applying each update as the next global version. The
 * held-out answer loss (questions about words the site never trained on) falls over the versions.
 */
class DecoderWorkerIT {
    private static final List<String> VOCAB =
            TinyDecoder.instructionVocab(
                    "what", "is", "flu", "cold", "measles", "mumps", "rabies", "a", "virus");

    @TempDir Path dir;

    private static InstructionExample ask(String id, String disease) {
        return new InstructionExample(id, "what is " + disease, "", "a virus", null, null);
    }

    @Test
    void aDecoderSiteTrainsFromEachVersionAndItsHeldOutAnswerLossFalls() throws Exception {
        DecoderConfig config = TinyDecoder.LLAMA;
        TinyDecoder.writeCheckpoint(dir, config, 3, SafeTensors.DType.BF16, VOCAB);
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(dir);
        List<InstructionExample> train =
                List.of(ask("1", "flu"), ask("2", "cold"), ask("3", "rabies"));
        List<InstructionExample> heldOut = List.of(ask("4", "measles"), ask("5", "mumps"));
        Map<Long, Double> heldOutLoss = new ConcurrentHashMap<>();
        WorkerListener listener =
                new WorkerListener() {
                    @Override
                    public void onGlobalVersion(
                            String site, GlobalModel m, SiteTrainer.EvalResult e) {
                        heldOutLoss.put(m.getVersion(), e.loss());
                    }
                };

        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            kafka.createTopic(Topics.ADAPTER_UPDATES, 1, Map.of());
            kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
            LoraCausalLm model =
                    new LoraCausalLm(
                            CausalLm.fromCheckpoint(
                                    checkpoint,
                                    DecoderLora.of(
                                            4, 8, 0, Module.Q_PROJ, Module.V_PROJ, Module.UP_PROJ)),
                            1);
            CausalLmSiteTrainer trainer;
            try (HuggingFaceTokenizer tokenizer = checkpoint.tokenizer()) {
                trainer =
                        new CausalLmSiteTrainer(
                                model,
                                true,
                                tokenizer,
                                train,
                                heldOut,
                                new CausalLmSiteTrainer.Options(32, 3, 5, 0.02, 7));
            }
            FederationSpec spec = trainer.federationSpec("med", 11);
            Map<String, float[]> version = spec.initialValues();
            GlobalVersions.publish(kafka, spec, 0, version);
            WorkerConfig workerConfig =
                    WorkerConfig.defaults(kafka.bootstrapServers(), "med", "site-a");
            List<AdapterUpdate> sent;
            try (trainer;
                    Worker worker = new Worker(workerConfig, trainer, listener, 1)) {
                Thread thread = new Thread(worker);
                thread.start();
                // act: three rounds, each update applied as the next version (FedAvg of one)
                for (int v = 1; v <= 3; v++) {
                    List<AdapterUpdate> got = updates(kafka, v);
                    AdapterUpdate u = got.get(v - 1);
                    version = Adapters.apply(version, TensorCodec.toMap(u.getTensors()));
                    GlobalVersions.publish(kafka, spec, v, version);
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!heldOutLoss.containsKey(3L) && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                sent = updates(kafka, 3);
                worker.close();
            }

            // and perhaps site-a/v3, if it finished training from version 3 before the close
            assertThat(sent.subList(0, 3))
                    .extracting(AdapterUpdate::getUpdateId)
                    .containsExactly("site-a/v0", "site-a/v1", "site-a/v2");
            assertThat(sent.get(0).getTensors())
                    .extracting(t -> t.getName())
                    .containsExactlyElementsOf(spec.tensors().stream().map(t -> t.name()).toList());
            assertThat(sent).allSatisfy(u -> assertThat(u.getNumExamples()).isEqualTo(3));
            assertThat(heldOutLoss).containsKeys(0L, 1L, 2L, 3L);
            assertThat(heldOutLoss.get(3L)).isLessThan(0.5 * heldOutLoss.get(0L));
        }
    }

    /** The worker's updates, joined from their chunks at each manifest. */
    private static List<AdapterUpdate> updates(EmbeddedKafka kafka, int atLeast) {
        return TestTopics.readUntil(
                kafka,
                Topics.ADAPTER_UPDATES,
                new JoinedUpdates()::accept,
                u -> u.size() >= atLeast);
    }
}
