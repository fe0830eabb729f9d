package io.fedstream.job;

import static io.fedstream.job.Fixtures.constantDelta;
import static io.fedstream.job.Fixtures.update;
import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.job.adapter.LatestVersionLookup;
import io.fedstream.job.adapter.VersionManifests;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.testing.DeliveryCheck;
import io.fedstream.testing.DeliveryCheck.Form;
import io.fedstream.testing.DeliveryCheck.Kind;
import io.fedstream.testing.DeliveryCheck.Position;
import io.fedstream.testing.DeliveryCheck.PublishedChunk;
import io.fedstream.testing.DeliveryCheck.UpdateRecord;
import io.fedstream.testing.DeliveryCheck.Violation;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The delivery checker on a small clean chunked log (two federations; chunked updates, whole
 * updates and a hostile record; versions published as chunks and manifests) and on copies with one
 * promise broken each; and on the log the job's own operators write for a run with a lost chunk, a
 * resend, a replay and a bogus chunk copy.
 */
class DeliveryCheckTest {
    static final String TOPIC = "adapter-updates";

    /** 8 parameters in chunks of 3: three chunks per update and per version. */
    static final FederationSpec SPEC = RoundCoordinatorTest.SPEC;

    /*
     * The updates topic. Partition 0 (federation f): u1 chunked at 0..3 (manifest at 3), u2 whole
     * at 4, u3 chunked at 5..8 (manifest at 8), a hostile record at 9. Partition 1 (federation
     * g): w1 and w2 whole at 0 and 1.
     */
    final List<UpdateRecord> records =
            new ArrayList<>(
                    List.of(
                            chunk(0, 0, "f", "u1"),
                            chunk(0, 1, "f", "u1"),
                            chunk(0, 2, "f", "u1"),
                            record(0, 3, Form.MANIFEST, "f", "u1"),
                            record(0, 4, Form.WHOLE, "f", "u2"),
                            chunk(0, 5, "f", "u3"),
                            chunk(0, 6, "f", "u3"),
                            chunk(0, 7, "f", "u3"),
                            record(0, 8, Form.MANIFEST, "f", "u3"),
                            record(0, 9, Form.UNREADABLE, null, null),
                            record(1, 0, Form.WHOLE, "g", "w1"),
                            record(1, 1, Form.WHOLE, "g", "w2")));

    final List<GlobalModel> versions = new ArrayList<>();
    final List<PublishedChunk> chunks = new ArrayList<>();
    final List<RejectedUpdate> dead = new ArrayList<>(List.of(deadLetter(0, 9, null, null)));

    DeliveryCheckTest() {
        publish("f", 0);
        publish("g", 0);
        publish("f", 1, "u1@0:3", "u2@0:4");
        publish("g", 1, "w1@1:0", "w2@1:1");
        publish("f", 2, "u3@0:8");
    }

    @Test
    void aCleanChunkedLogHasNoViolations() {
        DeliveryCheck.Report report = check();

        assertThat(report.violations()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.versions()).isEqualTo(5);
        assertThat(report.updateRecords()).isEqualTo(6);
        assertThat(report.chunkRecords()).isEqualTo(6);
        assertThat(report.deadLetters()).isEqualTo(1);
    }

    @Test
    void recordsOfTheTopicAreToldApartByTheirSchema() {
        AdapterUpdate u = update("u9", 0, 10, constantDelta(1f)).build();
        UpdateChunking.Chunked c = UpdateChunking.split(u, SPEC.layout());
        Position p = new Position(0, 1);

        assertThat(UpdateRecord.of(p, AvroCodec.ADAPTER_UPDATE.encode(u)))
                .isEqualTo(new UpdateRecord(p, Form.WHOLE, "f", "site-1", "u9"));
        assertThat(UpdateRecord.of(p, AvroCodec.UPDATE_MANIFEST.encode(c.manifest())))
                .isEqualTo(new UpdateRecord(p, Form.MANIFEST, "f", "site-1", "u9"));
        assertThat(UpdateRecord.of(p, AvroCodec.UPDATE_CHUNK.encode(c.chunks().get(1))))
                .isEqualTo(new UpdateRecord(p, Form.CHUNK, "f", "site-1", "u9"));
        assertThat(UpdateRecord.of(p, "hostile".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(new UpdateRecord(p, Form.UNREADABLE, null, null, null));
    }

    @Test
    void aVersionPublishedTwiceIsFlagged() {
        versions.add(versions.get(2));

        assertThat(kinds()).contains(Kind.PUBLISHED_TWICE);
    }

    @Test
    void aChunkPublishedTwiceIsFlagged() {
        chunks.add(chunks.get(4));

        assertThat(violations())
                .singleElement()
                .satisfies(
                        v -> {
                            assertThat(v.kind()).isEqualTo(Kind.PUBLISHED_TWICE);
                            assertThat(v.detail()).startsWith("chunk ").endsWith(" times");
                        });
    }

    @Test
    void aVersionWithAMissingOrWrongChunkIsFlagged() {
        PublishedChunk lost = chunks.remove(chunks.size() - 1); // the last chunk of f v2
        assertThat(violations())
                .containsExactly(
                        new Violation(Kind.INCOMPLETE_VERSION, "f v2: chunk(s) [2] not published"));

        chunks.add(
                new PublishedChunk(
                        lost.federationId(), lost.version(), lost.chunkIndex(), "0".repeat(64)));
        assertThat(violations())
                .containsExactly(
                        new Violation(
                                Kind.INCOMPLETE_VERSION,
                                "f v2: chunk(s) [2] do not match the manifest's digests"));
    }

    @Test
    void aManifestWhoseDigestIsNotThatOfItsChunksIsFlagged() {
        versions.get(4).getManifest().setTensorsSha256("0".repeat(64));

        assertThat(violations())
                .containsExactly(
                        new Violation(
                                Kind.INCOMPLETE_VERSION,
                                "f v2: its version digest is not that of its chunk digests"));
    }

    @Test
    void chunksOfAVersionWithoutAManifestBeforeTheNewestAreFlagged() {
        versions.remove(2); // f v1's manifest never came out, its chunks did
        records.removeIf(r -> "u1".equals(r.updateId()) || "u2".equals(r.updateId()));

        assertThat(violations())
                .containsExactlyInAnyOrder(
                        new Violation(Kind.BROKEN_CHAIN, "f v2 follows v0 on the log"),
                        new Violation(
                                Kind.INCOMPLETE_VERSION,
                                "f v1: 3 chunk(s) published, but no manifest, while v2 has"
                                        + " one"));
    }

    @Test
    void chunksOfTheNextVersionBeforeItsManifestAreInFlight() {
        versions.remove(4); // f v2's chunks are out, its manifest not yet
        records.removeIf(r -> "u3".equals(r.updateId()));

        assertThat(violations()).isEmpty();
    }

    @Test
    void aSkippedVersionIsFlagged() {
        publish("g", 3, "w3@1:2");
        records.add(record(1, 2, Form.WHOLE, "g", "w3"));

        assertThat(violations())
                .containsExactly(new Violation(Kind.BROKEN_CHAIN, "g v3 follows v1 on the log"));
    }

    @Test
    void aVersionNamingTheWrongParentIsFlagged() {
        publish("g", 2, "w3@1:2");
        versions.get(versions.size() - 1).setParentVersion(0);
        records.add(record(1, 2, Form.WHOLE, "g", "w3"));

        assertThat(violations())
                .containsExactly(new Violation(Kind.BROKEN_CHAIN, "g v2 names parent v0"));
    }

    @Test
    void versionsOutOfOrderOnTheLogAreFlagged() {
        versions.add(2, versions.remove(4)); // f v2 before f v1

        assertThat(kinds()).containsOnly(Kind.BROKEN_CHAIN);
    }

    @Test
    void anUpdateManifestInNoVersionIsFlagged() {
        records.add(record(1, 7, Form.MANIFEST, "g", "w7"));

        assertThat(violations())
                .containsExactly(
                        new Violation(
                                Kind.IN_NO_MANIFEST,
                                "update record 1@7 is in no manifest and was not dead-lettered"));
    }

    @Test
    void chunksOfAnUpdateThatIsNeitherCountedNorDeadLetteredAreFlagged() {
        records.add(chunk(1, 5, "g", "w9"));
        records.add(chunk(1, 6, "g", "w9"));

        assertThat(violations())
                .extracting(Violation::kind)
                .containsExactly(Kind.IN_NO_MANIFEST, Kind.IN_NO_MANIFEST);
        assertThat(violations().get(0).detail())
                .isEqualTo(
                        "chunk record 1@5 of update g/s:w9: the update is in no manifest and no dead"
                                + " letter names it");
    }

    @Test
    void chunksOfAnUpdateRejectedAtItsManifestAreAccountedFor() {
        records.add(chunk(1, 5, "g", "w9"));
        records.add(chunk(1, 6, "g", "w9"));
        records.add(record(1, 7, Form.MANIFEST, "g", "w9"));
        dead.add(deadLetter(1, 7, "g", "w9")); // e.g. MISSING_CHUNK at the manifest's offset

        assertThat(violations()).isEmpty();
    }

    @Test
    void strayChunkCopiesUnderAnAcceptedUpdatesIdAreNotFlagged() {
        records.add(chunk(0, 10, "f", "u1")); // a stray copy not dead-lettered: not required
        records.add(chunk(0, 11, "f", "u3"));
        dead.add(deadLetter(0, 11, "f", "u3")); // e.g. NON_FINITE, after u3 was accepted

        assertThat(violations()).isEmpty();
    }

    @Test
    void aChunkDeadLetteredTwiceIsFlagged() {
        records.add(chunk(0, 10, "f", "u7"));
        dead.add(deadLetter(0, 10, "f", "u7"));
        dead.add(deadLetter(0, 10, "f", "u7"));

        assertThat(violations())
                .containsExactly(
                        new Violation(
                                Kind.DEAD_LETTERED_TWICE,
                                "chunk record 0@10 dead-lettered 2 times"));
    }

    @Test
    void aVersionCountingAChunkRecordOrAnotherUpdatesRecordIsFlagged() {
        publish("g", 2, "w3@0:1"); // 0:1 is a chunk of u1
        publish("g", 3, "w4@0:4"); // 0:4 is f's u2

        assertThat(violations())
                .filteredOn(v -> v.kind() == Kind.WRONG_RECORD)
                .extracting(Violation::detail)
                .containsExactly(
                        "g v2 counts update g/s:w3 at 0@1, which is a chunk record of f/s:u1",
                        "g v3 counts update g/s:w4 at 0@4, which holds f/s:u2");
    }

    @Test
    void anUpdateInTwoVersionsIsFlagged() {
        publish("f", 3, "u2@0:4");

        assertThat(kinds()).containsExactly(Kind.IN_TWO_MANIFESTS);
    }

    @Test
    void theSameUpdateIdCountedFromTwoRecordsIsFlagged() {
        records.add(record(0, 12, Form.MANIFEST, "f", "u1")); // a resend that was not caught
        publish("f", 3, "u1@0:12");

        assertThat(violations())
                .singleElement()
                .satisfies(
                        v -> {
                            assertThat(v.kind()).isEqualTo(Kind.IN_TWO_MANIFESTS);
                            assertThat(v.detail()).startsWith("update f/s:u1");
                        });
    }

    @Test
    void deadLetteringTwiceOrAfterCountingIsFlagged() {
        dead.add(deadLetter(0, 9, null, null));
        dead.add(deadLetter(0, 3, "f", "u1"));

        assertThat(kinds())
                .containsExactlyInAnyOrder(
                        Kind.DEAD_LETTERED_TWICE, Kind.COUNTED_AND_DEAD_LETTERED);
    }

    @Test
    void aVersionNamingARecordThatIsNotOnTheTopicIsFlagged() {
        records.removeIf(r -> r.position().equals(new Position(0, 8)));

        assertThat(kinds()).containsExactly(Kind.NOT_ON_TOPIC);
    }

    @Test
    void deadLettersOfAnotherTopicAreIgnored() {
        RejectedUpdate other = deadLetter(0, 0, "f", "u1");
        other.setSourceTopic("other-topic");
        dead.add(other);

        assertThat(violations()).isEmpty();
    }

    /**
     * The log the job's operators write: a lost chunk (the update is rejected at its manifest's
     * offset, its resend accepted, the lost chunk arriving late dead-lettered), a replay of a whole
     * update, a bogus chunk copy under an accepted id, a hostile record, and an update abandoned
     * after its first chunk (rejected at that chunk's offset).
     */
    @Test
    void theLogOfTheJobsOperatorsPassesAndLosingADeadLetterIsCaught() throws Exception {
        try (Pipeline p =
                new Pipeline(
                        SPEC,
                        Fixtures.policy(2, 1, 5),
                        LatestVersionLookup.none(),
                        Duration.ofSeconds(30),
                        null)) {
            p.setTime(0);
            p.start();
            p.sendChunked(u("u1", 1f));
            p.sendWhole(u("u2", 2f));
            UpdateChunking.Chunked lost = UpdateChunking.split(u("u3", 3f), SPEC.layout());
            p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(lost.chunks().get(0))));
            p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(lost.chunks().get(2))));
            p.send(p.raw(AvroCodec.UPDATE_MANIFEST.encode(lost.manifest())));
            p.setTime(30_000); // u3: MISSING_CHUNK
            p.sendChunked(u("u3", 3f)); // the resend
            p.sendChunked(u("u4", 4f));
            p.sendWhole(u("u2", 2f)); // a replay: DUPLICATE_UPDATE
            UpdateChunk bogus = UpdateChunk.newBuilder(lost.chunks().get(1)).build();
            bogus.setUpdateId("u4");
            bogus.setSiteId("s-u4"); // under u4's identity: its site and update id
            p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(bogus))); // DUPLICATE_UPDATE (u4 is in)
            p.send(p.raw("hostile".getBytes(StandardCharsets.UTF_8)));
            p.send(
                    p.raw(
                            AvroCodec.UPDATE_CHUNK.encode(
                                    lost.chunks().get(1)))); // late: DUPLICATE_UPDATE
            UpdateChunking.Chunked abandoned = UpdateChunking.split(u("u5", 5f), SPEC.layout());
            p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(abandoned.chunks().get(0))));
            p.setTime(60_000); // u5: MISSING_CHUNK at its chunk, no manifest

            assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
            assertThat(p.rejections)
                    .extracting(RejectedUpdate::getReason)
                    .containsExactlyInAnyOrder(
                            RejectReason.MISSING_CHUNK,
                            RejectReason.DUPLICATE_UPDATE, // the replay
                            RejectReason.DUPLICATE_UPDATE, // the bogus copy
                            RejectReason.NOT_AVRO,
                            RejectReason.DUPLICATE_UPDATE, // the late copy
                            RejectReason.MISSING_CHUNK);
            List<GlobalModel> manifests = new ArrayList<>();
            List<PublishedChunk> published = new ArrayList<>();
            for (byte[] value : p.published) {
                if (AvroCodec.GLOBAL_CHUNK.accepts(value)) {
                    published.add(PublishedChunk.of(AvroCodec.GLOBAL_CHUNK.decode(value)));
                } else {
                    manifests.add(AvroCodec.GLOBAL_MODEL.decode(value));
                }
            }
            List<UpdateRecord> topic =
                    p.sent.stream()
                            .map(r -> UpdateRecord.of(new Position(r.partition, r.offset), r.value))
                            .toList();

            DeliveryCheck.Report report =
                    DeliveryCheck.check(manifests, published, topic, p.rejections, TOPIC);

            assertThat(report.violations()).isEmpty();
            assertThat(report.versions()).isEqualTo(3);
            assertThat(report.updateRecords()).isEqualTo(7); // 5 manifests/wholes, replay, hostile
            // u1, u3's resend and u4 in full; two of u3's first try, bogus, late, u5's first
            assertThat(report.chunkRecords()).isEqualTo(3 * 3 + 2 + 1 + 1 + 1);
            List<RejectedUpdate> withoutTheFirstRejection = new ArrayList<>(p.rejections);
            withoutTheFirstRejection.remove(0);
            assertThat(
                            DeliveryCheck.check(
                                            manifests,
                                            published,
                                            topic,
                                            withoutTheFirstRejection,
                                            TOPIC)
                                    .violations())
                    .extracting(Violation::kind)
                    .containsExactly(Kind.IN_NO_MANIFEST);
        }
    }

    private static AdapterUpdate u(String id, float value) {
        return update(id, 0, 10, constantDelta(value)).setSiteId("s-" + id).build();
    }

    private DeliveryCheck.Report check() {
        return DeliveryCheck.check(versions, chunks, records, dead, TOPIC);
    }

    private List<Violation> violations() {
        return check().violations();
    }

    private List<Kind> kinds() {
        return violations().stream().map(Violation::kind).toList();
    }

    /**
     * Publishes a version, chunks then manifest, with contributions {@code id@partition:offset}.
     */
    private void publish(String fed, long v, String... contributions) {
        GlobalModelAssembler.Chunked c = chunked(fed, v, Arrays.asList(contributions));
        c.chunks().forEach(x -> chunks.add(PublishedChunk.of(x)));
        versions.add(c.manifest());
    }

    /** A version of {@link #SPEC} as the job publishes it, every element equal to {@code v}. */
    static GlobalModelAssembler.Chunked chunked(String fed, long v, List<String> contributions) {
        List<Contribution> cs = new ArrayList<>();
        for (String c : contributions) {
            String id = c.substring(0, c.indexOf('@'));
            String[] where = c.substring(c.indexOf('@') + 1).split(":");
            cs.add(
                    Contribution.newBuilder()
                            .setUpdateId(id)
                            .setSiteId("s")
                            .setBaseVersion(Math.max(0, v - 1))
                            .setStaleness(0)
                            .setNumExamples(1)
                            .setWeight(1)
                            .setSourcePartition(Integer.parseInt(where[0]))
                            .setSourceOffset(Long.parseLong(where[1]))
                            .build());
        }
        GlobalModel manifest =
                VersionManifests.manifest(
                        SPEC,
                        v,
                        v - 1,
                        v == 0 ? CloseReason.GENESIS : CloseReason.QUORUM,
                        "fedavg",
                        Map.of(),
                        cs,
                        cs.size(),
                        0,
                        0);
        manifest.setFederationId(fed);
        ChunkLayout layout = SPEC.layout();
        float[] flat = new float[(int) layout.totalElements()];
        Arrays.fill(flat, v);
        manifest.setTensors(layout.tensors(flat));
        return GlobalModelAssembler.chunk(manifest, layout);
    }

    /** A record of site "s", the site {@link #chunked} names in every contribution. */
    static UpdateRecord record(int partition, long offset, Form form, String fed, String id) {
        return new UpdateRecord(
                new Position(partition, offset), form, fed, fed == null ? null : "s", id);
    }

    static UpdateRecord chunk(int partition, long offset, String fed, String id) {
        return record(partition, offset, Form.CHUNK, fed, id);
    }

    static RejectedUpdate deadLetter(int partition, long offset, String fed, String id) {
        return RejectedUpdate.newBuilder()
                .setSourceTopic(TOPIC)
                .setSourcePartition(partition)
                .setSourceOffset(offset)
                .setReason(fed == null ? RejectReason.NOT_AVRO : RejectReason.MISSING_CHUNK)
                .setDetail("rejected")
                .setFederationId(fed)
                .setSiteId(fed == null ? null : "s")
                .setUpdateId(id)
                .setRejectedAtMs(Instant.EPOCH)
                .build();
    }
}
