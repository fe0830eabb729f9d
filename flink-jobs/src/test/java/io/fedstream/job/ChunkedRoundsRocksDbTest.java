package io.fedstream.job;

import static io.fedstream.job.Fixtures.constantDelta;
import static io.fedstream.job.Fixtures.update;
import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.job.adapter.LatestVersionLookup;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The chunked operators (round coordinator, chunk aggregation, version publisher; {@link Pipeline})
 * on the embedded RocksDB state backend, which the job uses when the rule holds a round's chunks
 * ({@link FedStreamOptions#STATE_BACKEND}: median, trimmed-mean). RocksDB serializes every state
 * value, so a value changed without being written back would be lost. Rounds of each rule, with
 * chunked and whole updates, a replay, an outlier and chunk data arriving after its decisions, and
 * snapshots taken mid-round (with decisions queued, chunks held and chunk data still on its way)
 * and restored, must give the same versions, bit for bit, as the heap backend.
 */
class ChunkedRoundsRocksDbTest {
    /** 8 parameters in chunks of 3: chunks span the tensor boundary. */
    static final FederationSpec SPEC = RoundCoordinatorTest.SPEC;

    @AutoClose private final OpenPipelines open = new OpenPipelines();

    static RoundPolicy policy(String rule) {
        Map<String, String> params =
                switch (rule) {
                    case "trimmed-mean" -> Map.of("beta", "0.25");
                    case "norm-clipping" -> Map.of("maxNorm", "1.0");
                    default -> Map.of();
                };
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

    private static AdapterUpdate u(String id, String site, long base, long examples, float v) {
        return update(id, base, examples, constantDelta(v)).setSiteId(site).build();
    }

    /**
     * Two rounds of four (the second with stale updates and an outlier) and a replay; even updates
     * chunked, odd ones whole; the chunk data of u3 and u6 reaches its aggregators only after the
     * next update, so their decisions wait in state.
     */
    static final List<AdapterUpdate> INPUT =
            List.of(
                    u("u1", "s1", 0, 10, 0.3f),
                    u("u2", "s2", 0, 20, -0.7f),
                    u("u3", "s3", 0, 5, 0.11f),
                    u("u4", "s4", 0, 8, 0.2f),
                    u("u5", "s1", 1, 10, 0.05f),
                    u("u2", "s2", 0, 20, -0.7f), // a replay: DUPLICATE_UPDATE
                    u("u6", "s2", 0, 7, -0.1f),
                    u("u7", "evil", 1, 9, 50f),
                    u("u8", "s3", 1, 12, 0.4f));

    /** What a run published and rejected, one line per version. */
    record Run(List<String> versions, List<RejectReason> rejections) {}

    private Pipeline pipeline(
            RoundPolicy policy, Supplier<StateBackend> backend, Pipeline.Snapshot restore)
            throws Exception {
        Pipeline p =
                new Pipeline(
                        SPEC,
                        policy,
                        LatestVersionLookup.none(),
                        Duration.ofSeconds(30),
                        restore,
                        backend.get());
        return open.add(p);
    }

    /**
     * Runs {@link #INPUT}; snapshots and restores into fresh operators before update {@code at}.
     */
    private Run run(RoundPolicy policy, Supplier<StateBackend> backend, int at) throws Exception {
        List<byte[]> published = new ArrayList<>();
        List<RejectedUpdate> rejections = new ArrayList<>();
        Pipeline p = pipeline(policy, backend, null);
        p.start();
        List<ChunkData> late = List.of();
        for (int i = 0; i < INPUT.size(); i++) {
            if (i == at) {
                published.addAll(p.published);
                rejections.addAll(p.rejections);
                List<ChunkData> inFlight = new ArrayList<>(p.held);
                long offset = p.nextOffset;
                Pipeline.Snapshot snapshot = p.snapshot();
                p = pipeline(policy, backend, snapshot);
                p.nextOffset = offset;
                p.held.addAll(inFlight); // delivered after the restore
            }
            AdapterUpdate u = INPUT.get(i);
            p.holdChunks = u.getUpdateId().equals("u3") || u.getUpdateId().equals("u6");
            if (i % 2 == 0) {
                UpdateChunking.Chunked c = UpdateChunking.split(u, SPEC.layout());
                // chunks backwards, so the manifest's decisions are taken before chunk 0 lands
                for (int k = c.chunks().size() - 1; k >= 0; k--) {
                    p.send(p.raw(AvroCodec.UPDATE_CHUNK.encode(c.chunks().get(k))));
                }
                p.send(p.raw(AvroCodec.UPDATE_MANIFEST.encode(c.manifest())));
            } else {
                p.sendWhole(u);
            }
            p.holdChunks = false;
            p.deliver(new ArrayList<>(late));
            late = new ArrayList<>(p.held);
        }
        p.deliver(new ArrayList<>(p.held));
        published.addAll(p.published);
        rejections.addAll(p.rejections);
        // one reader over everything published: a version's chunks may straddle the restore
        GlobalModelAssembler assembler = new GlobalModelAssembler();
        List<GlobalModel> versions = new ArrayList<>();
        for (byte[] value : published) {
            versions.addAll(assembler.accept(value));
        }
        assertThat(assembler.problems()).isEmpty();
        assertThat(assembler.pendingCount()).as("incomplete versions").isZero();
        return new Run(
                versions.stream()
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
                        .toList(),
                rejections.stream().map(RejectedUpdate::getReason).toList());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fedavg", "median", "trimmed-mean", "norm-clipping"})
    void everyRuleGivesTheSameVersionsOnRocksDbAsOnTheHeap(String rule) throws Exception {
        RoundPolicy policy = policy(rule);

        Run heap = run(policy, HashMapStateBackend::new, -1);
        Run rocks = run(policy, EmbeddedRocksDBStateBackend::new, -1);

        assertThat(heap.versions())
                .hasSize(3)
                .allMatch(v -> v.startsWith("v0") || v.contains(" 4 "));
        assertThat(heap.rejections()).containsExactly(RejectReason.DUPLICATE_UPDATE);
        assertThat(rocks).isEqualTo(heap);
    }

    @ParameterizedTest(name = "{0}, snapshot before update {1}")
    @CsvSource({
        "median, 2",
        "median, 3",
        "median, 5",
        "median, 7",
        "trimmed-mean, 3",
        "trimmed-mean, 7",
        "trimmed-mean, 8"
    })
    void aRoundThatHoldsChunksSnapshottedMidwayOnRocksDbEndsAsAnUninterruptedOne(
            String rule, int at) throws Exception {
        RoundPolicy policy = policy(rule);
        Run uninterrupted = run(policy, HashMapStateBackend::new, -1);

        Run restored = run(policy, EmbeddedRocksDBStateBackend::new, at);

        assertThat(restored).isEqualTo(uninterrupted);
    }
}
