package io.fedstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.BlockQuantization;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.UpdateEncoding;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.DType;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.testing.GlobalVersions;
import io.fedstream.testing.JoinedUpdates;
import io.fedstream.testing.TestTopics;
import io.fedstream.worker.mlp.LoraMlpConfig;
import io.fedstream.worker.mlp.MlpSiteTrainer;
import io.fedstream.worker.mlp.SiteData;
import io.fedstream.worker.mlp.SyntheticTask;
import io.fedstream.worker.mlp.TrainConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The worker's Kafka loop with real training against a real broker; the test plays the job. */
class WorkerIT {
    static EmbeddedKafka kafka;
    static final LoraMlpConfig MODEL = LoraMlpConfig.defaults();
    static SiteData site;

    /** Elements per chunk of the published versions, which the worker's updates must follow. */
    static final int CHUNK = 100;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.builder().start();
        kafka.createTopic(Topics.ADAPTER_UPDATES, 1, Map.of());
        kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
        site = SyntheticTask.forModel(MODEL, 3).sites(1, 300, 1.0, 0.2, 20).get(0);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    private static MlpSiteTrainer trainer() {
        return new MlpSiteTrainer(MODEL, site, TrainConfig.defaults(5));
    }

    private static void publish(
            String federation, FederationSpec spec, long version, Map<String, float[]> values)
            throws Exception {
        GlobalModel g = GlobalVersions.model(federation, spec, version, values);
        List<byte[]> records = new ArrayList<>();
        if (version == 0) {
            records.add(AvroCodec.GLOBAL_MODEL.encode(g)); // the old inline form stays readable
        } else {
            // chunked, manifest first: a reader must wait for the chunks
            GlobalModelAssembler.Chunked c =
                    GlobalModelAssembler.chunk(g, spec.withChunkElements(CHUNK).layout());
            records.add(AvroCodec.GLOBAL_MODEL.encode(c.manifest()));
            c.chunks().forEach(x -> records.add(AvroCodec.GLOBAL_CHUNK.encode(x)));
        }
        GlobalVersions.send(kafka, federation, records);
    }

    private static List<AdapterUpdate> updates(int atLeast) {
        JoinedUpdates joined = new JoinedUpdates();
        List<AdapterUpdate> out =
                TestTopics.readUntil(
                        kafka,
                        Topics.ADAPTER_UPDATES,
                        v ->
                                joined.accept(v).stream()
                                        .filter(u -> u.getFederationId().equals("fed"))
                                        .toList(),
                        u -> u.size() >= atLeast);
        assertThat(joined.manifests())
                .allSatisfy(m -> assertThat(m.getChunkElements()).isEqualTo(CHUNK));
        return out;
    }

    @Test
    void aSiteWithAnNf4EncodingSendsValidBlockwiseChunks() throws Exception {
        FederationSpec spec;
        try (MlpSiteTrainer t = trainer()) {
            spec = t.federationSpec("enc", 1);
        }
        publish("enc", spec, 1, spec.initialValues());
        WorkerConfig config =
                WorkerConfig.defaults(kafka.bootstrapServers(), "enc", "site-e").withMaxUpdates(1);
        try (MlpSiteTrainer t = trainer();
                Worker w =
                        new Worker(config, t, WorkerListener.NONE, 1)
                                .withEncoding(UpdateEncoding.parse("nf4:64"))) {
            w.run(); // returns after one update
        }
        ChunkLayout layout = spec.withChunkElements(CHUNK).layout();
        List<UpdateChunk> chunks =
                TestTopics.readUntil(
                        kafka,
                        Topics.ADAPTER_UPDATES,
                        v ->
                                AvroCodec.UPDATE_CHUNK.accepts(v)
                                        ? List.of(AvroCodec.UPDATE_CHUNK.decode(v)).stream()
                                                .filter(c -> c.getFederationId().equals("enc"))
                                                .toList()
                                        : List.of(),
                        c -> c.size() >= layout.chunkCount());
        assertThat(chunks).hasSize(layout.chunkCount());
        for (UpdateChunk c : chunks) {
            byte[] data = new byte[c.getData().remaining()];
            c.getData().duplicate().get(data);
            assertThat(c.getDtype()).isEqualTo(DType.NF4);
            assertThat(
                            BlockQuantization.problem(
                                    data, DType.NF4, layout.chunkLength(c.getChunkIndex()), 64))
                    .isNull();
            assertThat(data.length).isLessThan(layout.chunkLength(c.getChunkIndex()));
        }
    }

    @Test
    void trainsFromTheNewestVersionOncePerVersionWithStableIds() throws Exception {
        // arrange: two versions exist before the worker starts, and one of another federation
        FederationSpec spec;
        try (MlpSiteTrainer t = trainer()) {
            spec = t.federationSpec("fed", 1);
        }
        Map<String, float[]> v0 = spec.initialValues();
        publish("fed", spec, 0, v0);
        publish("fed", spec, 1, v0);
        for (int v = 0; v < 2 * Worker.TAIL_WINDOW + 8; v++) {
            publish(
                    "other", spec, v,
                    v0); // the worker must look further back than its first window
        }
        WorkerConfig config = WorkerConfig.defaults(kafka.bootstrapServers(), "fed", "site-a");
        List<Long> evaluated = new CopyOnWriteArrayList<>();
        WorkerListener listener =
                new WorkerListener() {
                    @Override
                    public void onGlobalVersion(String s, GlobalModel m, SiteTrainer.EvalResult e) {
                        evaluated.add(m.getVersion());
                    }
                };

        // act: a first worker answers version 1, then version 2; a restarted one answers version 2
        // again
        try (MlpSiteTrainer t = trainer();
                Worker w = new Worker(config, t, listener, 1)) {
            assertThat(w.ready()).as("not ready before it has read global-models").isFalse();
            Thread thread = new Thread(w);
            thread.start();
            assertThat(updates(1)).hasSize(1);
            assertThat(w.ready()).as("ready once caught up with global-models").isTrue();
            publish("fed", spec, 2, v0);
            assertThat(updates(2)).hasSize(2);
            Thread.sleep(500); // no new version: the worker must not train again
            w.close();
            assertThat(w.ready()).as("not ready once stopped").isFalse();
        }
        try (MlpSiteTrainer t = trainer();
                Worker again = new Worker(config.withMaxUpdates(1), t, WorkerListener.NONE, 1)) {
            again.run(); // returns after one update
        }
        List<AdapterUpdate> sent = updates(3);

        // assert
        assertThat(sent)
                .extracting(AdapterUpdate::getUpdateId)
                .containsExactly("site-a/v1", "site-a/v2", "site-a/v2");
        assertThat(sent).extracting(AdapterUpdate::getBaseVersion).containsExactly(1L, 2L, 2L);
        assertThat(sent)
                .allSatisfy(
                        u -> {
                            assertThat(u.getFederationId()).isEqualTo("fed");
                            assertThat(u.getNumExamples()).isEqualTo(site.train().size());
                            assertThat(u.getTensors())
                                    .extracting(x -> x.getName())
                                    .containsExactlyElementsOf(
                                            spec.tensors().stream().map(s -> s.name()).toList());
                            assertThat(u.getMetrics()).containsKeys("train_seconds");
                        });
        assertThat(evaluated).contains(1L, 2L).doesNotContain(0L, 7L, 39L);
        float[] delta = TensorCodec.toMap(sent.get(0).getTensors()).get("l0.lora_B");
        assertThat(delta).as("training moved the adapter").isNotEqualTo(new float[delta.length]);
    }
}
