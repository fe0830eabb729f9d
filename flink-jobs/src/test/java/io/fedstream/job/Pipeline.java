package io.fedstream.job;

import io.fedstream.job.adapter.ChunkAggregator;
import io.fedstream.job.adapter.ChunkDigest;
import io.fedstream.job.adapter.JobSecret;
import io.fedstream.job.adapter.LatestVersionLookup;
import io.fedstream.job.adapter.LedgerLookup;
import io.fedstream.job.adapter.RoundCoordinator;
import io.fedstream.job.adapter.UpdateEvent;
import io.fedstream.job.adapter.UpdateValidator;
import io.fedstream.job.adapter.VersionInfo;
import io.fedstream.job.adapter.VersionPublisher;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.streaming.api.operators.co.KeyedCoProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.apache.flink.util.OutputTag;

/**
 * The job's operators (validation, round coordinator, chunk aggregation, version publisher) in
 * operator test harnesses, wired as the job wires them, with the test in control of time and of
 * when chunk data reaches its aggregator. Global-models records go through a {@link
 * GlobalModelAssembler}, so {@link #versions} are what a worker would read.
 */
final class Pipeline implements AutoCloseable {
    /** Operator state of the three keyed operators. */
    record Snapshot(
            OperatorSubtaskState coordinator,
            OperatorSubtaskState aggregator,
            OperatorSubtaskState publisher) {}

    final FederationSpec spec;
    UpdateValidator validator;
    final KeyedTwoInputStreamOperatorTestHarness<String, String, UpdateEvent, Decision> coordinator;
    final KeyedTwoInputStreamOperatorTestHarness<String, ChunkData, Decision, ChunkDigest>
            aggregator;
    final KeyedTwoInputStreamOperatorTestHarness<String, VersionInfo, ChunkDigest, OutRecord>
            publisher;
    final GlobalModelAssembler assembler = new GlobalModelAssembler();
    final List<GlobalModel> versions = new ArrayList<>();
    final List<RejectedUpdate> rejections = new ArrayList<>();
    final List<Decision> decisions = new ArrayList<>();

    /** Privacy-ledger records, as they would be on the topic. */
    final List<io.fedstream.schemas.avro.PrivacyLedger> ledger = new ArrayList<>();

    /** Every record sent, as it would be on the updates topic. */
    final List<RawRecord> sent = new ArrayList<>();

    /** Every global-models record (chunks and manifests), as it would be on the topic. */
    final List<byte[]> published = new ArrayList<>();

    /** Chunk data held back while {@link #holdChunks} is set. */
    final List<ChunkData> held = new ArrayList<>();

    boolean holdChunks;
    long nextOffset = 100;

    Pipeline(FederationSpec spec, RoundPolicy policy, LatestVersionLookup lookup) throws Exception {
        this(spec, policy, lookup, java.time.Duration.ofSeconds(30), null);
    }

    Pipeline(
            FederationSpec spec,
            RoundPolicy policy,
            LatestVersionLookup lookup,
            java.time.Duration assemblyTimeout,
            Snapshot restore)
            throws Exception {
        this(spec, policy, lookup, assemblyTimeout, restore, null);
    }

    /**
     * @param backend the keyed operators' state backend, or null for the harnesses' default (heap)
     */
    Pipeline(
            FederationSpec spec,
            RoundPolicy policy,
            LatestVersionLookup lookup,
            java.time.Duration assemblyTimeout,
            Snapshot restore,
            StateBackend backend)
            throws Exception {
        this(spec, policy, lookup, assemblyTimeout, restore, backend, null, null);
    }

    /**
     * @param secret the job secret, for a spec with privacy
     * @param ledgerLookup the ledger a DP federation continuing without state reads its spend from
     */
    Pipeline(
            FederationSpec spec,
            RoundPolicy policy,
            LatestVersionLookup lookup,
            java.time.Duration assemblyTimeout,
            Snapshot restore,
            StateBackend backend,
            JobSecret secret,
            LedgerLookup ledgerLookup)
            throws Exception {
        this.spec = spec;
        Map<String, FederationSpec> feds = Map.of(spec.id(), spec);
        validator = new UpdateValidator(feds, new UpdateValidator.Limits(1_000_000, 1e6, 1e9));
        coordinator =
                new KeyedTwoInputStreamOperatorTestHarness<>(
                        new KeyedCoProcessOperator<>(
                                new RoundCoordinator(
                                        feds,
                                        policy,
                                        lookup,
                                        "adapter-updates",
                                        assemblyTimeout,
                                        1e9,
                                        ledgerLookup)),
                        id -> id,
                        e -> e.federationId,
                        Types.STRING);
        aggregator =
                new KeyedTwoInputStreamOperatorTestHarness<>(
                        new KeyedCoProcessOperator<>(
                                new ChunkAggregator(feds, policy, lookup, secret)),
                        ChunkData::key,
                        Decision::key,
                        Types.STRING);
        publisher =
                new KeyedTwoInputStreamOperatorTestHarness<>(
                        new KeyedCoProcessOperator<>(new VersionPublisher(feds)),
                        v -> v.federationId,
                        d -> d.federationId,
                        Types.STRING);
        if (backend != null) {
            coordinator.setStateBackend(backend);
            aggregator.setStateBackend(backend);
            publisher.setStateBackend(backend);
        }
        if (restore != null) {
            coordinator.initializeState(restore.coordinator());
            aggregator.initializeState(restore.aggregator());
            publisher.initializeState(restore.publisher());
        }
        coordinator.open();
        aggregator.open();
        publisher.open();
    }

    /** Validation authenticates every update against this registry from now on. */
    void verifySignatures(io.fedstream.schemas.SiteKeys siteKeys) {
        validator =
                new UpdateValidator(
                        Map.of(spec.id(), spec),
                        new UpdateValidator.Limits(1_000_000, 1e6, 1e9),
                        siteKeys);
    }

    void start() throws Exception {
        coordinator.processElement1(spec.id(), 0);
        pump();
    }

    /** A record as it would arrive from the updates topic, at the next offset. */
    RawRecord raw(byte[] value) {
        return new RawRecord(
                "adapter-updates",
                0,
                nextOffset++,
                0,
                spec.id().getBytes(StandardCharsets.UTF_8),
                value);
    }

    /** Sends a whole (legacy) update; returns its offset. */
    long sendWhole(AdapterUpdate u) throws Exception {
        RawRecord r = raw(AvroCodec.ADAPTER_UPDATE.encode(u));
        send(r);
        return r.offset;
    }

    /** Sends an update chunked (chunks, then manifest); returns the manifest's offset. */
    long sendChunked(AdapterUpdate u) throws Exception {
        UpdateChunking.Chunked c = UpdateChunking.split(u, spec.layout());
        for (UpdateChunk chunk : c.chunks()) {
            send(raw(AvroCodec.UPDATE_CHUNK.encode(chunk)));
        }
        RawRecord m = raw(AvroCodec.UPDATE_MANIFEST.encode(c.manifest()));
        send(m);
        return m.offset;
    }

    /** Sends a chunk record at the next offset; returns its offset. */
    long send(UpdateChunk chunk) throws Exception {
        RawRecord r = raw(AvroCodec.UPDATE_CHUNK.encode(chunk));
        send(r);
        return r.offset;
    }

    /** Sends a manifest record at the next offset; returns its offset. */
    long send(io.fedstream.schemas.avro.UpdateManifest manifest) throws Exception {
        RawRecord r = raw(AvroCodec.UPDATE_MANIFEST.encode(manifest));
        send(r);
        return r.offset;
    }

    void send(RawRecord raw) throws Exception {
        sent.add(raw);
        UpdateValidator.Outcome o = validator.parts(raw);
        if (o instanceof UpdateValidator.Rejected r) {
            rejections.add(AvroCodec.REJECTED_UPDATE.decode(Rejections.of(raw, r).value));
            return;
        }
        UpdateValidator.Parts p = (UpdateValidator.Parts) o;
        for (ChunkData c : p.chunks()) {
            if (holdChunks) {
                held.add(c);
            } else {
                aggregator.processElement1(c, 0);
            }
        }
        for (UpdateEvent e : p.events()) {
            e.sourcePartition = raw.partition;
            e.sourceOffset = raw.offset;
            coordinator.processElement2(e, 0);
        }
        pump();
    }

    /** Delivers held chunks (in the given order) to their aggregators. */
    void deliver(List<ChunkData> chunks) throws Exception {
        for (ChunkData c : chunks) {
            held.remove(c);
            aggregator.processElement1(c, 0);
            pump();
        }
    }

    void setTime(long ms) throws Exception {
        coordinator.setProcessingTime(ms);
        aggregator.setProcessingTime(ms);
        publisher.setProcessingTime(ms);
        pump();
    }

    Snapshot snapshot() throws Exception {
        return new Snapshot(
                coordinator.snapshot(1, 1), aggregator.snapshot(1, 1), publisher.snapshot(1, 1));
    }

    /** Moves every operator's output to where the job sends it, until nothing moves. */
    void pump() throws Exception {
        boolean moved = true;
        while (moved) {
            moved = false;
            for (Object o : drain(coordinator.getOutput())) {
                Decision d = (Decision) o;
                decisions.add(d);
                aggregator.processElement2(d, 0);
                moved = true;
            }
            for (VersionInfo v : drain(coordinator, RoundCoordinator.VERSIONS)) {
                publisher.processElement1(v, 0);
                moved = true;
            }
            for (OutRecord r : drain(coordinator, RoundCoordinator.REJECTED)) {
                rejections.add(AvroCodec.REJECTED_UPDATE.decode(r.value));
            }
            for (OutRecord r : drain(coordinator, RoundCoordinator.LEDGER)) {
                ledger.add(AvroCodec.PRIVACY_LEDGER.decode(r.value));
            }
            for (Object o : drain(aggregator.getOutput())) {
                publisher.processElement2((ChunkDigest) o, 0);
                moved = true;
            }
            for (OutRecord r : drain(aggregator, ChunkAggregator.GLOBAL_CHUNKS)) {
                published.add(r.value);
                versions.addAll(assembler.accept(r.value));
            }
            for (Object o : drain(publisher.getOutput())) {
                published.add(((OutRecord) o).value);
                versions.addAll(assembler.accept(((OutRecord) o).value));
            }
        }
    }

    private static List<Object> drain(Queue<Object> q) {
        List<Object> out = new ArrayList<>();
        Object o;
        while ((o = q.poll()) != null) {
            if (o instanceof StreamRecord<?> r) {
                out.add(r.getValue());
            }
        }
        return out;
    }

    private static <T> List<T> drain(
            org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness<?> h,
            OutputTag<T> tag) {
        List<T> out = new ArrayList<>();
        var q = h.getSideOutput(tag);
        if (q == null) {
            return out;
        }
        StreamRecord<T> r;
        while ((r = q.poll()) != null) {
            out.add(r.getValue());
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        coordinator.close();
        aggregator.close();
        publisher.close();
    }
}
