package io.fedstream.job;

import static io.fedstream.job.Fixtures.constantDelta;
import static io.fedstream.job.Fixtures.update;
import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.job.adapter.LatestVersionLookup;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * The round coordinator's decisions and their application by the chunk aggregators and the version
 * publisher, in operator harnesses ({@link Pipeline}). The federation's 8 parameters are cut into
 * chunks of 3 (3, 3, 2), so chunks span tensor boundaries.
 */
class RoundCoordinatorTest {
    static final FederationSpec SPEC = Fixtures.SPEC.withChunkElements(3);

    @AutoClose private final OpenPipelines open = new OpenPipelines();

    private Pipeline pipeline(RoundPolicy policy) throws Exception {
        return pipeline(policy, LatestVersionLookup.none(), null);
    }

    private Pipeline pipeline(
            RoundPolicy policy, LatestVersionLookup lookup, Pipeline.Snapshot restore)
            throws Exception {
        Pipeline p = new Pipeline(SPEC, policy, lookup, Duration.ofSeconds(30), restore);
        return open.add(p);
    }

    private static AdapterUpdate u(String id, String site, long base, long examples, float v) {
        return update(id, base, examples, constantDelta(v)).setSiteId(site).build();
    }

    private static AdapterUpdate u(String id, long base, long examples, float[][] delta) {
        return update(id, base, examples, delta).setSiteId("s-" + id).build();
    }

    private static List<RejectReason> reasons(Pipeline p) {
        return p.rejections.stream().map(RejectedUpdate::getReason).toList();
    }

    /** parent + η Σ wᵢΔᵢ / Σ wᵢ, summed in float64 in the given order, rounded once. */
    static float[] recompute(
            float[] parent, List<float[]> deltas, List<Double> weights, double eta) {
        double[] s = new double[parent.length];
        double total = 0;
        for (int j = 0; j < deltas.size(); j++) {
            for (int i = 0; i < s.length; i++) {
                s[i] += weights.get(j) * (double) deltas.get(j)[i];
            }
            total += weights.get(j);
        }
        float[] out = new float[parent.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (parent[i] + eta / total * s[i]);
        }
        return out;
    }

    static float[] flat(GlobalModel g) {
        return SPEC.layout().flatten(g.getTensors());
    }

    static float[] flat(float[][] delta) {
        return SPEC.layout().flatten(delta);
    }

    @Test
    void startsAFederationAtVersionZeroFromItsSpecInChunks() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(3, 1, 5));

        p.start();

        assertThat(p.versions).hasSize(1);
        GlobalModel v0 = p.versions.get(0);
        assertThat(v0.getVersion()).isZero();
        assertThat(v0.getParentVersion()).isEqualTo(-1);
        assertThat(v0.getManifest().getCloseReason()).isEqualTo(CloseReason.GENESIS);
        assertThat(v0.getChunkElements()).isEqualTo(3);
        assertThat(v0.getChunkSha256()).hasSize(3);
        assertThat(TensorCodec.toMap(v0.getTensors()).get("a"))
                .containsExactly(SPEC.initialValues().get("a"));
        assertThat(GlobalModelAssembler.digest(v0)).isEqualTo(v0.getManifest().getTensorsSha256());
    }

    @Test
    void decidesMembershipOnceAndSendsTheSameDecisionsToEveryChunk() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(2, 1, 5));
        p.start();

        p.sendChunked(u("u1", "s1", 0, 10, 1f));
        p.sendWhole(u("u2", "s2", 0, 30, 2f));

        List<Decision> members =
                p.decisions.stream().filter(d -> d.type == Decision.MEMBER).toList();
        List<Decision> closes = p.decisions.stream().filter(d -> d.type == Decision.CLOSE).toList();
        assertThat(members).hasSize(6);
        assertThat(members)
                .extracting(d -> d.chunkIndex)
                .containsExactlyInAnyOrder(0, 1, 2, 0, 1, 2);
        assertThat(members.stream().filter(d -> d.updateId.equals("u2")))
                .allSatisfy(d -> assertThat(d.weight).isEqualTo(30.0));
        assertThat(closes).hasSize(3);
        assertThat(closes)
                .allSatisfy(
                        d -> {
                            assertThat(d.version).isEqualTo(1);
                            assertThat(d.members)
                                    .containsExactly(
                                            UpdateKey.of("s1", "u1"), UpdateKey.of("s2", "u2"));
                            assertThat(d.totalWeight).isEqualTo(40.0);
                        });
    }

    @Test
    void closesARoundAtQuorumWithTheSampleWeightedMean() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(3, 1, 5));
        p.start();

        p.sendChunked(u("u1", "s1", 0, 10, 1f));
        p.sendWhole(u("u2", "s2", 0, 30, 2f));
        assertThat(p.versions).hasSize(1);
        p.sendChunked(u("u3", "s3", 0, 60, -1f));

        assertThat(p.versions).hasSize(2);
        GlobalModel v1 = p.versions.get(1);
        assertThat(v1.getVersion()).isEqualTo(1);
        assertThat(v1.getParentVersion()).isEqualTo(0);
        assertThat(v1.getManifest().getCloseReason()).isEqualTo(CloseReason.QUORUM);
        assertThat(v1.getManifest().getContributions())
                .extracting(Contribution::getUpdateId)
                .containsExactly("u1", "u2", "u3");
        assertThat(v1.getManifest().getTotalWeight()).isEqualTo(100.0);
        // mean delta = (10*1 + 30*2 + 60*-1) / 100 = 0.1
        float[] a0 = SPEC.initialValues().get("a");
        float[] a1 = TensorCodec.toMap(v1.getTensors()).get("a");
        for (int i = 0; i < a0.length; i++) {
            assertThat(a1[i]).isEqualTo((float) (a0[i] + 0.1));
        }
        assertThat(TensorCodec.toMap(v1.getTensors()).get("b"))
                .containsExactly((float) 0.1, (float) 0.1);
    }

    @Test
    void closesAtTheDeadlineWithWhatItHas() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(3, 1, 5));
        p.setTime(1_000);
        p.start();
        p.sendChunked(u("u1", "s1", 0, 10, 1f));

        p.setTime(10_999);
        assertThat(p.versions).hasSize(1);
        p.setTime(11_000);

        GlobalModel v1 = p.versions.get(1);
        assertThat(v1.getManifest().getCloseReason()).isEqualTo(CloseReason.DEADLINE);
        assertThat(v1.getManifest().getContributions()).hasSize(1);
        assertThat(
                        v1.getManifest().getRoundClosedAtMs().toEpochMilli()
                                - v1.getManifest().getRoundOpenedAtMs().toEpochMilli())
                .isEqualTo(10_000);
    }

    @Test
    void anOverdueRoundWaitsForMinUpdatesThenClosesAtOnce() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(5, 2, 5));
        p.start();
        p.sendChunked(u("u1", "s1", 0, 10, 1f));
        p.setTime(11_000);
        assertThat(p.versions).hasSize(1);

        p.sendChunked(u("u2", "s2", 0, 10, 1f));

        assertThat(p.versions).hasSize(2);
        assertThat(p.versions.get(1).getManifest().getCloseReason())
                .isEqualTo(CloseReason.DEADLINE);
    }

    @Test
    void anUpdateAfterTheQuorumGoesToTheNextRoundWithItsStalenessDiscount() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(2, 1, 5));
        p.start();
        p.sendChunked(u("u1", "s1", 0, 10, 1f));
        p.sendChunked(u("u2", "s2", 0, 10, 1f));

        p.sendChunked(u("u3", "s3", 0, 16, 1f)); // trained from v0, late
        p.sendChunked(u("u4", "s1", 1, 10, 1f));

        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
        List<Contribution> round2 = p.versions.get(2).getManifest().getContributions();
        assertThat(round2).extracting(Contribution::getUpdateId).containsExactly("u3", "u4");
        assertThat(round2.get(0).getStaleness()).isEqualTo(1);
        assertThat(round2.get(0).getWeight()).isEqualTo(16 * Math.pow(2, -0.5));
        assertThat(round2.get(1).getStaleness()).isZero();
        assertThat(round2.get(1).getWeight()).isEqualTo(10.0);
    }

    @Test
    void rejectsStaleFutureAndDuplicateUpdatesWithoutTouchingTheRound() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(1, 1, 1));
        p.start();
        p.sendChunked(u("u1", "s1", 0, 10, 1f)); // -> v1
        p.sendChunked(u("u2", "s1", 1, 10, 1f)); // -> v2

        p.sendChunked(u("u3", "s2", 0, 10, 5f)); // staleness 2 > 1
        p.sendChunked(u("u4", "s2", 9, 10, 5f)); // from the future
        p.sendChunked(u("u2", "s1", 2, 10, 5f)); // replay of u2

        assertThat(p.versions).hasSize(3);
        assertThat(reasons(p))
                .containsExactly(
                        RejectReason.TOO_STALE,
                        RejectReason.FUTURE_BASE_VERSION,
                        RejectReason.DUPLICATE_UPDATE, // the replay's three chunks
                        RejectReason.DUPLICATE_UPDATE,
                        RejectReason.DUPLICATE_UPDATE,
                        RejectReason.DUPLICATE_UPDATE); // and its manifest
        assertThat(p.rejections.get(0).getUpdateId()).isEqualTo("u3");
        assertThat(p.rejections.get(0).getDetail()).contains("staleness 2");
    }

    @Test
    void chunksAndWholeUpdatesGiveTheSameVersionBitForBitInAnyArrivalOrder() throws Exception {
        float[][] d1 = {{0.3f, -1.7f, 2.2f, 0.01f, 5f, -0.25f}, {1e-3f, -7f}};
        float[][] d2 = {{-0.9f, 0.4f, 0.7f, 3.3f, -2f, 0.125f}, {0.5f, 0.75f}};
        Pipeline whole = pipeline(Fixtures.policy(2, 1, 5));
        whole.start();
        whole.sendWhole(u("u1", 0, 13, d1));
        whole.sendWhole(u("u2", 0, 7, d2));

        Pipeline shuffled = pipeline(Fixtures.policy(2, 1, 5));
        shuffled.start();
        shuffled.holdChunks = true;
        shuffled.sendChunked(u("u1", 0, 13, d1));
        shuffled.sendChunked(u("u2", 0, 7, d2));
        shuffled.sendChunked(u("u1", 0, 13, d1)); // a resend: duplicate chunks and a replay
        List<ChunkData> late = new ArrayList<>(shuffled.held);
        Collections.shuffle(late, new Random(3));
        assertThat(shuffled.versions).hasSize(1); // nothing aggregated without the data
        shuffled.deliver(late);

        float[] expected =
                recompute(
                        flat(whole.versions.get(0)),
                        List.of(flat(d1), flat(d2)),
                        List.of(13.0, 7.0),
                        1.0);
        assertThat(whole.versions).hasSize(2);
        assertThat(shuffled.versions).hasSize(2);
        assertThat(flat(whole.versions.get(1))).containsExactly(expected);
        assertThat(flat(shuffled.versions.get(1))).containsExactly(expected);
        assertThat(shuffled.versions.get(1).getManifest().getTensorsSha256())
                .isEqualTo(whole.versions.get(1).getManifest().getTensorsSha256());
        // the resend's three chunks and its manifest; the whole records had no surplus
        assertThat(reasons(shuffled)).hasSize(4).containsOnly(RejectReason.DUPLICATE_UPDATE);
        assertThat(whole.rejections).isEmpty();
        assertThat(shuffled.held).isEmpty();
    }

    @Test
    void aLostChunkRejectsItsUpdateAfterTheTimeoutAndALateCopyIsNeverMixedIn() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(2, 1, 5));
        p.setTime(0);
        p.start();
        UpdateChunking.Chunked lost =
                UpdateChunking.split(u("lost", "s9", 0, 50, 9f), SPEC.layout());
        for (UpdateChunk c : List.of(lost.chunks().get(0), lost.chunks().get(2))) {
            p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(c)));
        }
        p.send(p.raw(AvroCodec.UPDATE_MANIFEST.encode(lost.manifest())));
        p.sendChunked(u("u1", "s1", 0, 10, 1f));
        assertThat(p.versions).hasSize(1);

        p.setTime(30_000); // the assembly timeout (also the lone member's round deadline)

        assertThat(reasons(p)).containsExactly(RejectReason.MISSING_CHUNK);
        assertThat(p.rejections.get(0).getUpdateId()).isEqualTo("lost");
        assertThat(p.rejections.get(0).getDetail()).contains("2 of 3 chunks");
        // the late chunk arrives, then two more updates close the next round
        p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(lost.chunks().get(1))));
        p.sendChunked(u("u2", "s2", 1, 10, 2f));
        p.sendChunked(u("u3", "s3", 1, 10, 4f));

        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
        assertThat(p.versions.get(1).getManifest().getContributions())
                .extracting(Contribution::getUpdateId)
                .containsExactly("u1");
        float[] v1 = flat(p.versions.get(1));
        float[] expected =
                recompute(
                        v1,
                        List.of(flat(constantDelta(2f)), flat(constantDelta(4f))),
                        List.of(10.0, 10.0),
                        1.0);
        assertThat(flat(p.versions.get(2))).containsExactly(expected);
        p.setTime(60_000); // the late chunk's own pending entry expires
        assertThat(reasons(p))
                .containsExactly(RejectReason.MISSING_CHUNK, RejectReason.MISSING_CHUNK);
    }

    @Test
    void anUpdateWithoutAGoodCopyOfAChunkIsRejectedAsCorruptAtTheTimeout() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(1, 1, 5));
        p.setTime(0);
        p.start();
        UpdateChunking.Chunked corrupt =
                UpdateChunking.split(u("corrupt", "s8", 0, 10, 3f), SPEC.layout());
        UpdateChunk flipped = UpdateChunk.newBuilder(corrupt.chunks().get(1)).build();
        byte[] data = new byte[12];
        flipped.getData().duplicate().get(data);
        data[5] ^= 0x10;
        flipped.setData(ByteBuffer.wrap(data));
        UpdateChunking.Chunked truncated =
                UpdateChunking.split(u("truncated", "s7", 0, 10, 3f), SPEC.layout());
        UpdateChunk cut = UpdateChunk.newBuilder(truncated.chunks().get(0)).build();
        cut.setData(ByteBuffer.wrap(new byte[7]));

        for (UpdateChunk c : List.of(corrupt.chunks().get(0), flipped, corrupt.chunks().get(2))) {
            p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(c)));
        }
        long flippedAt = p.nextOffset - 2;
        long manifestAt = p.send(corrupt.manifest());
        long cutAt = p.nextOffset;
        p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(cut)));
        p.sendChunked(u("good", "s1", 0, 10, 1f));
        assertThat(p.rejections).isEmpty(); // a good copy may still come

        p.setTime(30_000);

        // the corrupt update once (at its manifest), its flipped copy once (at its own offset);
        // the truncated update without a manifest once, for all its records
        assertThat(p.rejections)
                .extracting(
                        RejectedUpdate::getUpdateId,
                        RejectedUpdate::getReason,
                        RejectedUpdate::getSourceOffset)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple(
                                "corrupt", RejectReason.CORRUPT_CHUNK, manifestAt),
                        org.assertj.core.groups.Tuple.tuple(
                                "corrupt", RejectReason.CORRUPT_CHUNK, flippedAt),
                        org.assertj.core.groups.Tuple.tuple(
                                "truncated", RejectReason.CORRUPT_CHUNK, cutAt));
        assertThat(p.rejections)
                .filteredOn(r -> r.getSourceOffset() == flippedAt)
                .singleElement()
                .satisfies(
                        r ->
                                assertThat(r.getDetail())
                                        .startsWith("chunk 1 of update corrupt: digest ")
                                        .contains("does not match its signed manifest's ")
                                        .endsWith("the update was rejected: CORRUPT_CHUNK"));
        assertThat(p.versions).hasSize(2);
        assertThat(p.versions.get(1).getManifest().getContributions())
                .extracting(Contribution::getUpdateId)
                .containsExactly("good");
        assertThat(flat(p.versions.get(1)))
                .containsExactly(
                        recompute(
                                flat(p.versions.get(0)),
                                List.of(flat(constantDelta(1f))),
                                List.of(10.0),
                                1.0));
    }

    @Test
    void aBogusCopyOfAChunkCannotVetoTheGenuineUpdate() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(1, 1, 5));
        p.start();
        UpdateChunking.Chunked victim =
                UpdateChunking.split(u("victim", "s1", 0, 10, 1f), SPEC.layout());
        // someone else sends garbage under the victim's id before and after its chunks
        UpdateChunk forged = UpdateChunk.newBuilder(victim.chunks().get(2)).build();
        forged.setData(ByteBuffer.wrap(new byte[8])); // zeros, right length
        UpdateChunk truncated = UpdateChunk.newBuilder(victim.chunks().get(0)).build();
        truncated.setData(ByteBuffer.wrap(new byte[3]));

        p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(forged)));
        p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(truncated)));
        assertThat(p.rejections).isEmpty(); // their fate is not known yet
        p.sendChunked(u("victim", "s1", 0, 10, 1f));
        p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(forged)));

        // each bogus copy dead-lettered once, at its own offset; the update itself is accepted
        assertThat(p.rejections)
                .extracting(
                        RejectedUpdate::getSourceOffset,
                        RejectedUpdate::getReason,
                        RejectedUpdate::getUpdateId)
                .containsExactly( // in chunk order when the update is decided
                        org.assertj.core.groups.Tuple.tuple(
                                101L, RejectReason.CORRUPT_CHUNK, "victim"),
                        org.assertj.core.groups.Tuple.tuple(
                                100L, RejectReason.CORRUPT_CHUNK, "victim"),
                        org.assertj.core.groups.Tuple.tuple(
                                106L, RejectReason.DUPLICATE_UPDATE, "victim"));
        assertThat(p.rejections.get(1).getDetail())
                .startsWith("chunk 2 of update victim: digest ")
                .endsWith("the update was accepted with the matching copy");
        assertThat(p.rejections.get(0).getDetail())
                .isEqualTo(
                        "chunk 0 of update victim: chunk 0 has 3 bytes, expected 12 for FLOAT32"
                                + " (CORRUPT_CHUNK), so it cannot match its signed manifest;"
                                + " the update was accepted with the matching copy");
        assertThat(p.versions).hasSize(2);
        assertThat(flat(p.versions.get(1)))
                .containsExactly(
                        recompute(
                                flat(p.versions.get(0)),
                                List.of(flat(constantDelta(1f))),
                                List.of(10.0),
                                1.0));
        assertThat(p.decisions.stream().filter(d -> d.type == Decision.MEMBER))
                .filteredOn(d -> d.chunkIndex == 2)
                .singleElement()
                .satisfies(d -> assertThat(d.count).isEqualTo(1)); // the bogus copy is dropped
        assertThat(p.decisions.stream().filter(d -> d.type == Decision.DROP))
                .singleElement()
                .satisfies(d -> assertThat(d.chunkIndex).isEqualTo(2)); // the late bogus copy
    }

    private static UpdateChunk withData(UpdateChunk c, byte[] data) {
        UpdateChunk copy = UpdateChunk.newBuilder(c).build();
        copy.setData(ByteBuffer.wrap(data));
        return copy;
    }

    private static org.assertj.core.groups.Tuple at(long offset, RejectReason reason) {
        return org.assertj.core.groups.Tuple.tuple(offset, reason);
    }

    @Test
    void aSurplusCopyIsDeadLetteredOnceAtItsOwnOffsetAndAWholeRecordOnlyByItsHeader()
            throws Exception {
        Pipeline p = pipeline(Fixtures.policy(2, 1, 5));
        p.start();
        UpdateChunking.Chunked c = UpdateChunking.split(u("u1", "s1", 0, 10, 1f), SPEC.layout());
        p.send(c.chunks().get(1));
        long again = p.send(c.chunks().get(1)); // resent before the update is complete
        p.send(c.chunks().get(0));
        p.send(c.chunks().get(2));
        assertThat(p.rejections).isEmpty();
        p.send(c.manifest());
        p.sendWhole(u("w1", "s2", 0, 10, 2f));
        long replayed = p.sendWhole(u("w1", "s2", 0, 10, 2f)); // one record, one rejection

        assertThat(p.rejections)
                .extracting(RejectedUpdate::getSourceOffset, RejectedUpdate::getReason)
                .containsExactly(
                        at(again, RejectReason.DUPLICATE_UPDATE),
                        at(replayed, RejectReason.DUPLICATE_UPDATE));
        assertThat(p.rejections.get(0).getDetail())
                .isEqualTo(
                        "chunk 1 of update u1: a surplus copy, identical to the update's own;"
                                + " the update was accepted with the matching copy");
        assertThat(p.rejections.get(0).getSiteId()).isEqualTo("s1");
        assertThat(p.versions).hasSize(2);
        assertThat(p.versions.get(1).getManifest().getContributions())
                .extracting(Contribution::getUpdateId)
                .containsExactly("u1", "w1");
        assertThat(p.decisions)
                .filteredOn(d -> d.type == Decision.MEMBER && "u1".equals(d.updateId))
                .extracting(d -> d.count)
                .containsExactly(0, 1, 0); // the surplus copy is dropped, as before
    }

    @Test
    void theStrayCopiesOfARejectedUpdateAreDeadLetteredBesideItsOneRejection() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(1, 1, 5));
        p.setTime(0);
        p.start();
        UpdateChunking.Chunked c = UpdateChunking.split(u("lost", "s1", 0, 10, 1f), SPEC.layout());
        long bogusAt = p.send(withData(c.chunks().get(0), new byte[12]));
        p.send(c.chunks().get(0));
        long surplusAt = p.send(c.chunks().get(0));
        p.send(c.chunks().get(1)); // chunk 2 never comes
        long manifestAt = p.send(c.manifest());
        assertThat(p.rejections).isEmpty();

        p.setTime(30_000);

        assertThat(p.rejections)
                .extracting(RejectedUpdate::getSourceOffset, RejectedUpdate::getReason)
                .containsExactly(
                        at(manifestAt, RejectReason.MISSING_CHUNK),
                        at(bogusAt, RejectReason.CORRUPT_CHUNK),
                        at(surplusAt, RejectReason.DUPLICATE_UPDATE));
        assertThat(p.rejections.get(1).getDetail())
                .startsWith("chunk 0 of update lost: digest ")
                .endsWith("; the update was rejected: MISSING_CHUNK");
        assertThat(p.rejections.get(2).getDetail())
                .endsWith("; the update was rejected: MISSING_CHUNK");
        // every data copy still covered by exactly one DROP
        assertThat(p.decisions)
                .filteredOn(d -> d.type == Decision.DROP)
                .extracting(d -> d.chunkIndex, d -> d.count)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(0, 3),
                        org.assertj.core.groups.Tuple.tuple(1, 1));
    }

    @Test
    void aStrayCopyInACheckpointIsDeadLetteredOnceAfterTheRestoreAndNeverAgain() throws Exception {
        Pipeline first = pipeline(Fixtures.policy(1, 1, 5));
        first.start();
        UpdateChunking.Chunked c =
                UpdateChunking.split(u("victim", "s1", 0, 10, 1f), SPEC.layout());
        long forgedAt = first.send(withData(c.chunks().get(2), new byte[8]));
        Pipeline.Snapshot before = first.snapshot();
        assertThat(first.rejections).isEmpty();

        Pipeline restored = pipeline(Fixtures.policy(1, 1, 5), LatestVersionLookup.none(), before);
        restored.nextOffset = first.nextOffset;
        restored.sendChunked(u("victim", "s1", 0, 10, 1f));
        assertThat(restored.rejections)
                .extracting(RejectedUpdate::getSourceOffset, RejectedUpdate::getReason)
                .containsExactly(at(forgedAt, RejectReason.CORRUPT_CHUNK));
        assertThat(restored.versions).extracting(GlobalModel::getVersion).containsExactly(1L);

        Pipeline.Snapshot after = restored.snapshot();
        Pipeline again = pipeline(Fixtures.policy(1, 1, 5), LatestVersionLookup.none(), after);
        again.nextOffset = restored.nextOffset;
        again.sendChunked(u("u2", "s2", 1, 10, 2f));
        assertThat(again.rejections).isEmpty();
        assertThat(again.versions).extracting(GlobalModel::getVersion).containsExactly(2L);
    }

    @Test
    void aRoundRestoredFromASnapshotEndsExactlyAsAnUninterruptedOne() throws Exception {
        Pipeline reference = pipeline(Fixtures.policy(3, 1, 5));
        reference.start();
        reference.sendChunked(u("u1", "s1", 0, 10, 0.3f));
        reference.sendChunked(u("u2", "s2", 0, 20, -0.7f));
        reference.sendChunked(u("u3", "s3", 0, 5, 0.11f));
        GlobalModel expected = reference.versions.get(1);

        Pipeline first = pipeline(Fixtures.policy(3, 1, 5));
        first.start();
        first.holdChunks = true;
        first.sendChunked(u("u1", "s1", 0, 10, 0.3f));
        first.deliver(new ArrayList<>(first.held.subList(0, 2))); // one chunk still on its way
        Pipeline.Snapshot snapshot = first.snapshot();
        List<ChunkData> inFlight = new ArrayList<>(first.held);
        Pipeline restored =
                pipeline(Fixtures.policy(3, 1, 5), LatestVersionLookup.none(), snapshot);
        restored.deliver(inFlight);
        restored.sendChunked(u("u2", "s2", 0, 20, -0.7f));
        restored.sendChunked(u("u3", "s3", 0, 5, 0.11f));

        assertThat(restored.versions).hasSize(1); // no second version 0 after the restore
        assertThat(restored.versions.get(0).getVersion()).isEqualTo(1);
        assertThat(restored.versions.get(0).getManifest().getTensorsSha256())
                .isEqualTo(expected.getManifest().getTensorsSha256());
    }

    @Test
    void continuesFromTheNewestPublishedVersionInsteadOfStartingAgain() throws Exception {
        Pipeline seed = pipeline(Fixtures.policy(1, 1, 5));
        seed.start();
        seed.sendChunked(u("u1", "s1", 0, 10, 1f));
        GlobalModel published = seed.versions.get(1);

        Pipeline p = pipeline(Fixtures.policy(1, 1, 5), id -> Optional.of(published), null);
        p.start();
        long replay = p.sendChunked(u("u1", "s1", 0, 10, 1f)); // already in v1
        p.sendChunked(u("u2", "s1", 1, 10, 1f));

        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(2L);
        // each of the replay's records: its three chunks and its manifest
        assertThat(p.rejections)
                .extracting(RejectedUpdate::getReason, RejectedUpdate::getSourceOffset)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.DUPLICATE_UPDATE, replay - 3),
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.DUPLICATE_UPDATE, replay - 2),
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.DUPLICATE_UPDATE, replay - 1),
                        org.assertj.core.groups.Tuple.tuple(RejectReason.DUPLICATE_UPDATE, replay));
        assertThat(p.rejections.get(0).getDetail())
                .isEqualTo(
                        "chunk 0 of update u1 of site s1, which was already accepted: a replayed"
                                + " or late copy");
        assertThat(flat(p.versions.get(0)))
                .containsExactly(
                        recompute(
                                flat(published),
                                List.of(flat(constantDelta(1f))),
                                List.of(10.0),
                                1.0));
    }

    @Test
    void aRobustRuleHoldsTheRoundsChunksAndIgnoresAnOutlier() throws Exception {
        Pipeline p = pipeline(MEDIAN);
        p.start();

        p.sendChunked(u("u1", "s1", 0, 10, 1f));
        p.sendChunked(u("u2", "s2", 0, 10, 2f));
        p.sendChunked(u("u3", "evil", 0, 1000, 100f));

        GlobalModel v1 = p.versions.get(1);
        assertThat(v1.getManifest().getRule()).isEqualTo("median");
        assertThat(TensorCodec.toMap(v1.getTensors()).get("b")).containsExactly(2f, 2f);
        assertThat(v1.getManifest().getContributions()).hasSize(3);
    }

    /** Coordinate-wise median over rounds of 3, no staleness discount. */
    private static final RoundPolicy MEDIAN =
            new RoundPolicy(
                    3,
                    Duration.ofSeconds(10),
                    1,
                    new io.fedstream.aggregation.StalenessFunction.Constant(),
                    5,
                    1.0,
                    "median",
                    Map.of());

    /** Sites a and b, each with its own registered key. */
    private static final java.security.KeyPair KEY_A = SiteKeys.generate();

    private static final java.security.KeyPair KEY_B = SiteKeys.generate();

    private static SiteKeys registry() {
        return new SiteKeys(
                Map.of(
                        "site-a",
                        List.of(new SiteKeys.Entry("ka", SiteKeys.encode(KEY_A.getPublic()))),
                        "site-b",
                        List.of(new SiteKeys.Entry("kb", SiteKeys.encode(KEY_B.getPublic())))));
    }

    private static UpdateChunking.Chunked signedChunked(
            AdapterUpdate u, String keyId, java.security.KeyPair key) {
        UpdateChunking.Chunked c = UpdateChunking.split(u, SPEC.layout());
        UpdateSigning.sign(c.manifest(), keyId, key.getPrivate());
        return c;
    }

    private static void send(Pipeline p, UpdateChunking.Chunked c) throws Exception {
        for (UpdateChunk chunk : c.chunks()) {
            p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(chunk)));
        }
        p.send(p.raw(AvroCodec.UPDATE_MANIFEST.encode(c.manifest())));
    }

    private static List<org.assertj.core.groups.Tuple> contributions(GlobalModel g) {
        return g.getManifest().getContributions().stream()
                .map(
                        c ->
                                org.assertj.core.groups.Tuple.tuple(
                                        c.getSiteId(), c.getUpdateId(), c.getSourceOffset()))
                .toList();
    }

    @Test
    void aSiteCannotVetoAnotherSitesUpdateBySendingItsUpdateIdFirst() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(2, 1, 5));
        p.verifySignatures(registry());
        p.start();
        // site a, with its own key and site id, sends a manifest under b's predictable update id
        // first; then b's genuine update arrives
        UpdateChunking.Chunked fromA =
                signedChunked(u("site-b/v0", "site-a", 0, 10, 1f), "ka", KEY_A);
        UpdateChunking.Chunked fromB =
                signedChunked(u("site-b/v0", "site-b", 0, 30, 2f), "kb", KEY_B);
        send(p, fromA);
        long aManifest = p.nextOffset - 1;
        send(p, fromB);
        long bManifest = p.nextOffset - 1;

        assertThat(p.rejections).isEmpty();
        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L);
        GlobalModel v1 = p.versions.get(1);
        // both are in the version, each under its own site; the records show the update id as sent
        assertThat(contributions(v1))
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("site-a", "site-b/v0", aManifest),
                        org.assertj.core.groups.Tuple.tuple("site-b", "site-b/v0", bManifest));
        assertThat(flat(v1))
                .containsExactly(
                        recompute(
                                flat(p.versions.get(0)),
                                List.of(flat(constantDelta(1f)), flat(constantDelta(2f))),
                                List.of(10.0, 30.0),
                                1.0));

        // a duplicate is the same site sending the same id again: each replay is its own site's
        p.send(p.raw(AvroCodec.UPDATE_MANIFEST.encode(fromB.manifest())));
        p.send(p.raw(AvroCodec.UPDATE_MANIFEST.encode(fromA.manifest())));
        // a's manifest claiming to be b's, signed with a's key, is refused by validation
        UpdateManifest forged = UpdateManifest.newBuilder(fromA.manifest()).build();
        forged.setSiteId("site-b");
        UpdateSigning.sign(forged, "ka", KEY_A.getPrivate());
        p.send(p.raw(AvroCodec.UPDATE_MANIFEST.encode(forged)));
        assertThat(p.rejections)
                .extracting(
                        RejectedUpdate::getReason,
                        RejectedUpdate::getSiteId,
                        RejectedUpdate::getUpdateId)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.DUPLICATE_UPDATE, "site-b", "site-b/v0"),
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.DUPLICATE_UPDATE, "site-a", "site-b/v0"),
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.BAD_SIGNATURE, "site-b", "site-b/v0"));
        assertThat(p.rejections.get(0).getDetail())
                .isEqualTo("update id site-b/v0 of site site-b was already accepted");
        assertThat(p.versions).hasSize(2);
    }

    @Test
    void aSiteCannotVetoAnotherSitesWholeUpdateBySendingItsUpdateIdFirst() throws Exception {
        Pipeline p = pipeline(Fixtures.policy(1, 1, 5));
        p.verifySignatures(registry());
        p.start();
        AdapterUpdate fromA = u("site-b/v0", "site-a", 0, 10, 1f);
        UpdateSigning.sign(fromA, "ka", KEY_A.getPrivate());
        AdapterUpdate fromB = u("site-b/v0", "site-b", 0, 30, 2f);
        UpdateSigning.sign(fromB, "kb", KEY_B.getPrivate());
        long a = p.sendWhole(fromA);
        long b = p.sendWhole(fromB);
        p.sendWhole(fromA); // replays: each its own site's duplicate
        p.sendWhole(fromB);

        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
        assertThat(contributions(p.versions.get(1)))
                .containsExactly(org.assertj.core.groups.Tuple.tuple("site-a", "site-b/v0", a));
        assertThat(contributions(p.versions.get(2)))
                .containsExactly(org.assertj.core.groups.Tuple.tuple("site-b", "site-b/v0", b));
        assertThat(flat(p.versions.get(2)))
                .containsExactly(
                        recompute(
                                flat(p.versions.get(1)),
                                List.of(flat(constantDelta(2f))),
                                List.of(30.0 * new StalenessFunction.Polynomial(0.5).apply(1)),
                                1.0));
        assertThat(p.rejections)
                .extracting(
                        RejectedUpdate::getReason,
                        RejectedUpdate::getSiteId,
                        RejectedUpdate::getSourceOffset)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.DUPLICATE_UPDATE, "site-a", b + 1),
                        org.assertj.core.groups.Tuple.tuple(
                                RejectReason.DUPLICATE_UPDATE, "site-b", b + 2));
    }

    @Test
    void aRobustRuleAggregatesTwoSitesThatUseTheSameUpdateId() throws Exception {
        Pipeline p = pipeline(MEDIAN);
        p.start();
        p.sendChunked(u("v0", "s1", 0, 10, 1f));
        p.sendChunked(u("v0", "s2", 0, 10, 2f));
        p.sendChunked(u("v0", "s3", 0, 10, 100f));

        assertThat(p.rejections).isEmpty();
        GlobalModel v1 = p.versions.get(1);
        assertThat(v1.getManifest().getContributions())
                .extracting(Contribution::getSiteId)
                .containsExactly("s1", "s2", "s3");
        assertThat(TensorCodec.toMap(v1.getTensors()).get("b")).containsExactly(2f, 2f);
    }

    /**
     * Restores a mid-round snapshot written by the job version before updates were identified by
     * (site, update id) (main at 12e0a90, the operators in a {@link Pipeline} with chunks of 3,
     * quorum 3): s1/v0 of site s1 accepted into the open round (its chunks added to the sums, or
     * held for a robust rule), s2/v0 of site s2 pending with chunks 0 and 2 and its manifest in
     * (chunk 1 missing, chunks 0 and 2 buffered at their aggregators), and one chunk of s4/v0
     * without a manifest. Its state keys updates by their bare ids.
     */
    @Test
    void aMidRoundSnapshotOfThePreviousJobVersionRestores() throws Exception {
        Pipeline p =
                restoreLegacy(
                        "/legacy-state/bare-update-ids.snapshot", Fixtures.policy(3, 1, 5), null);
        float[] expected =
                recompute(
                        genesis(),
                        List.of(
                                flat(constantDelta(1f)),
                                flat(constantDelta(2f)),
                                flat(constantDelta(3f))),
                        List.of(10.0, 10.0, 10.0),
                        1.0);
        continueTheLegacyRound(p, expected);
    }

    /** The same on RocksDB (the job's backend for median and trimmed mean), with the median. */
    @Test
    void aMidRoundRocksDbSnapshotOfThePreviousJobVersionRestores() throws Exception {
        RoundPolicy median =
                new RoundPolicy(
                        3,
                        Duration.ofSeconds(10),
                        1,
                        new io.fedstream.aggregation.StalenessFunction.Constant(),
                        5,
                        1.0,
                        "median",
                        Map.of());
        Pipeline p =
                restoreLegacy(
                        "/legacy-state/bare-update-ids-rocksdb-median.snapshot",
                        median,
                        new org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend());
        // the median of 1, 2 and 3
        float[] expected =
                recompute(genesis(), List.of(flat(constantDelta(2f))), List.of(1.0), 1.0);
        continueTheLegacyRound(p, expected);
    }

    private Pipeline restoreLegacy(
            String resource,
            RoundPolicy policy,
            org.apache.flink.runtime.state.StateBackend backend)
            throws Exception {
        Pipeline.Snapshot legacy;
        long nextOffset;
        try (var in =
                new java.io.ObjectInputStream(
                        RoundCoordinatorTest.class.getResourceAsStream(resource))) {
            legacy =
                    new Pipeline.Snapshot(
                            (org.apache.flink.runtime.checkpoint.OperatorSubtaskState)
                                    in.readObject(),
                            (org.apache.flink.runtime.checkpoint.OperatorSubtaskState)
                                    in.readObject(),
                            (org.apache.flink.runtime.checkpoint.OperatorSubtaskState)
                                    in.readObject());
            nextOffset = in.readLong();
        }
        Pipeline p =
                new Pipeline(
                        SPEC,
                        policy,
                        LatestVersionLookup.none(),
                        Duration.ofSeconds(30),
                        legacy,
                        backend);
        open.add(p);
        p.nextOffset = nextOffset;
        p.setTime(1_000);
        return p;
    }

    private static float[] genesis() {
        Map<String, float[]> init = SPEC.initialValues();
        return flat(SPEC.tensors().stream().map(t -> init.get(t.name())).toArray(float[][]::new));
    }

    private static void continueTheLegacyRound(Pipeline p, float[] expected) throws Exception {
        UpdateChunking.Chunked u2 =
                UpdateChunking.split(u("s2/v0", "s2", 0, 10, 2f), SPEC.layout());
        p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(u2.chunks().get(1)))); // completes s2/v0
        long replay = p.sendWhole(u("s1/v0", "s1", 0, 10, 1f)); // accepted before the upgrade
        p.sendChunked(u("s3/v0", "s3", 0, 10, 3f)); // the third: quorum

        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(1L);
        assertThat(p.versions.get(0).getManifest().getContributions())
                .extracting(Contribution::getSiteId, Contribution::getUpdateId)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("s1", "s1/v0"),
                        org.assertj.core.groups.Tuple.tuple("s2", "s2/v0"),
                        org.assertj.core.groups.Tuple.tuple("s3", "s3/v0"));
        assertThat(flat(p.versions.get(0))).containsExactly(expected);
        assertThat(p.rejections)
                .extracting(RejectedUpdate::getReason, RejectedUpdate::getSourceOffset)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(RejectReason.DUPLICATE_UPDATE, replay));

        // the abandoned chunk of s4/v0 is rejected at its deadline and its buffered copy dropped
        p.setTime(31_000);
        assertThat(p.rejections)
                .extracting(RejectedUpdate::getReason, RejectedUpdate::getUpdateId)
                .last()
                .isEqualTo(
                        org.assertj.core.groups.Tuple.tuple(RejectReason.MISSING_CHUNK, "s4/v0"));
        p.sendChunked(u("s4/v0", "s4", 1, 10, 4f)); // s4's resend, from version 1
        p.sendChunked(u("s5/v1", "s5", 1, 10, 5f));
        p.sendChunked(u("s6/v1", "s6", 1, 10, 6f));
        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(1L, 2L);
    }
}
