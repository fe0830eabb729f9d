package io.fedstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AvroCodecTest {

    static Stream<AvroCodec<?>> codecs() {
        return Stream.of(
                AvroCodec.ADAPTER_UPDATE,
                AvroCodec.GLOBAL_MODEL,
                AvroCodec.REJECTED_UPDATE,
                AvroCodec.PROMPT_UPDATE,
                AvroCodec.GLOBAL_PROMPT,
                AvroCodec.UPDATE_CHUNK,
                AvroCodec.UPDATE_MANIFEST,
                AvroCodec.GLOBAL_CHUNK,
                AvroCodec.PRIVACY_LEDGER);
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void theNewestFrozenSchemaIsTheCurrentOne(AvroCodec<?> codec) {
        // Changing an .avsc without freezing it as avro-history/<Record>/v<N+1>.avsc fails here.
        assertThat(codec.history()).isNotEmpty();
        assertThat(
                        SchemaNormalization.parsingFingerprint64(
                                codec.history().get(codec.history().size() - 1)))
                .isEqualTo(SchemaNormalization.parsingFingerprint64(codec.schema()));
    }

    @ParameterizedTest
    @MethodSource("codecs")
    void everyEarlierSchemaCanBeReadWithTheCurrentOne(AvroCodec<?> codec) {
        for (var old : codec.history()) {
            assertThat(
                            SchemaCompatibility.checkReaderWriterCompatibility(codec.schema(), old)
                                    .getType())
                    .as("reading %s written with %s", codec.schema().getName(), old)
                    .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
        }
    }

    @Test
    void roundTripsAnUpdateThroughSingleObjectEncoding() {
        AdapterUpdate u =
                AdapterUpdate.newBuilder()
                        .setUpdateId("s1-0-1")
                        .setFederationId("f")
                        .setSiteId("s1")
                        .setBaseVersion(3)
                        .setNumExamples(12)
                        .setMetrics(Map.of("loss", 0.25))
                        .setTensors(
                                List.of(
                                        TensorCodec.float32(
                                                "a", new int[] {2}, new float[] {1.5f, -2f})))
                        .setCreatedAtMs(Instant.ofEpochMilli(123))
                        .build();

        byte[] bytes = AvroCodec.ADAPTER_UPDATE.encode(u);
        AdapterUpdate back = AvroCodec.ADAPTER_UPDATE.decode(bytes);

        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        assertThat(back).isEqualTo(u);
        assertThat(TensorCodec.toFloats(back.getTensors().get(0))).containsExactly(1.5f, -2f);
    }

    @Test
    void roundTripsPromptUpdatesAndGlobalPrompts() {
        var tokens =
                List.of(
                        io.fedstream.schemas.avro.PromptToken.newBuilder()
                                .setToken("review")
                                .setPosition(0)
                                .build(),
                        io.fedstream.schemas.avro.PromptToken.newBuilder()
                                .setToken("sentiment")
                                .setPosition(1)
                                .build());
        var update =
                io.fedstream.schemas.avro.PromptUpdate.newBuilder()
                        .setUpdateId("site-1/v0")
                        .setFederationId("imdb")
                        .setSiteId("site-1")
                        .setBaseVersion(0)
                        .setTokens(tokens)
                        .setAccuracy(0.75)
                        .setApiCalls(640)
                        .setNumExamples(32)
                        .setCreatedAtMs(Instant.ofEpochMilli(5))
                        .build();
        var global =
                io.fedstream.schemas.avro.GlobalPrompt.newBuilder()
                        .setFederationId("imdb")
                        .setVersion(1)
                        .setParentVersion(0)
                        .setTokens(tokens)
                        .setManifest(
                                io.fedstream.schemas.avro.PromptManifest.newBuilder()
                                        .setCloseReason(
                                                io.fedstream.schemas.avro.PromptCloseReason.QUORUM)
                                        .setRule("dbscan(minPts=2,eps=elbow)")
                                        .setContributions(List.of())
                                        .setSources(List.of("site-1", "site-2"))
                                        .setRoundOpenedAtMs(Instant.ofEpochMilli(1))
                                        .setRoundClosedAtMs(Instant.ofEpochMilli(2))
                                        .build())
                        .build();

        var updateBack = AvroCodec.PROMPT_UPDATE.decode(AvroCodec.PROMPT_UPDATE.encode(update));
        var globalBack = AvroCodec.GLOBAL_PROMPT.decode(AvroCodec.GLOBAL_PROMPT.encode(global));

        assertThat(updateBack).isEqualTo(update);
        assertThat(updateBack.getBaseAccuracy()).isEqualTo(-1.0); // the default
        assertThat(globalBack).isEqualTo(global);
        assertThatThrownBy(
                        () ->
                                AvroCodec.GLOBAL_PROMPT.decode(
                                        AvroCodec.PROMPT_UPDATE.encode(update)))
                .isInstanceOf(AvroCodec.UnknownSchemaException.class);
    }

    @Test
    void sortsDecodingFailuresByKind() {
        byte[] good =
                AvroCodec.REJECTED_UPDATE.encode(
                        RejectedUpdate.newBuilder()
                                .setSourceTopic("t")
                                .setSourcePartition(0)
                                .setSourceOffset(1)
                                .setReason(RejectReason.NOT_AVRO)
                                .setDetail("d")
                                .setRejectedAtMs(Instant.ofEpochMilli(0))
                                .build());

        assertThatThrownBy(
                        () -> AvroCodec.REJECTED_UPDATE.decode("plain text, not avro".getBytes()))
                .isInstanceOf(AvroCodec.NotAvroException.class);
        assertThatThrownBy(() -> AvroCodec.ADAPTER_UPDATE.decode(good))
                .isInstanceOf(AvroCodec.UnknownSchemaException.class);
        assertThatThrownBy(
                        () -> AvroCodec.REJECTED_UPDATE.decode(java.util.Arrays.copyOf(good, 12)))
                .isInstanceOf(AvroCodec.MalformedRecordException.class);
    }

    @Test
    void federationSpecsRoundTripThroughJsonAndInitialiseDeterministically() {
        FederationSpec spec =
                new FederationSpec(
                        "demo",
                        42,
                        List.of(TensorSpec.normal("A", 0.5, 4, 8), TensorSpec.zeros("B", 8, 4)));

        FederationSpec back = FederationSpec.fromJson(spec.toJson());
        float[] a = spec.initialValues().get("A");

        assertThat(back).isEqualTo(spec);
        assertThat(back.initialValues().get("A")).containsExactly(a);
        assertThat(spec.initialValues().get("B")).containsOnly(0f);
        assertThat(back.chunkElements()).isEqualTo(FederationSpec.DEFAULT_CHUNK_ELEMENTS);
        assertThat(FederationSpec.fromJson(spec.withChunkElements(7).toJson()).chunkElements())
                .isEqualTo(7);
        assertThatThrownBy(() -> spec.withChunkElements(0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(a).hasSize(32).doesNotContain(0f);
        double mean = 0;
        for (float v : a) {
            mean += v / a.length;
        }
        assertThat(Math.abs(mean)).isLessThan(0.5);
        assertThat(new FederationSpec("demo", 43, spec.tensors()).initialValues().get("A"))
                .isNotEqualTo(a);
    }

    @Test
    void oneTopicCarriesSeveralRecordTypesTellingThemApartByFingerprint() {
        byte[] update =
                AvroCodec.ADAPTER_UPDATE.encode(
                        AdapterUpdate.newBuilder()
                                .setUpdateId("u")
                                .setFederationId("f")
                                .setSiteId("s")
                                .setBaseVersion(0)
                                .setNumExamples(1)
                                .setTensors(List.of())
                                .setCreatedAtMs(Instant.ofEpochMilli(0))
                                .build());

        assertThat(AvroCodec.ADAPTER_UPDATE.accepts(update)).isTrue();
        assertThat(AvroCodec.UPDATE_CHUNK.accepts(update)).isFalse();
        assertThat(AvroCodec.UPDATE_MANIFEST.accepts(update)).isFalse();
        assertThat(AvroCodec.UPDATE_CHUNK.accepts("not avro at all".getBytes())).isFalse();
    }

    @Test
    void digestCoversNamesShapesAndData() {
        var a = List.of(TensorCodec.float32("a", new int[] {2}, new float[] {1, 2}));
        var renamed = List.of(TensorCodec.float32("b", new int[] {2}, new float[] {1, 2}));
        var reshaped = List.of(TensorCodec.float32("a", new int[] {1, 2}, new float[] {1, 2}));
        var changed = List.of(TensorCodec.float32("a", new int[] {2}, new float[] {1, 3}));

        assertThat(TensorCodec.sha256(a)).hasSize(64).isEqualTo(TensorCodec.sha256(List.copyOf(a)));
        assertThat(
                        List.of(
                                TensorCodec.sha256(renamed),
                                TensorCodec.sha256(reshaped),
                                TensorCodec.sha256(changed)))
                .doesNotContain(TensorCodec.sha256(a))
                .doesNotHaveDuplicates();
    }
}
