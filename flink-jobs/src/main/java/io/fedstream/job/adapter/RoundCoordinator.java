package io.fedstream.job.adapter;

import io.fedstream.aggregation.robust.NormClipping;
import io.fedstream.aggregation.round.RoundRules;
import io.fedstream.job.Decision;
import io.fedstream.job.OutRecord;
import io.fedstream.job.PrivacySpend;
import io.fedstream.job.RejectionCounters;
import io.fedstream.job.Rejections;
import io.fedstream.job.RoundPolicy;
import io.fedstream.job.RoundState;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import java.time.Duration;
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
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
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

// Over 600 lines: the keyed function owning all the coordinator's savepoint-named states.
/**
 * Decides round membership once per federation (keyed by federation id); the chunk aggregators
 * apply the decisions to every chunk. It sees no tensor data, only update headers (manifests) and
 * chunk receipts (digest and sum of squares, computed by validation).
 *
 * <p>Input 1 is a federation id (once per configured federation at start): the federation gets a
 * current version, continuing from the newest published one ({@link Decision#CONTINUE}) or from
 * version 0 of its spec ({@link Decision#GENESIS}). Input 2 carries {@link UpdateEvent}s, which
 * {@link UpdateAssembly} assembles into complete updates (and rejects at their assembly deadline if
 * they stay incomplete). A complete update is checked as the whole update was before chunking: the
 * round rules' admission ({@link RoundRules}: duplicate, base version from the future, staleness),
 * the L2 norm (from the receipts' sums of squares, summed in chunk order) and, with central DP, the
 * site's budget ({@link PrivacyBookkeeping}). An accepted update becomes a {@link Decision#MEMBER}
 * of the open round, with its weight {@code examples × f(staleness)} and, for norm clipping, its
 * clip factor. Every data copy of a chunk validation forwarded is covered by exactly one decision
 * (the member's copy, or a {@link Decision#DROP}), so the aggregators' buffers never leak, and
 * every chunk record that does not end up in a version is dead-lettered exactly once ({@link
 * UpdateAssembly}).
 *
 * <p>Rounds close by the round rules: at {@code quorum} members, or at the deadline with at least
 * {@code minUpdates}. The close is a {@link Decision#CLOSE} to every chunk and the version's
 * manifest ({@link VersionManifests}, without chunk digests) to the {@link VersionPublisher}
 * ({@link #VERSIONS}).
 */
public class RoundCoordinator
        extends KeyedCoProcessFunction<String, String, UpdateEvent, Decision> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RoundCoordinator.class);

    public static final OutputTag<OutRecord> REJECTED =
            new OutputTag<>("rejected-by-coordinator", TypeInformation.of(OutRecord.class));
    public static final OutputTag<VersionInfo> VERSIONS =
            new OutputTag<>("version-manifests", TypeInformation.of(VersionInfo.class));

    /** PrivacyLedger records of federations with central DP, one per version. */
    public static final OutputTag<OutRecord> LEDGER =
            new OutputTag<>("privacy-ledger", TypeInformation.of(OutRecord.class));

    /** The rule name in the manifest of a DP-FedAvg version. */
    public static final String DP_RULE = RoundPolicy.DP_RULE;

    private final Map<String, FederationSpec> federations;
    private final RoundPolicy policy;
    private final RoundRules rules;
    private final LatestVersionLookup lookup;
    private final String updatesTopic;
    private final long assemblyTimeoutMs;
    private final double maxL2Norm;
    private final LedgerLookup ledgerLookup;

    private transient Map<String, ChunkLayout> layouts;
    private transient ValueState<Long> version;
    private transient ValueState<RoundState.Meta> meta;
    private transient ListState<RoundState.Entry> entries;
    private transient MapState<String, Long> seen;
    private transient MapState<String, RoundState.Pending> pending;
    private transient MapState<String, RoundState.Slot> slots;

    /** The manifest's digest of each chunk of a pending update, keyed like the slots. */
    private transient MapState<String, String> digests;

    /** The assembly of chunked updates, on the three pending-* states above. */
    private transient UpdateAssembly assembly;

    /**
     * Set once the federation's pending updates are keyed by (site, update id); absent in state
     * restored from an earlier job version, whose pending updates are re-keyed on first use.
     */
    private transient ValueState<Boolean> keyedBySite;

    /** Federations with central DP: each site's spend over the closed versions (by site id). */
    private transient MapState<String, PrivacySpend> privacySpent;

    /**
     * Federations with central DP: the local DP (clip norm, noise multiplier) a pending or accepted
     * update declared, by update key, until its version's ledger record is written.
     */
    private transient MapState<String, double[]> localDpDeclared;

    /** Central DP: the spend and declared local DP above, the budget check, the ledger. */
    private transient PrivacyBookkeeping privacyBooks;

    private transient Counter accepted;
    private transient Counter versionsPublished;
    private transient RejectionCounters rejected;
    private transient Histogram staleness;
    private transient Histogram roundDurationMs;
    private transient Histogram contributorsPerRound;
    private transient Map<String, Long> currentVersions;
    private transient MetricGroup metrics;

    public RoundCoordinator(
            Map<String, FederationSpec> federations,
            RoundPolicy policy,
            LatestVersionLookup lookup,
            String updatesTopic,
            Duration assemblyTimeout,
            double maxL2Norm) {
        this(federations, policy, lookup, updatesTopic, assemblyTimeout, maxL2Norm, null);
    }

    /**
     * @param ledgerLookup where a federation with central DP that continues from a published
     *     version (a start without state) reads its sites' spend; may be null if no federation has
     *     privacy in its spec
     */
    public RoundCoordinator(
            Map<String, FederationSpec> federations,
            RoundPolicy policy,
            LatestVersionLookup lookup,
            String updatesTopic,
            Duration assemblyTimeout,
            double maxL2Norm,
            LedgerLookup ledgerLookup) {
        this.ledgerLookup = ledgerLookup;
        this.federations = Map.copyOf(federations);
        this.policy = policy;
        this.rules = policy.rules();
        this.lookup = lookup;
        this.updatesTopic = updatesTopic;
        this.assemblyTimeoutMs = assemblyTimeout.toMillis();
        this.maxL2Norm = maxL2Norm;
        if (assemblyTimeoutMs <= 0) {
            throw new IllegalArgumentException("assembly timeout must be positive");
        }
    }

    /** The map state {@code name} of the current key: String keys, {@code values} values. */
    private <V> MapState<String, V> keyedMap(String name, TypeInformation<V> values) {
        return getRuntimeContext()
                .getMapState(new MapStateDescriptor<>(name, Types.STRING, values));
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        layouts = new HashMap<>();
        federations.forEach((id, spec) -> layouts.put(id, spec.layout()));
        version = getRuntimeContext().getState(new ValueStateDescriptor<>("version", Types.LONG));
        meta =
                getRuntimeContext()
                        .getState(new ValueStateDescriptor<>("round-meta", RoundState.Meta.class));
        entries =
                getRuntimeContext()
                        .getListState(
                                new ListStateDescriptor<>("round-entries", RoundState.Entry.class));
        seen = keyedMap("seen-update-ids", Types.LONG);
        pending = keyedMap("pending-updates", TypeInformation.of(RoundState.Pending.class));
        slots = keyedMap("pending-chunks", TypeInformation.of(RoundState.Slot.class));
        digests = keyedMap("pending-digests", Types.STRING);
        assembly = new UpdateAssembly(layouts, assemblyTimeoutMs, pending, slots, digests);
        keyedBySite =
                getRuntimeContext()
                        .getState(new ValueStateDescriptor<>("keyed-by-site", Types.BOOLEAN));
        privacySpent = keyedMap("privacy-spent", TypeInformation.of(PrivacySpend.class));
        localDpDeclared =
                keyedMap(
                        "local-dp-declared",
                        PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO);

        privacyBooks = new PrivacyBookkeeping(privacySpent, localDpDeclared);

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
    public void processElement1(String federationId, Context ctx, Collector<Decision> out)
            throws Exception {
        ensureInitialised(federationId, ctx, out);
    }

    @Override
    public void processElement2(UpdateEvent e, Context ctx, Collector<Decision> out)
            throws Exception {
        ensureInitialised(e.federationId, ctx, out);
        String id = e.updateId;
        // An update is the pair (site, update id): another site's record under the same id is
        // another update and can neither replace nor veto this one.
        String key = UpdateKey.of(e.siteId, id);
        // seen.contains(id): a bare id accepted by a job version before updates were keyed by site
        // (validation refuses ids with NUL, so only such entries can match)
        if (seen.contains(key) || seen.contains(id)) {
            assembly.replayed(e, rules.duplicate(id, e.siteId), outputs(ctx, out));
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        RoundState.Pending p = assembly.receive(e, key, now, ctx.timerService(), outputs(ctx, out));
        if (p == null) {
            return; // a second manifest, rejected
        }
        if (e.type == UpdateEvent.HEADER
                && e.localDpNoiseMultiplier > 0
                && federations.get(e.federationId).privacy() != null) {
            privacyBooks.declare(key, e.localDpClipNorm, e.localDpNoiseMultiplier);
        }
        tryDecide(e.federationId, p, now, ctx, out);
    }

    private void tryDecide(
            String federationId,
            RoundState.Pending p,
            long now,
            Context ctx,
            Collector<Decision> out)
            throws Exception {
        if (!assembly.complete(federationId, p)) {
            return; // complete once every chunk has a copy that matches the manifest
        }
        int n = layouts.get(federationId).chunkCount();
        String[] expected = assembly.expected(federationId, p);
        long current = version.value();
        RoundRules.Admission admission = rules.admit(current, p.baseVersion);
        if (admission instanceof RoundRules.Admission.Refused r) {
            rejectPending(
                    federationId,
                    p,
                    r.reason(),
                    r.detail(),
                    p.sourcePartition,
                    p.sourceOffset,
                    ctx,
                    out);
            return;
        }
        long s = ((RoundRules.Admission.Admitted) admission).staleness();
        RoundState.Slot[] all = assembly.slots(federationId, p);
        double sumSquares = 0;
        for (int c = 0; c < n; c++) {
            sumSquares += all[c].sumSquaresOf(expected[c]); // chunk order, as the audit sums
        }
        double norm = Math.sqrt(sumSquares);
        if (norm > maxL2Norm) {
            rejectPending(
                    federationId,
                    p,
                    RejectReason.NORM_OUT_OF_BOUNDS,
                    "update L2 norm " + norm + " > " + maxL2Norm,
                    p.sourcePartition,
                    p.sourceOffset,
                    ctx,
                    out);
            return;
        }

        PrivacySpec privacy = federations.get(federationId).privacy();
        if (privacy != null) {
            String refusal = privacyBooks.refusal(privacy, p.siteId, entries.get());
            if (refusal != null) {
                rejectPending(
                        federationId,
                        p,
                        RejectReason.BUDGET_EXHAUSTED,
                        refusal,
                        p.sourcePartition,
                        p.sourceOffset,
                        ctx,
                        out);
                return;
            }
        }

        // accepted
        double w;
        double scale;
        if (privacy != null) {
            // DP-FedAvg: weight f(s) <= 1 (checked at start), never the claimed example count,
            // and clipped to C, so a site's update moves the sum by at most C
            w = policy.staleness().apply(s);
            scale = norm > privacy.clipNorm() ? privacy.clipNorm() / norm : 1.0;
        } else {
            w = policy.weight(p.numExamples, s);
            scale = clipFactor(policy, sumSquares);
        }
        RoundState.Meta m = meta.value();
        if (m == null) {
            m = new RoundState.Meta();
            m.openedAtMs = now;
            m.deadlineMs = rules.deadline(now);
            ctx.timerService().registerProcessingTimeTimer(m.deadlineMs);
        }
        for (int c = 0; c < n; c++) {
            Decision d = decision(Decision.MEMBER, federationId, c, current + 1);
            d.updateId = p.updateId;
            d.siteId = p.siteId;
            d.sha256 = expected[c];
            d.weight = w;
            d.scale = scale;
            d.count = all[c].copies - 1;
            out.collect(d);
        }
        assembly.accepted(federationId, p, expected, outputs(ctx, out));
        m.count++;
        m.totalWeight += w;
        RoundState.Entry e = new RoundState.Entry();
        e.updateId = p.updateId;
        e.siteId = p.siteId;
        e.baseVersion = p.baseVersion;
        e.staleness = s;
        e.numExamples = p.numExamples;
        e.weight = w;
        e.sourcePartition = p.sourcePartition;
        e.sourceOffset = p.sourceOffset;
        entries.add(e);
        seen.put(key(p), p.baseVersion);
        accepted.inc();
        staleness.update(s);

        switch (rules.afterAdmission(m.count, m.overdue)) {
            case QUORUM -> close(federationId, current, m, CloseReason.QUORUM, now, ctx, out);
            case DEADLINE -> close(federationId, current, m, CloseReason.DEADLINE, now, ctx, out);
            case NONE -> meta.update(m);
        }
    }

    /**
     * The factor an update is scaled by: min(1, maxNorm/‖Δ‖) for norm clipping, else 1. The norm is
     * the square root of the chunks' sums of squares added in chunk order.
     */
    static double clipFactor(RoundPolicy policy, double sumSquares) {
        if (!policy.rule().equals(NormClipping.NAME)) {
            return 1.0;
        }
        double maxNorm = ((NormClipping) policy.robustRule()).maxNorm();
        double norm = Math.sqrt(sumSquares);
        return norm > maxNorm ? maxNorm / norm : 1.0;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Decision> out)
            throws Exception {
        String federationId = ctx.getCurrentKey();
        for (RoundState.Pending p : assembly.expire(federationId, timestamp, outputs(ctx, out))) {
            privacyBooks.forget(key(p));
        }
        RoundState.Meta m = meta.value();
        if (m == null || m.deadlineMs != timestamp) {
            return;
        }
        if (rules.atTimer(m.count, m.deadlineMs, timestamp) == RoundRules.Close.DEADLINE) {
            close(federationId, version.value(), m, CloseReason.DEADLINE, timestamp, ctx, out);
        } else {
            m.overdue = rules.overdue(m.deadlineMs, timestamp);
            meta.update(m);
        }
    }

    private void close(
            String federationId,
            long current,
            RoundState.Meta m,
            CloseReason reason,
            long now,
            Context ctx,
            Collector<Decision> out)
            throws Exception {
        FederationSpec spec = federations.get(federationId);
        ChunkLayout layout = layouts.get(federationId);
        long next = current + 1;
        List<Contribution> contributions = new ArrayList<>(m.count);
        List<String> members = new ArrayList<>(m.count);
        for (RoundState.Entry e : entries.get()) {
            members.add(UpdateKey.of(e.siteId, e.updateId));
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
        String[] memberIds = members.toArray(String[]::new);
        double denominator = m.totalWeight;
        if (policy.normalizeByExamples()) {
            denominator = 0;
            for (RoundState.Entry e : entries.get()) {
                denominator += e.numExamples;
            }
        }
        for (int c = 0; c < layout.chunkCount(); c++) {
            Decision d = decision(Decision.CLOSE, federationId, c, next);
            d.totalWeight = denominator;
            d.members = memberIds;
            out.collect(d);
        }
        String rule = policy.streaming() ? "fedavg" : policy.robustRule().describe();
        Map<String, String> params = policy.describe();
        PrivacySpec privacy = spec.privacy();
        if (privacy != null) {
            rule = DP_RULE;
            params = new LinkedHashMap<>(params);
            params.putAll(PrivacyBookkeeping.dpParams(privacy, policy.quorum()));
            ctx.output(LEDGER, privacyBooks.ledger(spec, next, entries.get(), policy.quorum()));
        }
        ctx.output(
                VERSIONS,
                VersionManifests.versionInfo(
                        VersionManifests.manifest(
                                spec,
                                next,
                                current,
                                reason,
                                rule,
                                params,
                                contributions,
                                denominator,
                                m.openedAtMs,
                                now)));
        if (reason == CloseReason.QUORUM) {
            ctx.timerService().deleteProcessingTimeTimer(m.deadlineMs);
        }
        version.update(next);
        meta.clear();
        entries.clear();
        pruneSeen(next);
        versionsPublished.inc();
        roundDurationMs.update(now - m.openedAtMs);
        contributorsPerRound.update(m.count);
        currentVersions.put(federationId, next);
        LOG.info(
                "federation {} version {}: {} updates, closed on {}",
                federationId,
                next,
                m.count,
                reason);
    }

    /** Forgets update ids that are too old to be accepted anyway: their replay is TOO_STALE. */
    private void pruneSeen(long currentVersion) throws Exception {
        Iterator<Map.Entry<String, Long>> it = seen.iterator();
        while (it.hasNext()) {
            if (rules.forgettable(it.next().getValue(), currentVersion)) {
                it.remove();
            }
        }
    }

    private void ensureInitialised(String federationId, Context ctx, Collector<Decision> out)
            throws Exception {
        Long v = version.value();
        if (v == null) {
            FederationSpec spec = federations.get(federationId);
            if (spec == null) {
                throw new IllegalStateException(
                        "federation " + federationId + " is not configured");
            }
            ChunkLayout layout = layouts.get(federationId);
            Optional<GlobalModel> published = lookup.latest(federationId);
            if (published.isPresent()) {
                GlobalModel g = published.get();
                VersionManifests.checkMatchesSpec(spec, g);
                for (Contribution c : g.getManifest().getContributions()) {
                    seen.put(UpdateKey.of(c.getSiteId(), c.getUpdateId()), c.getBaseVersion());
                }
                v = g.getVersion();
                if (spec.privacy() != null) {
                    privacyBooks.recover(federationId, v, ledgerLookup);
                }
                for (int c = 0; c < layout.chunkCount(); c++) {
                    out.collect(decision(Decision.CONTINUE, federationId, c, v));
                }
                VersionInfo baseline = new VersionInfo();
                baseline.federationId = federationId;
                baseline.version = v;
                baseline.baseline = true;
                ctx.output(VERSIONS, baseline);
                LOG.info("federation {} continues from published version {}", federationId, v);
            } else {
                v = 0L;
                for (int c = 0; c < layout.chunkCount(); c++) {
                    out.collect(decision(Decision.GENESIS, federationId, c, 0));
                }
                ctx.output(
                        VERSIONS,
                        VersionManifests.versionInfo(
                                VersionManifests.genesis(spec, System.currentTimeMillis())));
                versionsPublished.inc();
                LOG.info(
                        "federation {}: creating version 0 ({} parameters in {} chunks)",
                        federationId,
                        spec.parameterCount(),
                        layout.chunkCount());
            }
            version.update(v);
            keyedBySite.update(true);
        } else if (keyedBySite.value() == null) {
            assembly.rekeyLegacy(federationId);
            keyedBySite.update(true);
        }
        registerVersionGauge(federationId, v);
    }

    private void registerVersionGauge(String federationId, long v) {
        if (!currentVersions.containsKey(federationId)) {
            metrics.addGroup("federation", federationId)
                    .gauge("currentVersion", () -> currentVersions.get(federationId));
        }
        currentVersions.put(federationId, v);
    }

    /** Rejects a pending update and drops every data copy of its chunks sent so far. */
    private void rejectPending(
            String federationId,
            RoundState.Pending p,
            RejectReason reason,
            String detail,
            int partition,
            long offset,
            Context ctx,
            Collector<Decision> out)
            throws Exception {
        privacyBooks.forget(key(p));
        assembly.reject(federationId, p, reason, detail, outputs(ctx, out));
    }

    /** The coordinator's outputs, for the assembly. */
    private UpdateAssembly.Outputs outputs(Context ctx, Collector<Decision> out) {
        return new UpdateAssembly.Outputs() {
            @Override
            public void decide(Decision d) {
                out.collect(d);
            }

            @Override
            public void reject(
                    int partition,
                    long offset,
                    String federationId,
                    String siteId,
                    String updateId,
                    RejectReason reason,
                    String detail) {
                RoundCoordinator.this.reject(
                        ctx, partition, offset, federationId, siteId, updateId, reason, detail);
            }
        };
    }

    /** The identity of a pending update: (site, update id), see {@link UpdateKey}. */
    private static String key(RoundState.Pending p) {
        return UpdateAssembly.key(p);
    }

    private static Decision decision(byte type, String federationId, int chunk, long version) {
        Decision d = new Decision();
        d.type = type;
        d.federationId = federationId;
        d.chunkIndex = chunk;
        d.version = version;
        return d;
    }

    private void reject(
            Context ctx,
            int partition,
            long offset,
            String federationId,
            String siteId,
            String updateId,
            RejectReason reason,
            String detail) {
        rejected.inc(reason);
        ctx.output(
                REJECTED,
                Rejections.of(
                        updatesTopic,
                        partition,
                        offset,
                        reason,
                        detail,
                        federationId,
                        siteId,
                        updateId));
    }
}
