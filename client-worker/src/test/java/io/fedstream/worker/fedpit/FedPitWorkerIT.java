package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import io.fedstream.testing.GlobalVersions;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.WorkerListener;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.decoder.LoraCausalLm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker running FedPIT against a real broker: what it publishes holds the global adapter's
 * tensors and the round's synthetic-data metrics, and not one value of the private adapter (checked
 * on the raw record bytes, whatever the record layout).
 */
class FedPitWorkerIT {

    @Test
    @Timeout(300)
    void thePrivateAdapterNeverReachesTheWire(@TempDir Path dir) throws Exception {
        List<InstructionExample> train = TinyMedical.examples().subList(0, 12);
        FedPitSiteTrainer.Options options =
                FedPitSiteTrainerTest.OPTIONS.withLocalAdapterFile(
                        dir.resolve("local.safetensors"));
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start();
                LoraCausalLm lm = TinyMedical.model();
                HuggingFaceTokenizer tok = TinyMedical.tokenizer();
                FedPitSiteTrainer trainer =
                        new FedPitSiteTrainer(lm, false, tok, null, train, List.of(), options)) {
            kafka.createTopic(Topics.ADAPTER_UPDATES, 1, Map.of());
            kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
            FederationSpec spec = trainer.federationSpec("fed", 1);
            GlobalVersions.publish(kafka, spec, 0, spec.initialValues());
            WorkerConfig config =
                    WorkerConfig.defaults(kafka.bootstrapServers(), "fed", "site-p")
                            .withMaxUpdates(1);

            try (Worker w = new Worker(config, trainer, WorkerListener.NONE, 1)) {
                w.run(); // returns after one update
            }
            List<byte[]> raw = records(kafka);
            Map<String, float[]> local = trainer.localAdapter();

            // the update as workers publish it: its chunks, then its manifest
            List<UpdateManifest> manifests = new ArrayList<>();
            Map<Integer, UpdateChunk> chunks = new HashMap<>();
            for (byte[] r : raw) {
                if (AvroCodec.UPDATE_MANIFEST.accepts(r)) {
                    manifests.add(AvroCodec.UPDATE_MANIFEST.decode(r));
                } else {
                    UpdateChunk c = AvroCodec.UPDATE_CHUNK.decode(r);
                    chunks.put(c.getChunkIndex(), c);
                }
            }
            assertThat(manifests).hasSize(1);
            assertThat(chunks).hasSize(raw.size() - 1);
            AdapterUpdate u = UpdateChunking.join(manifests.get(0), chunks);
            assertThat(u.getTensors())
                    .extracting(t -> t.getName())
                    .containsExactlyElementsOf(
                            spec.tensors().stream().map(TensorSpec::name).toList());
            assertThat(manifests.get(0).getMetrics())
                    .containsKeys(
                            SelfInstruct.GENERATED,
                            SelfInstruct.KEPT,
                            SelfInstruct.GENERATION_MILLIS,
                            "filtered_near_copy");
            Map<String, float[]> sent = TensorCodec.toMap(u.getTensors());
            assertThat(sent.get("layer0.q_proj.lora_B")).isNotEqualTo(new float[64]);
            for (Map.Entry<String, float[]> e : local.entrySet()) {
                if (e.getKey().endsWith("lora_B")) {
                    // the trained private B: any 4 consecutive values must not occur in any record
                    byte[] window = littleEndian(e.getValue(), firstNonZero(e.getValue()), 4);
                    for (byte[] r : raw) {
                        assertThat(indexOf(r, window)).as(e.getKey()).isEqualTo(-1);
                    }
                }
            }
        }
    }

    private static int firstNonZero(float[] v) {
        for (int i = 0; i + 4 <= v.length; i++) {
            if (v[i] != 0 && v[i + 1] != 0 && v[i + 2] != 0 && v[i + 3] != 0) {
                return i;
            }
        }
        throw new AssertionError("the private adapter did not train");
    }

    private static byte[] littleEndian(float[] v, int from, int n) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(v[from + i]);
        }
        return b.array();
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static List<byte[]> records(EmbeddedKafka kafka) {
        var props = kafka.clientProperties();
        props.put("isolation.level", "read_committed");
        List<byte[]> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(
                        props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(Topics.ADAPTER_UPDATES, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (out.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                }
            }
            // anything else already there
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                out.add(r.value());
            }
        }
        return out;
    }
}
