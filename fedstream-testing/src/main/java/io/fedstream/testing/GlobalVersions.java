package io.fedstream.testing;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Manifest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Test helper: publishes a global version as the job does, for worker tests without a job. */
public final class GlobalVersions {
    private GlobalVersions() {}

    /**
     * Version {@code version} of {@code spec} with {@code values}: its chunks, then its manifest.
     */
    public static void publish(
            EmbeddedKafka kafka, FederationSpec spec, long version, Map<String, float[]> values)
            throws Exception {
        GlobalModelAssembler.Chunked chunked =
                GlobalModelAssembler.chunk(model(spec.id(), spec, version, values), spec.layout());
        List<byte[]> records = new ArrayList<>();
        chunked.chunks().forEach(c -> records.add(AvroCodec.GLOBAL_CHUNK.encode(c)));
        records.add(AvroCodec.GLOBAL_MODEL.encode(chunked.manifest()));
        send(kafka, spec.id(), records);
    }

    /**
     * Version {@code version} of a federation with {@code values}, inline, with no contributions.
     */
    public static GlobalModel model(
            String federationId, FederationSpec spec, long version, Map<String, float[]> values) {
        GlobalModel g =
                GlobalModel.newBuilder()
                        .setFederationId(federationId)
                        .setVersion(version)
                        .setParentVersion(version - 1)
                        .setTensors(TensorCodec.fromMap(spec, values))
                        .setManifest(
                                Manifest.newBuilder()
                                        .setCloseReason(CloseReason.QUORUM)
                                        .setRule("test")
                                        .setContributions(List.of())
                                        .setTotalWeight(0)
                                        .setRoundOpenedAtMs(Instant.EPOCH)
                                        .setRoundClosedAtMs(Instant.EPOCH)
                                        .setTensorsSha256("")
                                        .build())
                        .build();
        g.getManifest().setTensorsSha256(TensorCodec.sha256(g.getTensors()));
        return g;
    }

    /** Sends encoded records to the global-models topic, keyed by the federation, in order. */
    public static void send(EmbeddedKafka kafka, String federationId, List<byte[]> records)
            throws Exception {
        try (KafkaProducer<byte[], byte[]> p =
                new KafkaProducer<>(
                        kafka.clientProperties(),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            for (byte[] r : records) {
                p.send(
                                new ProducerRecord<>(
                                        Topics.GLOBAL_MODELS,
                                        federationId.getBytes(StandardCharsets.UTF_8),
                                        r))
                        .get();
            }
        }
    }
}
