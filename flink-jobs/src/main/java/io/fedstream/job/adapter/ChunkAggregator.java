package io.fedstream.job.adapter;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.WeightedAccumulator;
import io.fedstream.aggregation.privacy.DpNoise;
import io.fedstream.aggregation.robust.RobustRule;
import io.fedstream.aggregation.robust.WeightedDelta;
import io.fedstream.job.BulkArraySerializer;
import io.fedstream.job.ChunkData;
import io.fedstream.job.Decision;
import io.fedstream.job.OutRecord;
import io.fedstream.job.RoundPolicy;
import io.fedstream.job.RoundState;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.avro.GlobalChunk;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Tensor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Aggregates one chunk of a federation's model (keyed by {@code federation#chunk}), applying the
 * {@link RoundCoordinator}'s decisions. Input 1 is chunk data from validation, input 2 the
 * decisions; they travel different paths, so either may come first.
 *
 * <p>Decisions are applied strictly in the order they arrive: a {@link Decision#MEMBER} waits at
 * the head of the queue until a copy of its chunk with the decided digest is in, and a {@link
 * Decision#CLOSE} until every member before it has been added. So the running sum (float64, one
 * chunk's size) adds members in the manifest's order and a replay gives the same bytes. Chunks that
 * no queued member needs are buffered until their decision; {@link Decision#DROP} (and a member's
 * count of duplicates) discards them, now or when they arrive, so a late chunk of an update that
 * missed its round is never mixed in. Rules that need every update at the close (median, trimmed
 * mean: coordinate-wise, so per chunk is exact) hold the members' chunks in list state instead of
 * summing.
 *
 * <p>At the close the chunk of the new version is {@code (float) (base + η·Σ wᵢcᵢΔᵢ / Σ wᵢ)} per
 * element, exactly as for the whole model; it goes to the global-models topic ({@link
 * #GLOBAL_CHUNKS}) and its digest to the {@link VersionPublisher} (main output).
 */
public class ChunkAggregator
        extends KeyedCoProcessFunction<String, ChunkData, Decision, ChunkDigest> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<OutRecord> GLOBAL_CHUNKS =
            new OutputTag<>("global-chunks", TypeInformation.of(OutRecord.class));

    private final Map<String, FederationSpec> federations;
    private final RoundPolicy policy;
    private final LatestVersionLookup lookup;
    private final JobSecret secret;

    private transient Map<String, ChunkLayout> layouts;

    /** The job secret, read at open if a federation has central DP. */
    private transient byte[] secretBytes;

    /** Version 0 of each federation, flattened: computed once per subtask. */
    private transient Map<String, float[]> genesis;

    /** The published version a federation continues from, flattened: read once per subtask. */
    private transient Map<String, Published> published;

    private record Published(long version, float[] flat) {}

    private transient ValueState<Long> currentVersion;
    private transient ValueState<float[]> current;
    private transient ValueState<double[]> sum;
    private transient ListState<RoundState.HeldChunk> held;
    private transient ListState<String> added;
    private transient ListState<Decision> queue;
    private transient MapState<String, List<ChunkData>> copies;
    private transient MapState<String, Integer> debt;
    private transient Counter chunksAdded;
    private transient Counter chunksDropped;

    public ChunkAggregator(
            Map<String, FederationSpec> federations,
            RoundPolicy policy,
            LatestVersionLookup lookup) {
        this(federations, policy, lookup, null);
    }

    /**
     * @param secret the job secret that keys the noise of federations with privacy in their spec
     *     (null if none has)
     */
    public ChunkAggregator(
            Map<String, FederationSpec> federations,
            RoundPolicy policy,
            LatestVersionLookup lookup,
            JobSecret secret) {
        this.federations = Map.copyOf(federations);
        this.policy = policy;
        this.lookup = lookup;
        this.secret = secret;
        if (secret == null && federations.values().stream().anyMatch(f -> f.privacy() != null)) {
            throw new IllegalArgumentException(
                    "a federation has privacy in its spec: the job needs a secret to key the noise");
        }
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        layouts = new HashMap<>();
        federations.forEach((id, spec) -> layouts.put(id, spec.layout()));
        genesis = new HashMap<>();
        published = new HashMap<>();
        if (secret != null) {
            secretBytes = secret.read();
        }
        var rc = getRuntimeContext();
        currentVersion = rc.getState(new ValueStateDescriptor<>("version", Types.LONG));
        current =
                rc.getState(
                        new ValueStateDescriptor<>("current-chunk", BulkArraySerializer.FLOATS));
        sum = rc.getState(new ValueStateDescriptor<>("round-sum", BulkArraySerializer.DOUBLES));
        held =
                rc.getListState(
                        new ListStateDescriptor<>("round-chunks", RoundState.HeldChunk.class));
        added = rc.getListState(new ListStateDescriptor<>("round-added", Types.STRING));
        queue = rc.getListState(new ListStateDescriptor<>("decisions", Decision.class));
        copies =
                rc.getMapState(
                        new MapStateDescriptor<>(
                                "buffered-chunks",
                                Types.STRING,
                                Types.LIST(TypeInformation.of(ChunkData.class))));
        debt = rc.getMapState(new MapStateDescriptor<>("drop-debt", Types.STRING, Types.INT));
        chunksAdded = rc.getMetricGroup().counter("chunksAggregated");
        chunksDropped = rc.getMetricGroup().counter("chunksDropped");
    }

    @Override
    public void processElement1(ChunkData c, Context ctx, Collector<ChunkDigest> out)
            throws Exception {
        List<Decision> q = queued();
        String key = c.updateKey();
        if (!needed(q, key, c.sha256)) {
            Integer owed = debt.get(key);
            if (owed != null) {
                if (owed > 1) {
                    debt.put(key, owed - 1);
                } else {
                    debt.remove(key);
                }
                chunksDropped.inc();
                return;
            }
        }
        String bufferKey = bufferKey(key);
        List<ChunkData> list = copies.get(bufferKey);
        list = list == null ? new ArrayList<>() : new ArrayList<>(list);
        list.add(c);
        copies.put(bufferKey, list);
        drain(q, out, ctx);
    }

    @Override
    public void processElement2(Decision d, Context ctx, Collector<ChunkDigest> out)
            throws Exception {
        List<Decision> q = queued();
        if (d.type == Decision.DROP) {
            discard(q, d.updateKey(), d.count);
        } else {
            q.add(d);
            if (d.type == Decision.MEMBER && d.count > 0) {
                discard(q, d.updateKey(), d.count);
            }
        }
        drain(q, out, ctx);
    }

    private List<Decision> queued() throws Exception {
        List<Decision> q = new ArrayList<>();
        Iterable<Decision> it = queue.get();
        if (it != null) {
            it.forEach(q::add);
        }
        return q;
    }

    /** The digest a queued member of the update ({@link UpdateKey}) waits for, or null. */
    private static String memberDigest(List<Decision> q, String key) {
        for (Decision d : q) {
            if (d.type == Decision.MEMBER && d.updateKey().equals(key)) {
                return d.sha256;
            }
        }
        return null;
    }

    /** Whether a copy with this digest is needed by a queued member that has none buffered yet. */
    private boolean needed(List<Decision> q, String key, String sha) throws Exception {
        String want = memberDigest(q, key);
        if (want == null || !want.equals(sha)) {
            return false;
        }
        List<ChunkData> list = copies.get(bufferKey(key));
        if (list != null) {
            for (ChunkData c : list) {
                if (c.sha256.equals(want)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Discards {@code n} copies no queued member needs; those not here yet are discarded later. */
    private void discard(List<Decision> q, String key, int n) throws Exception {
        String want = memberDigest(q, key);
        String bufferKey = bufferKey(key);
        List<ChunkData> list = copies.get(bufferKey);
        list = list == null ? new ArrayList<>() : new ArrayList<>(list);
        int owed = 0;
        for (int k = 0; k < n; k++) {
            int victim = -1;
            boolean keptOne = false;
            for (int i = 0; i < list.size() && victim < 0; i++) {
                boolean matches = want != null && list.get(i).sha256.equals(want);
                if (matches && !keptOne) {
                    keptOne = true; // the member's copy
                } else {
                    victim = i;
                }
            }
            if (victim >= 0) {
                list.remove(victim);
                chunksDropped.inc();
            } else {
                owed++;
            }
        }
        if (list.isEmpty()) {
            copies.remove(bufferKey);
        } else {
            copies.put(bufferKey, list);
        }
        if (owed > 0) {
            Integer before = debt.get(key);
            debt.put(key, (before == null ? 0 : before) + owed);
        }
    }

    /** Applies decisions from the head of the queue while their data is in. */
    private void drain(List<Decision> q, Collector<ChunkDigest> out, Context ctx) throws Exception {
        int done = 0;
        while (done < q.size()) {
            Decision d = q.get(done);
            if (d.type == Decision.MEMBER) {
                ChunkData c = take(d.updateKey(), d.sha256);
                if (c == null) {
                    break;
                }
                add(d, c);
            } else if (d.type == Decision.CLOSE) {
                close(d, out, ctx);
            } else if (d.type == Decision.GENESIS) {
                float[] values =
                        layouts.get(d.federationId).slice(genesis(d.federationId), d.chunkIndex);
                publish(d.federationId, d.chunkIndex, 0, values, out, ctx);
            } else if (d.type == Decision.CONTINUE) {
                current.update(continueFrom(d));
                currentVersion.update(d.version);
            }
            done++;
        }
        if (done > 0 || !q.isEmpty()) {
            queue.update(new ArrayList<>(q.subList(done, q.size())));
        }
    }

    /**
     * Where the copies of an update are buffered: under its key, or, for copies restored from a job
     * version before updates were keyed by site (which buffered them under the bare update id and
     * whose pending updates the coordinator re-keys), under the bare id while any are left.
     */
    private String bufferKey(String key) throws Exception {
        if (!UpdateKey.isLegacy(key) && !copies.contains(key)) {
            String bare = UpdateKey.updateId(key);
            if (copies.contains(bare)) {
                return bare;
            }
        }
        return key;
    }

    private ChunkData take(String key, String sha) throws Exception {
        String bufferKey = bufferKey(key);
        List<ChunkData> list = copies.get(bufferKey);
        if (list == null) {
            return null;
        }
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).sha256.equals(sha)) {
                List<ChunkData> rest = new ArrayList<>(list);
                ChunkData c = rest.remove(i);
                if (rest.isEmpty()) {
                    copies.remove(bufferKey);
                } else {
                    copies.put(bufferKey, rest);
                }
                return c;
            }
        }
        return null;
    }

    private void add(Decision d, ChunkData c) throws Exception {
        LittleEndianFloats.Kind kind = LittleEndianFloats.Kind.values()[c.kind];
        if (policy.accumulates()) {
            double[] s = sum.value();
            if (s == null) {
                s = new double[layouts.get(d.federationId).chunkLength(d.chunkIndex)];
            }
            LittleEndianFloats.accumulate(s, c.data, kind, d.weight * d.scale);
            sum.update(s);
        } else {
            RoundState.HeldChunk h = new RoundState.HeldChunk();
            h.updateId = d.updateId;
            h.siteId = d.siteId;
            h.weight = d.weight;
            h.kind = c.kind;
            h.data = c.data;
            if (kind.blockwise()) {
                // the robust rules read elements at random: they get the exact float32 decoding
                int n = layouts.get(d.federationId).chunkLength(d.chunkIndex);
                h.kind = (byte) LittleEndianFloats.Kind.FLOAT32.ordinal();
                h.data =
                        LittleEndianFloats.fromFloats(LittleEndianFloats.toFloats(c.data, kind, n));
            }
            held.add(h);
        }
        added.add(d.updateKey());
        chunksAdded.inc();
    }

    private void close(Decision d, Collector<ChunkDigest> out, Context ctx) throws Exception {
        List<String> ids = new ArrayList<>();
        added.get().forEach(ids::add);
        if (!sameMembers(ids, d.members)) {
            throw new IllegalStateException(
                    "chunk "
                            + d.key()
                            + " of version "
                            + d.version
                            + " holds updates "
                            + ids
                            + ", the round closed with "
                            + List.of(d.members));
        }
        float[] base = current.value();
        if (base == null || currentVersion.value() != d.version - 1) {
            throw new IllegalStateException(
                    "chunk " + d.key() + " has no version " + (d.version - 1) + " to build on");
        }
        double[][] delta;
        double total;
        PrivacySpec privacy = federations.get(d.federationId).privacy();
        if (privacy != null) {
            // DP-FedAvg: the clipped sum plus N(0, (σC)²) per element, over the expected count
            double[] noised = sum.value().clone();
            DpNoise.addTo(
                    noised,
                    secretBytes,
                    d.federationId,
                    d.version,
                    d.chunkIndex,
                    privacy.noiseMultiplier() * privacy.clipNorm());
            delta = new double[][] {noised};
            total = privacy.expectedContributionsOr(policy.quorum());
        } else if (policy.accumulates()) {
            delta = new double[][] {sum.value()};
            total = d.totalWeight;
        } else {
            List<WeightedDelta> members = new ArrayList<>();
            for (RoundState.HeldChunk h : held.get()) {
                members.add(
                        new WeightedDelta(
                                UpdateKey.of(h.siteId, h.updateId),
                                new byte[][] {h.data},
                                new LittleEndianFloats.Kind[] {
                                    LittleEndianFloats.Kind.values()[h.kind]
                                },
                                h.weight));
            }
            RobustRule rule = policy.robustRule();
            delta = rule.aggregate(members);
            total = 1.0;
        }
        float[] next =
                new WeightedAccumulator(delta, total, ids.size())
                        .applyTo(new float[][] {base}, policy.serverLearningRate())[0];
        sum.clear();
        held.clear();
        added.clear();
        publish(d.federationId, d.chunkIndex, d.version, next, out, ctx);
    }

    /**
     * Whether the chunk added exactly the members the round closed with, in order. A member added
     * before a restore from a job version that kept bare update ids is recorded by its id alone.
     */
    private static boolean sameMembers(List<String> added, String[] members) {
        if (added.size() != members.length) {
            return false;
        }
        for (int i = 0; i < members.length; i++) {
            String a = added.get(i);
            boolean same =
                    a.equals(members[i])
                            || (UpdateKey.isLegacy(a) && a.equals(UpdateKey.updateId(members[i])));
            if (!same) {
                return false;
            }
        }
        return true;
    }

    private void publish(
            String federationId,
            int chunk,
            long version,
            float[] values,
            Collector<ChunkDigest> out,
            Context ctx)
            throws Exception {
        ChunkLayout layout = layouts.get(federationId);
        byte[] data = LittleEndianFloats.fromFloats(values);
        GlobalChunk g =
                GlobalChunk.newBuilder()
                        .setFederationId(federationId)
                        .setVersion(version)
                        .setChunkIndex(chunk)
                        .setChunkCount(layout.chunkCount())
                        .setData(ByteBuffer.wrap(data))
                        .build();
        ctx.output(GLOBAL_CHUNKS, new OutRecord(federationId, AvroCodec.GLOBAL_CHUNK.encode(g)));
        out.collect(
                new ChunkDigest(federationId, version, chunk, ChunkLayout.globalChunkSha256(data)));
        current.update(values);
        currentVersion.update(version);
    }

    private float[] genesis(String federationId) {
        return genesis.computeIfAbsent(
                federationId,
                id -> {
                    FederationSpec spec = federations.get(id);
                    Map<String, float[]> init = spec.initialValues();
                    float[][] byTensor = new float[spec.tensors().size()][];
                    for (int t = 0; t < byTensor.length; t++) {
                        byTensor[t] = init.get(spec.tensors().get(t).name());
                    }
                    return layouts.get(id).flatten(byTensor);
                });
    }

    private float[] continueFrom(Decision d) {
        Published cached = published.get(d.federationId);
        if (cached == null || cached.version() != d.version) {
            GlobalModel g =
                    lookup.latest(d.federationId)
                            .orElseThrow(
                                    () ->
                                            new IllegalStateException(
                                                    "federation "
                                                            + d.federationId
                                                            + " should continue from published"
                                                            + " version "
                                                            + d.version
                                                            + ", which cannot be read"));
            if (g.getVersion() != d.version) {
                throw new IllegalStateException(
                        "federation "
                                + d.federationId
                                + " continues from version "
                                + d.version
                                + " but the newest published one is "
                                + g.getVersion());
            }
            FederationSpec spec = federations.get(d.federationId);
            Map<String, Tensor> byName = new HashMap<>();
            g.getTensors().forEach(t -> byName.put(t.getName(), t));
            List<Tensor> ordered = new ArrayList<>();
            for (TensorSpec t : spec.tensors()) {
                ordered.add(byName.get(t.name()));
            }
            cached = new Published(g.getVersion(), layouts.get(d.federationId).flatten(ordered));
            published.put(d.federationId, cached);
        }
        return layouts.get(d.federationId).slice(cached.flat(), d.chunkIndex);
    }
}
