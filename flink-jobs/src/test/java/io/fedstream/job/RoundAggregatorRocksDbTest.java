package io.fedstream.job;

import static io.fedstream.job.Fixtures.constantDelta;
import static io.fedstream.job.Fixtures.valid;
import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.co.KeyedCoProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The round operator on the embedded RocksDB state backend, which the job uses for robust rules
 * ({@link FedStreamOptions#STATE_BACKEND}): every state value is serialized there, so a value
 * changed without being written back would be lost. Rounds of each rule, a duplicate, and a
 * snapshot taken mid-round and restored must give the same versions, bit for bit, as the heap
 * backend.
 */
class RoundAggregatorRocksDbTest {
    private final List<
                    KeyedTwoInputStreamOperatorTestHarness<String, String, ValidUpdate, OutRecord>>
            open = new ArrayList<>();

    @AfterEach
    void closeHarnesses() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    static RoundPolicy policy(String rule, Map<String, String> params) {
        return new RoundPolicy(
                4,
                Duration.ofSeconds(10),
                1,
                new StalenessFunction.Polynomial(0.5),
                5,
                1.0,
                rule,
                params);
    }

    private KeyedTwoInputStreamOperatorTestHarness<String, String, ValidUpdate, OutRecord> harness(
            RoundPolicy policy, StateBackend backend, OperatorSubtaskState restore)
            throws Exception {
        var h =
                new KeyedTwoInputStreamOperatorTestHarness<>(
                        new KeyedCoProcessOperator<>(
                                new RoundAggregator(
                                        Map.of(Fixtures.SPEC.id(), Fixtures.SPEC),
                                        policy,
                                        LatestVersionLookup.none(),
                                        "adapter-updates")),
                        (String id) -> id,
                        (ValidUpdate u) -> u.federationId,
                        Types.STRING);
        h.setStateBackend(backend);
        open.add(h);
        if (restore != null) {
            h.initializeState(restore);
        }
        h.open();
        return h;
    }

    /** Two rounds of four updates (the second with stale ones and an outlier) and a replay. */
    static final List<ValidUpdate> INPUT =
            List.of(
                    valid("u1", "s1", 0, 10, constantDelta(0.3f)),
                    valid("u2", "s2", 0, 20, constantDelta(-0.7f)),
                    valid("u3", "s3", 0, 5, constantDelta(0.11f)),
                    valid("u4", "s4", 0, 8, constantDelta(0.2f)),
                    valid("u5", "s1", 1, 10, constantDelta(0.05f)),
                    valid("u2", "s2", 0, 20, constantDelta(-0.7f)), // a replay: DUPLICATE_UPDATE
                    valid("u6", "s2", 0, 7, constantDelta(-0.1f)),
                    valid("u7", "evil", 1, 9, constantDelta(50f)),
                    valid("u8", "s3", 1, 12, constantDelta(0.4f)));

    private List<String> run(RoundPolicy policy, StateBackend backend, int snapshotAfter)
            throws Exception {
        var h = harness(policy, backend, null);
        h.processElement1("f", 0);
        List<OutRecord> out = new ArrayList<>();
        List<RejectedUpdate> rejected = new ArrayList<>();
        for (int i = 0; i < INPUT.size(); i++) {
            if (i == snapshotAfter) {
                out.addAll(h.extractOutputValues());
                rejected.addAll(rejections(h));
                OperatorSubtaskState snapshot = h.snapshot(1, 1);
                h = harness(policy, backend, snapshot);
            }
            h.processElement2(INPUT.get(i), 0);
        }
        out.addAll(h.extractOutputValues());
        rejected.addAll(rejections(h));
        assertThat(rejected)
                .extracting(RejectedUpdate::getReason)
                .containsExactly(RejectReason.DUPLICATE_UPDATE);
        return out.stream()
                .map(r -> AvroCodec.GLOBAL_MODEL.decode(r.value))
                .map(
                        g ->
                                "v"
                                        + g.getVersion()
                                        + " "
                                        + g.getManifest().getRule()
                                        + " "
                                        + g.getManifest().getContributions().size()
                                        + " "
                                        + g.getManifest().getTensorsSha256())
                .toList();
    }

    private static List<RejectedUpdate> rejections(
            KeyedTwoInputStreamOperatorTestHarness<String, String, ValidUpdate, OutRecord> h) {
        var side = h.getSideOutput(RoundAggregator.REJECTED);
        return side == null
                ? List.of()
                : side.stream()
                        .map(StreamRecord::getValue)
                        .map(r -> AvroCodec.REJECTED_UPDATE.decode(r.value))
                        .toList();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fedavg", "median", "trimmed-mean", "multi-krum", "norm-clipping"})
    void everyRuleGivesTheSameVersionsOnRocksDbAsOnTheHeap(String rule) throws Exception {
        Map<String, String> params =
                switch (rule) {
                    case "trimmed-mean" -> Map.of("beta", "0.25");
                    case "multi-krum" -> Map.of("f", "0", "m", "3");
                    case "norm-clipping" -> Map.of("maxNorm", "1.0");
                    default -> Map.of();
                };
        RoundPolicy policy = policy(rule, params);

        List<String> heap = run(policy, new HashMapStateBackend(), -1);
        List<String> rocks = run(policy, new EmbeddedRocksDBStateBackend(), -1);

        assertThat(heap).hasSize(3).allMatch(v -> v.contains(" 4 ") || v.startsWith("v0"));
        assertThat(rocks).isEqualTo(heap);
    }

    @Test
    void aRobustRoundSnapshottedMidwayOnRocksDbEndsAsAnUninterruptedOne() throws Exception {
        RoundPolicy median = policy("median", Map.of());
        List<String> uninterrupted = run(median, new HashMapStateBackend(), -1);

        for (int at : new int[] {2, 5, 7}) {
            assertThat(run(median, new EmbeddedRocksDBStateBackend(), at))
                    .as("snapshot after %d updates", at)
                    .isEqualTo(uninterrupted);
        }
    }
}
