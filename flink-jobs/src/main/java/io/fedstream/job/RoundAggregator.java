package io.fedstream.job;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.WeightedAccumulator;
import io.fedstream.aggregation.robust.RobustRule;
import io.fedstream.aggregation.robust.WeightedDelta;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Manifest;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.Tensor;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregation rounds of every federation, keyed by federation id.
 *
 * <p>Input 1 is a federation id (sent once per configured federation at start): it makes sure the
 * federation has a current version, continuing from the newest published one or creating version 0
 * from its spec. Input 2 carries validated updates. Each accepted update is added to the open
 * round's running sum at once (state the size of one model). A round closes when it holds {@code
 * quorum} updates, or at its deadline with at least {@code minUpdates}; the new version is emitted
 * and every later update belongs to the next round. Duplicates, updates from the future and updates
 * staler than allowed go to the rejection side output.
 */
public class RoundAggregator
        extends KeyedCoProcessFunction<String, String, ValidUpdate, OutRecord> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RoundAggregator.class);

    public static final OutputTag<OutRecord> REJECTED =
            new OutputTag<>("rejected-by-round", TypeInformation.of(OutRecord.class));

    private final Map<String, FederationSpec> federations;
    private final RoundPolicy policy;
    private final LatestVersionLookup lookup;
    private final String updatesTopic;

    private transient ValueState<RoundState.Global> global;
    private transient ValueState<RoundState.Meta> meta;
    private transient ValueState<double[][]> sums;
    private transient ListState<RoundState.Entry> entries;
    private transient MapState<String, Long> seen;
    private transient ListState<ValidUpdate> held;

    private transient Counter accepted;
    private transient Counter versionsPublished;
    private transient RejectionCounters rejected;
    private transient Histogram staleness;
    private transient Histogram roundDurationMs;
    private transient Histogram contributorsPerRound;
    private transient Map<String, Long> currentVersions;
    private transient MetricGroup metrics;

    public RoundAggregator(
            Map<String, FederationSpec> federations,
            RoundPolicy policy,
            LatestVersionLookup lookup,
            String updatesTopic) {
        this.federations = Map.copyOf(federations);
        this.policy = policy;
        this.lookup = lookup;
        this.updatesTopic = updatesTopic;
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        global =
                getRuntimeContext()
                        .getState(new ValueStateDescriptor<>("global", RoundState.Global.class));
        meta =
                getRuntimeContext()
                        .getState(new ValueStateDescriptor<>("round-meta", RoundState.Meta.class));
        sums =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "round-sums", TypeInformation.of(double[][].class)));
        entries =
                getRuntimeContext()
                        .getListState(
                                new ListStateDescriptor<>("round-entries", RoundState.Entry.class));
        held =
                getRuntimeContext()
                        .getListState(
                                new ListStateDescriptor<>("round-updates", ValidUpdate.class));
        seen =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>(
                                        "seen-update-ids", Types.STRING, Types.LONG));

        metrics = getRuntimeContext().getMetricGroup();
        accepted = metrics.counter("updatesAccepted");
        versionsPublished = metrics.counter("versionsPublished");
        rejected = new RejectionCounters(metrics);
        staleness = metrics.histogram("staleness", new DescriptiveStatisticsHistogram(1000));
        roundDurationMs =
                metrics.histogram("roundDurationMs", new DescriptiveStatisticsHistogram(500));
        contributorsPerRound =
                metrics.histogram("contributorsPerRound", new DescriptiveStatisticsHistogram(500));
        currentVersions = new HashMap<>();
    }

    @Override
    public void processElement1(String federationId, Context ctx, Collector<OutRecord> out)
            throws Exception {
        ensureInitialised(federationId, out);
    }

    @Override
    public void processElement2(ValidUpdate u, Context ctx, Collector<OutRecord> out)
            throws Exception {
        RoundState.Global g = ensureInitialised(u.federationId, out);
        if (u.baseVersion > g.version) {
            reject(
                    ctx,
                    u,
                    RejectReason.FUTURE_BASE_VERSION,
                    "base version "
                            + u.baseVersion
                            + " is newer than the current version "
                            + g.version);
            return;
        }
        long s = g.version - u.baseVersion;
        if (s > policy.maxStaleness()) {
            reject(
                    ctx,
                    u,
                    RejectReason.TOO_STALE,
                    "staleness "
                            + s
                            + " (base "
                            + u.baseVersion
                            + ", current "
                            + g.version
                            + ") exceeds staleness.max "
                            + policy.maxStaleness());
            return;
        }
        if (seen.contains(u.updateId)) {
            reject(
                    ctx,
                    u,
                    RejectReason.DUPLICATE_UPDATE,
                    "update id " + u.updateId + " was already accepted");
            return;
        }

        FederationSpec spec = federations.get(u.federationId);
        long now = ctx.timerService().currentProcessingTime();
        RoundState.Meta m = meta.value();
        if (m == null) {
            m = new RoundState.Meta();
            m.openedAtMs = now;
            m.deadlineMs = now + policy.timeout().toMillis();
            ctx.timerService().registerProcessingTimeTimer(m.deadlineMs);
        }
        double[][] acc = policy.streaming() ? sums.value() : null;
        if (acc == null && policy.streaming()) {
            acc = new double[spec.tensors().size()][];
            for (int t = 0; t < acc.length; t++) {
                acc[t] = new double[spec.tensors().get(t).size()];
            }
        }
        double w = policy.weight(u.numExamples, s);
        if (policy.streaming()) {
            new WeightedAccumulator(acc, m.totalWeight, m.count).add(u.tensors, kinds(u.dtypes), w);
        } else {
            held.add(u); // a robust rule needs every update of the round at its close
        }
        m.count++;
        m.totalWeight += w;

        RoundState.Entry e = new RoundState.Entry();
        e.updateId = u.updateId;
        e.siteId = u.siteId;
        e.baseVersion = u.baseVersion;
        e.staleness = s;
        e.numExamples = u.numExamples;
        e.weight = w;
        e.sourcePartition = u.sourcePartition;
        e.sourceOffset = u.sourceOffset;
        entries.add(e);
        seen.put(u.updateId, u.baseVersion);
        accepted.inc();
        staleness.update(s);

        if (m.count >= policy.quorum()) {
            close(u.federationId, g, m, acc, CloseReason.QUORUM, now, ctx, out);
        } else if (m.overdue && m.count >= policy.minUpdates()) {
            close(u.federationId, g, m, acc, CloseReason.DEADLINE, now, ctx, out);
        } else {
            meta.update(m);
            if (acc != null) {
                sums.update(acc);
            }
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<OutRecord> out)
            throws Exception {
        RoundState.Meta m = meta.value();
        if (m == null || m.deadlineMs != timestamp) {
            return; // the round closed on quorum before its deadline
        }
        if (m.count >= policy.minUpdates()) {
            close(
                    ctx.getCurrentKey(),
                    global.value(),
                    m,
                    sums.value(),
                    CloseReason.DEADLINE,
                    timestamp,
                    ctx,
                    out);
        } else {
            m.overdue = true;
            meta.update(m);
        }
    }

    private void close(
            String federationId,
            RoundState.Global g,
            RoundState.Meta m,
            double[][] acc,
            CloseReason reason,
            long now,
            Context ctx,
            Collector<OutRecord> out)
            throws Exception {
        FederationSpec spec = federations.get(federationId);
        String rule;
        float[][] next;
        if (policy.streaming()) {
            rule = "fedavg";
            next =
                    new WeightedAccumulator(acc, m.totalWeight, m.count)
                            .applyTo(g.tensors, policy.serverLearningRate());
        } else {
            RobustRule robust = policy.robustRule();
            rule = robust.describe();
            Map<String, Double> weights = new HashMap<>();
            for (RoundState.Entry e : entries.get()) {
                weights.put(e.updateId, e.weight);
            }
            List<WeightedDelta> deltas = new ArrayList<>(m.count);
            for (ValidUpdate u : held.get()) {
                deltas.add(
                        new WeightedDelta(
                                u.updateId, u.tensors, kinds(u.dtypes), weights.get(u.updateId)));
            }
            double[][] delta = robust.aggregate(deltas);
            next =
                    new WeightedAccumulator(delta, 1.0, m.count)
                            .applyTo(g.tensors, policy.serverLearningRate());
            held.clear();
        }
        long version = g.version + 1;

        List<Contribution> contributions = new ArrayList<>(m.count);
        for (RoundState.Entry e : entries.get()) {
            contributions.add(
                    Contribution.newBuilder()
                            .setUpdateId(e.updateId)
                            .setSiteId(e.siteId)
                            .setBaseVersion(e.baseVersion)
                            .setStaleness(e.staleness)
                            .setNumExamples(e.numExamples)
                            .setWeight(e.weight)
                            .setSourcePartition(e.sourcePartition)
                            .setSourceOffset(e.sourceOffset)
                            .build());
        }
        GlobalModel model =
                globalModel(
                        spec,
                        version,
                        g.version,
                        next,
                        reason,
                        rule,
                        policy.describe(),
                        contributions,
                        m.totalWeight,
                        m.openedAtMs,
                        now);
        out.collect(new OutRecord(federationId, AvroCodec.GLOBAL_MODEL.encode(model)));

        if (reason == CloseReason.QUORUM) {
            ctx.timerService().deleteProcessingTimeTimer(m.deadlineMs);
        }
        global.update(new RoundState.Global(version, next));
        meta.clear();
        sums.clear();
        entries.clear();
        pruneSeen(version);

        versionsPublished.inc();
        roundDurationMs.update(now - m.openedAtMs);
        contributorsPerRound.update(m.count);
        currentVersions.put(federationId, version);
        LOG.info(
                "federation {} version {}: {} updates, closed on {}",
                federationId,
                version,
                m.count,
                reason);
    }

    /** Forgets update ids that are too old to be accepted anyway: their replay is TOO_STALE. */
    private void pruneSeen(long currentVersion) throws Exception {
        long oldestAcceptable = currentVersion - policy.maxStaleness();
        Iterator<Map.Entry<String, Long>> it = seen.iterator();
        while (it.hasNext()) {
            if (it.next().getValue() < oldestAcceptable) {
                it.remove();
            }
        }
    }

    private RoundState.Global ensureInitialised(String federationId, Collector<OutRecord> out)
            throws Exception {
        RoundState.Global g = global.value();
        if (g == null) {
            FederationSpec spec = federations.get(federationId);
            if (spec == null) {
                throw new IllegalStateException(
                        "federation " + federationId + " is not configured");
            }
            Optional<GlobalModel> published = lookup.latest(federationId);
            if (published.isPresent()) {
                g = adopt(spec, published.get());
            } else {
                g = new RoundState.Global(0, toArrays(spec, spec.initialValues()));
                Map<String, String> params = new LinkedHashMap<>();
                params.put("seed", Long.toString(spec.seed()));
                params.put("init", spec.tensors().toString());
                long now = System.currentTimeMillis();
                GlobalModel v0 =
                        globalModel(
                                spec,
                                0,
                                -1,
                                g.tensors,
                                CloseReason.GENESIS,
                                "genesis",
                                params,
                                List.of(),
                                0,
                                now,
                                now);
                out.collect(new OutRecord(federationId, AvroCodec.GLOBAL_MODEL.encode(v0)));
                versionsPublished.inc();
                LOG.info(
                        "federation {}: created version 0 ({} parameters)",
                        federationId,
                        spec.parameterCount());
            }
            global.update(g);
        }
        registerVersionGauge(federationId, g.version);
        return g;
    }

    private RoundState.Global adopt(FederationSpec spec, GlobalModel published) throws Exception {
        Map<String, float[]> values = TensorCodec.toMap(published.getTensors());
        for (TensorSpec t : spec.tensors()) {
            float[] v = values.get(t.name());
            if (v == null || v.length != t.size()) {
                throw new IllegalStateException(
                        "published version "
                                + published.getVersion()
                                + " of federation "
                                + spec.id()
                                + " does not match its configured spec at tensor "
                                + t.name()
                                + "; start a new federation id or fix the spec");
            }
        }
        for (Contribution c : published.getManifest().getContributions()) {
            seen.put(c.getUpdateId(), c.getBaseVersion());
        }
        return new RoundState.Global(published.getVersion(), toArrays(spec, values));
    }

    private void registerVersionGauge(String federationId, long version) {
        if (!currentVersions.containsKey(federationId)) {
            metrics.addGroup("federation", federationId)
                    .gauge("currentVersion", () -> currentVersions.get(federationId));
        }
        currentVersions.put(federationId, version);
    }

    private void reject(Context ctx, ValidUpdate u, RejectReason reason, String detail) {
        rejected.inc(reason);
        ctx.output(
                REJECTED,
                Rejections.of(
                        updatesTopic,
                        u.sourcePartition,
                        u.sourceOffset,
                        reason,
                        detail,
                        u.federationId,
                        u.siteId,
                        u.updateId));
    }

    static GlobalModel globalModel(
            FederationSpec spec,
            long version,
            long parent,
            float[][] tensors,
            CloseReason reason,
            String rule,
            Map<String, String> params,
            List<Contribution> contributions,
            double totalWeight,
            long openedAtMs,
            long closedAtMs) {
        List<Tensor> out = new ArrayList<>(tensors.length);
        for (int t = 0; t < tensors.length; t++) {
            TensorSpec ts = spec.tensors().get(t);
            out.add(TensorCodec.float32(ts.name(), ts.shape(), tensors[t]));
        }
        Manifest manifest =
                Manifest.newBuilder()
                        .setCloseReason(reason)
                        .setRule(rule)
                        .setRuleParams(params)
                        .setContributions(contributions)
                        .setTotalWeight(totalWeight)
                        .setRoundOpenedAtMs(Instant.ofEpochMilli(openedAtMs))
                        .setRoundClosedAtMs(Instant.ofEpochMilli(closedAtMs))
                        .setTensorsSha256(TensorCodec.sha256(out))
                        .build();
        return GlobalModel.newBuilder()
                .setFederationId(spec.id())
                .setVersion(version)
                .setParentVersion(parent)
                .setTensors(out)
                .setManifest(manifest)
                .build();
    }

    private static float[][] toArrays(FederationSpec spec, Map<String, float[]> values) {
        float[][] out = new float[spec.tensors().size()][];
        for (int t = 0; t < out.length; t++) {
            out[t] = values.get(spec.tensors().get(t).name());
        }
        return out;
    }

    private static LittleEndianFloats.Kind[] kinds(byte[] dtypes) {
        LittleEndianFloats.Kind[] out = new LittleEndianFloats.Kind[dtypes.length];
        for (int i = 0; i < dtypes.length; i++) {
            out[i] = LittleEndianFloats.Kind.values()[dtypes[i]];
        }
        return out;
    }
}
