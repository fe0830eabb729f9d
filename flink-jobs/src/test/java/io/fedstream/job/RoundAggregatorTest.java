package io.fedstream.job;

import static io.fedstream.job.Fixtures.SPEC;
import static io.fedstream.job.Fixtures.constantDelta;
import static io.fedstream.job.Fixtures.valid;
import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RoundAggregatorTest {
    private KeyedTwoInputStreamOperatorTestHarness<String, String, ValidUpdate, OutRecord> harness;

    private KeyedTwoInputStreamOperatorTestHarness<String, String, ValidUpdate, OutRecord> open(
            RoundPolicy policy, LatestVersionLookup lookup, OperatorSubtaskState restore)
            throws Exception {
        RoundAggregator op =
                new RoundAggregator(Map.of(SPEC.id(), SPEC), policy, lookup, "adapter-updates");
        var h =
                ProcessFunctionTestHarnesses.forKeyedCoProcessFunction(
                        op, id -> id, u -> u.federationId, Types.STRING);
        if (restore != null) {
            // forKeyedCoProcessFunction opens the harness; restoring needs a fresh one
            h.close();
            h =
                    new KeyedTwoInputStreamOperatorTestHarness<>(
                            new org.apache.flink.streaming.api.operators.co
                                    .KeyedCoProcessOperator<>(op),
                            id -> id,
                            u -> u.federationId,
                            Types.STRING);
            h.initializeState(restore);
            h.open();
        }
        harness = h;
        return h;
    }

    @AfterEach
    void close() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    private static List<GlobalModel> versions(
            KeyedTwoInputStreamOperatorTestHarness<String, String, ValidUpdate, OutRecord> h) {
        return h.extractOutputValues().stream()
                .map(r -> AvroCodec.GLOBAL_MODEL.decode(r.value))
                .toList();
    }

    private static List<RejectedUpdate> rejections(
            KeyedTwoInputStreamOperatorTestHarness<String, String, ValidUpdate, OutRecord> h) {
        var side = h.getSideOutput(RoundAggregator.REJECTED);
        if (side == null) {
            return List.of();
        }
        return side.stream()
                .map(StreamRecord::getValue)
                .map(r -> AvroCodec.REJECTED_UPDATE.decode(r.value))
                .toList();
    }

    @Test
    void startsAFederationAtVersionZeroFromItsSpec() throws Exception {
        var h = open(Fixtures.policy(3, 1, 5), LatestVersionLookup.none(), null);

        h.processElement1("f", 0);

        List<GlobalModel> out = versions(h);
        assertThat(out).hasSize(1);
        GlobalModel v0 = out.get(0);
        assertThat(v0.getVersion()).isZero();
        assertThat(v0.getParentVersion()).isEqualTo(-1);
        assertThat(v0.getManifest().getCloseReason()).isEqualTo(CloseReason.GENESIS);
        assertThat(TensorCodec.toMap(v0.getTensors()).get("a"))
                .containsExactly(SPEC.initialValues().get("a"));
        assertThat(v0.getManifest().getTensorsSha256())
                .isEqualTo(TensorCodec.sha256(v0.getTensors()));
    }

    @Test
    void closesARoundAtQuorumWithTheSampleWeightedMean() throws Exception {
        var h = open(Fixtures.policy(3, 1, 5), LatestVersionLookup.none(), null);
        h.processElement1("f", 0);

        h.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0);
        h.processElement2(valid("u2", "s2", 0, 30, constantDelta(2f)), 0);
        assertThat(versions(h)).hasSize(1);
        h.processElement2(valid("u3", "s3", 0, 60, constantDelta(-1f)), 0);

        List<GlobalModel> out = versions(h);
        assertThat(out).hasSize(2);
        GlobalModel v1 = out.get(1);
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
        var h = open(Fixtures.policy(3, 1, 5), LatestVersionLookup.none(), null);
        h.setProcessingTime(1_000);
        h.processElement1("f", 0);
        h.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0);

        h.setProcessingTime(10_999);
        assertThat(versions(h)).hasSize(1);
        h.setProcessingTime(11_000);

        GlobalModel v1 = versions(h).get(1);
        assertThat(v1.getManifest().getCloseReason()).isEqualTo(CloseReason.DEADLINE);
        assertThat(v1.getManifest().getContributions()).hasSize(1);
        assertThat(
                        v1.getManifest().getRoundClosedAtMs().toEpochMilli()
                                - v1.getManifest().getRoundOpenedAtMs().toEpochMilli())
                .isEqualTo(10_000);
    }

    @Test
    void anOverdueRoundWaitsForMinUpdatesThenClosesAtOnce() throws Exception {
        var h = open(Fixtures.policy(5, 2, 5), LatestVersionLookup.none(), null);
        h.processElement1("f", 0);
        h.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0);
        h.setProcessingTime(60_000);
        assertThat(versions(h)).hasSize(1);

        h.processElement2(valid("u2", "s2", 0, 10, constantDelta(1f)), 0);

        assertThat(versions(h)).hasSize(2);
        assertThat(versions(h).get(1).getManifest().getCloseReason())
                .isEqualTo(CloseReason.DEADLINE);
    }

    @Test
    void anUpdateAfterTheQuorumGoesToTheNextRoundWithItsStalenessDiscount() throws Exception {
        var h = open(Fixtures.policy(2, 1, 5), LatestVersionLookup.none(), null);
        h.processElement1("f", 0);
        h.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0);
        h.processElement2(valid("u2", "s2", 0, 10, constantDelta(1f)), 0);

        h.processElement2(valid("u3", "s3", 0, 16, constantDelta(1f)), 0); // trained from v0, late
        h.processElement2(valid("u4", "s1", 1, 10, constantDelta(1f)), 0);

        List<GlobalModel> out = versions(h);
        assertThat(out).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
        List<Contribution> round2 = out.get(2).getManifest().getContributions();
        assertThat(round2).extracting(Contribution::getUpdateId).containsExactly("u3", "u4");
        assertThat(round2.get(0).getStaleness()).isEqualTo(1);
        assertThat(round2.get(0).getWeight()).isEqualTo(16 * Math.pow(2, -0.5));
        assertThat(round2.get(1).getStaleness()).isZero();
        assertThat(round2.get(1).getWeight()).isEqualTo(10.0);
    }

    @Test
    void rejectsStaleFutureAndDuplicateUpdatesWithoutTouchingTheRound() throws Exception {
        var h = open(Fixtures.policy(1, 1, 1), LatestVersionLookup.none(), null);
        h.processElement1("f", 0);
        h.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0); // -> v1
        h.processElement2(valid("u2", "s1", 1, 10, constantDelta(1f)), 0); // -> v2

        h.processElement2(valid("u3", "s2", 0, 10, constantDelta(5f)), 0); // staleness 2 > 1
        h.processElement2(valid("u4", "s2", 9, 10, constantDelta(5f)), 0); // from the future
        h.processElement2(valid("u2", "s1", 2, 10, constantDelta(5f)), 0); // replay of u2

        assertThat(versions(h)).hasSize(3);
        assertThat(rejections(h))
                .extracting(RejectedUpdate::getReason)
                .containsExactly(
                        RejectReason.TOO_STALE,
                        RejectReason.FUTURE_BASE_VERSION,
                        RejectReason.DUPLICATE_UPDATE);
        assertThat(rejections(h).get(0).getUpdateId()).isEqualTo("u3");
        assertThat(rejections(h).get(0).getDetail()).contains("staleness 2");
    }

    @Test
    void aRoundRestoredFromASnapshotEndsExactlyAsAnUninterruptedOne() throws Exception {
        var reference = open(Fixtures.policy(3, 1, 5), LatestVersionLookup.none(), null);
        reference.processElement1("f", 0);
        reference.processElement2(valid("u1", "s1", 0, 10, constantDelta(0.3f)), 0);
        reference.processElement2(valid("u2", "s2", 0, 20, constantDelta(-0.7f)), 0);
        reference.processElement2(valid("u3", "s3", 0, 5, constantDelta(0.11f)), 0);
        GlobalModel expected = versions(reference).get(1);
        reference.close();

        var first = open(Fixtures.policy(3, 1, 5), LatestVersionLookup.none(), null);
        first.processElement1("f", 0);
        first.processElement2(valid("u1", "s1", 0, 10, constantDelta(0.3f)), 0);
        OperatorSubtaskState snapshot = first.snapshot(1, 1);
        first.close();
        var restored = open(Fixtures.policy(3, 1, 5), LatestVersionLookup.none(), snapshot);
        restored.processElement2(valid("u2", "s2", 0, 20, constantDelta(-0.7f)), 0);
        restored.processElement2(valid("u3", "s3", 0, 5, constantDelta(0.11f)), 0);

        List<GlobalModel> out = versions(restored);
        assertThat(out).hasSize(1); // no second version 0 after the restore
        assertThat(out.get(0).getVersion()).isEqualTo(1);
        assertThat(out.get(0).getManifest().getTensorsSha256())
                .isEqualTo(expected.getManifest().getTensorsSha256());
    }

    @Test
    void continuesFromTheNewestPublishedVersionInsteadOfStartingAgain() throws Exception {
        var seed = open(Fixtures.policy(1, 1, 5), LatestVersionLookup.none(), null);
        seed.processElement1("f", 0);
        seed.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0);
        GlobalModel published = versions(seed).get(1);
        seed.close();

        var h = open(Fixtures.policy(1, 1, 5), id -> Optional.of(published), null);
        h.processElement1("f", 0);
        h.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0); // already in v1
        h.processElement2(valid("u2", "s1", 1, 10, constantDelta(1f)), 0);

        assertThat(versions(h)).extracting(GlobalModel::getVersion).containsExactly(2L);
        assertThat(rejections(h))
                .extracting(RejectedUpdate::getReason)
                .containsExactly(RejectReason.DUPLICATE_UPDATE);
    }

    @Test
    void aRobustRuleHoldsTheRoundsUpdatesAndIgnoresAnOutlier() throws Exception {
        RoundPolicy median =
                new RoundPolicy(
                        3,
                        java.time.Duration.ofSeconds(10),
                        1,
                        new io.fedstream.aggregation.StalenessFunction.Constant(),
                        5,
                        1.0,
                        "median",
                        Map.of());
        var h = open(median, LatestVersionLookup.none(), null);
        h.processElement1("f", 0);

        h.processElement2(valid("u1", "s1", 0, 10, constantDelta(1f)), 0);
        h.processElement2(valid("u2", "s2", 0, 10, constantDelta(2f)), 0);
        h.processElement2(valid("u3", "evil", 0, 1000, constantDelta(100f)), 0);

        GlobalModel v1 = versions(h).get(1);
        assertThat(v1.getManifest().getRule()).isEqualTo("median");
        assertThat(TensorCodec.toMap(v1.getTensors()).get("b")).containsExactly(2f, 2f);
        assertThat(v1.getManifest().getContributions()).hasSize(3);
    }
}
