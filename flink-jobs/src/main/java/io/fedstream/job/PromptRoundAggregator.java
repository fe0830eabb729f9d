package io.fedstream.job;

import io.fedstream.aggregation.prompt.PromptMerge;
import io.fedstream.aggregation.prompt.TokenEmbeddings;
import io.fedstream.aggregation.round.RoundRules;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.GlobalPrompt;
import io.fedstream.schemas.avro.PromptCloseReason;
import io.fedstream.schemas.avro.PromptContribution;
import io.fedstream.schemas.avro.PromptManifest;
import io.fedstream.schemas.avro.PromptToken;
import io.fedstream.schemas.avro.RejectReason;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
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
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * FedDTPT's rounds, keyed by federation id: the same round rules as the adapter job ({@link
 * RoundRules}: duplicate ids, then base version and staleness limit; quorum, deadline with a
 * minimum), but a round holds the sites' prompts and closes by merging them ({@link PromptMerge}:
 * attention weights, DBSCAN with an elbow-chosen eps or KMeans, the best token per cluster in
 * position order). The round's prompts are merged sorted by update id, so a version does not depend
 * on arrival order. Input 1 (a federation id per configured federation, at start) makes sure the
 * federation has a current prompt: the newest published one ({@link PromptVersionLookup}; the
 * update ids of its manifest count as seen), or else version 0, the configured initial prompt.
 */
public class PromptRoundAggregator
        extends KeyedCoProcessFunction<String, String, ValidPrompt, OutRecord> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PromptRoundAggregator.class);

    public static final OutputTag<OutRecord> REJECTED =
            new OutputTag<>("rejected-by-prompt-round", TypeInformation.of(OutRecord.class));

    /** The federation's current global prompt. */
    public static class Current {
        public long version;
        public String[] tokens;

        public Current() {}

        Current(long version, String[] tokens) {
            this.version = version;
            this.tokens = tokens;
        }
    }

    /** An accepted prompt of the open round and its staleness at acceptance. */
    public static class Held {
        public ValidPrompt prompt;
        public long staleness;

        public Held() {}

        Held(ValidPrompt prompt, long staleness) {
            this.prompt = prompt;
            this.staleness = staleness;
        }
    }

    private final Map<String, PromptFederation> federations;
    private final RoundPolicy policy;
    private final RoundRules rules;
    private final PromptMerge.Config merge;
    private final String embeddingsFile;
    private final String updatesTopic;
    private final PromptVersionLookup lookup;

    private transient TokenEmbeddings table;
    private transient ValueState<Current> current;
    private transient ValueState<RoundState.Meta> meta;
    private transient ListState<Held> held;
    private transient MapState<String, Long> seen;
    private transient Counter accepted;
    private transient Counter versionsPublished;
    private transient RejectionCounters rejected;

    public PromptRoundAggregator(
            Map<String, PromptFederation> federations,
            RoundPolicy policy,
            PromptMerge.Config merge,
            String embeddingsFile,
            String updatesTopic,
            PromptVersionLookup lookup) {
        this.lookup = lookup;
        this.federations = Map.copyOf(federations);
        this.policy = policy;
        this.rules = policy.rules();
        this.merge = merge;
        this.embeddingsFile = embeddingsFile;
        this.updatesTopic = updatesTopic;
    }

    /** Reads the token embedding table (an FSTE file) the prompts' tokens must be in. */
    public static TokenEmbeddings embeddings(String file) {
        try {
            return TokenEmbeddings.read(Path.of(file));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(
                    "cannot read the token embedding table " + file, e);
        }
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        table = embeddings(embeddingsFile);
        current = getRuntimeContext().getState(new ValueStateDescriptor<>("prompt", Current.class));
        meta =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "prompt-round-meta", RoundState.Meta.class));
        held =
                getRuntimeContext()
                        .getListState(new ListStateDescriptor<>("prompt-round-held", Held.class));
        seen =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>(
                                        "seen-prompt-update-ids", Types.STRING, Types.LONG));
        accepted = getRuntimeContext().getMetricGroup().counter("updatesAccepted");
        versionsPublished = getRuntimeContext().getMetricGroup().counter("versionsPublished");
        rejected = new RejectionCounters(getRuntimeContext().getMetricGroup());
    }

    @Override
    public void processElement1(String federationId, Context ctx, Collector<OutRecord> out)
            throws Exception {
        ensureInitialised(federationId, out);
    }

    @Override
    public void processElement2(ValidPrompt p, Context ctx, Collector<OutRecord> out)
            throws Exception {
        Current g = ensureInitialised(p.federationId, out);
        RoundRules.Admission admission =
                rules.admit(
                        g.version, p.baseVersion, seen.contains(p.updateId), p.updateId, p.siteId);
        if (admission instanceof RoundRules.Admission.Refused r) {
            reject(ctx, p, r.reason(), r.detail());
            return;
        }
        long s = ((RoundRules.Admission.Admitted) admission).staleness();
        long now = ctx.timerService().currentProcessingTime();
        RoundState.Meta m = meta.value();
        if (m == null) {
            m = new RoundState.Meta();
            m.openedAtMs = now;
            m.deadlineMs = rules.deadline(now);
            ctx.timerService().registerProcessingTimeTimer(m.deadlineMs);
        }
        held.add(new Held(p, s));
        seen.put(p.updateId, p.baseVersion);
        m.count++;
        accepted.inc();
        switch (rules.afterAdmission(m.count, m.overdue)) {
            case QUORUM -> {
                ctx.timerService().deleteProcessingTimeTimer(m.deadlineMs);
                close(p.federationId, g, m, PromptCloseReason.QUORUM, now, out);
            }
            case DEADLINE -> close(p.federationId, g, m, PromptCloseReason.DEADLINE, now, out);
            case NONE -> meta.update(m);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<OutRecord> out)
            throws Exception {
        RoundState.Meta m = meta.value();
        if (m == null || m.deadlineMs != timestamp) {
            return;
        }
        if (rules.atTimer(m.count, m.deadlineMs, timestamp) == RoundRules.Close.DEADLINE) {
            close(
                    ctx.getCurrentKey(),
                    current.value(),
                    m,
                    PromptCloseReason.DEADLINE,
                    timestamp,
                    out);
        } else {
            m.overdue = rules.overdue(m.deadlineMs, timestamp);
            meta.update(m);
        }
    }

    private void close(
            String federationId,
            Current g,
            RoundState.Meta m,
            PromptCloseReason reason,
            long now,
            Collector<OutRecord> out)
            throws Exception {
        List<Held> round = new ArrayList<>();
        held.get().forEach(round::add);
        round.sort(Comparator.comparing(h -> h.prompt.updateId));
        List<PromptMerge.ClientPrompt> prompts = new ArrayList<>();
        List<PromptContribution> contributions = new ArrayList<>();
        for (Held h : round) {
            prompts.add(
                    new PromptMerge.ClientPrompt(h.prompt.siteId, Arrays.asList(h.prompt.tokens)));
            contributions.add(
                    PromptContribution.newBuilder()
                            .setUpdateId(h.prompt.updateId)
                            .setSiteId(h.prompt.siteId)
                            .setBaseVersion(h.prompt.baseVersion)
                            .setStaleness(h.staleness)
                            .setAccuracy(h.prompt.accuracy)
                            .setApiCalls(h.prompt.apiCalls)
                            .setNumExamples(h.prompt.numExamples)
                            .setSourcePartition(h.prompt.sourcePartition)
                            .setSourceOffset(h.prompt.sourceOffset)
                            .build());
        }
        PromptMerge.Result merged = PromptMerge.merge(prompts, table::vector, merge);
        List<String> words = merged.words();
        List<String> sources =
                merged.tokens().stream().map(PromptMerge.MergedToken::clientId).toList();
        Map<String, String> params = new LinkedHashMap<>(policy.describe());
        params.remove("server_learning_rate");
        params.remove("accumulation");
        params.put("eps", Double.toString(merged.eps()));
        params.put("clusters", Integer.toString(merged.clusters()));
        params.put("noise_tokens", Integer.toString(merged.noise()));
        params.put("embeddings", Path.of(embeddingsFile).getFileName().toString());
        params.put("order", "sorted by update id");
        long version = g.version + 1;
        GlobalPrompt prompt =
                globalPrompt(
                        federationId,
                        version,
                        g.version,
                        words,
                        reason,
                        merge.describe(),
                        params,
                        contributions,
                        sources,
                        m.openedAtMs,
                        now);
        out.collect(new OutRecord(federationId, AvroCodec.GLOBAL_PROMPT.encode(prompt)));
        current.update(new Current(version, words.toArray(String[]::new)));
        meta.clear();
        held.clear();
        pruneSeen(version);
        versionsPublished.inc();
        LOG.info(
                "prompt federation {} version {}: {} prompts, closed on {}: {}",
                federationId,
                version,
                round.size(),
                reason,
                String.join(" ", words));
    }

    private void pruneSeen(long version) throws Exception {
        Iterator<Map.Entry<String, Long>> it = seen.iterator();
        while (it.hasNext()) {
            if (rules.forgettable(it.next().getValue(), version)) {
                it.remove();
            }
        }
    }

    private Current ensureInitialised(String federationId, Collector<OutRecord> out)
            throws Exception {
        Current g = current.value();
        if (g == null) {
            PromptFederation f = federations.get(federationId);
            if (f == null) {
                throw new IllegalStateException(
                        "prompt federation " + federationId + " is not configured");
            }
            for (String t : f.initialTokens()) {
                if (!table.contains(t)) {
                    throw new IllegalStateException(
                            "initial token '"
                                    + t
                                    + "' of "
                                    + federationId
                                    + " is not in the vocabulary");
                }
            }
            Optional<GlobalPrompt> published = lookup.latest(federationId);
            if (published.isPresent()) {
                GlobalPrompt p = published.get();
                g =
                        new Current(
                                p.getVersion(),
                                p.getTokens().stream()
                                        .map(PromptToken::getToken)
                                        .toArray(String[]::new));
                for (PromptContribution c : p.getManifest().getContributions()) {
                    seen.put(c.getUpdateId(), c.getBaseVersion());
                }
                current.update(g);
                return g;
            }
            g = new Current(0, f.initialTokens().toArray(String[]::new));
            long now = System.currentTimeMillis();
            GlobalPrompt v0 =
                    globalPrompt(
                            federationId,
                            0,
                            -1,
                            f.initialTokens(),
                            PromptCloseReason.GENESIS,
                            "genesis",
                            Map.of(),
                            List.of(),
                            List.of(),
                            now,
                            now);
            out.collect(new OutRecord(federationId, AvroCodec.GLOBAL_PROMPT.encode(v0)));
            versionsPublished.inc();
            current.update(g);
        }
        return g;
    }

    private void reject(Context ctx, ValidPrompt p, RejectReason reason, String detail) {
        rejected.inc(reason);
        ctx.output(
                REJECTED,
                Rejections.of(
                        updatesTopic,
                        p.sourcePartition,
                        p.sourceOffset,
                        reason,
                        detail,
                        p.federationId,
                        p.siteId,
                        p.updateId));
    }

    static GlobalPrompt globalPrompt(
            String federationId,
            long version,
            long parent,
            List<String> words,
            PromptCloseReason reason,
            String rule,
            Map<String, String> params,
            List<PromptContribution> contributions,
            List<String> sources,
            long openedAtMs,
            long closedAtMs) {
        List<PromptToken> tokens = new ArrayList<>(words.size());
        for (int i = 0; i < words.size(); i++) {
            tokens.add(PromptToken.newBuilder().setToken(words.get(i)).setPosition(i).build());
        }
        return GlobalPrompt.newBuilder()
                .setFederationId(federationId)
                .setVersion(version)
                .setParentVersion(parent)
                .setTokens(tokens)
                .setManifest(
                        PromptManifest.newBuilder()
                                .setCloseReason(reason)
                                .setRule(rule)
                                .setRuleParams(new HashMap<>(params))
                                .setContributions(contributions)
                                .setSources(sources)
                                .setRoundOpenedAtMs(Instant.ofEpochMilli(openedAtMs))
                                .setRoundClosedAtMs(Instant.ofEpochMilli(closedAtMs))
                                .build())
                .build();
    }
}
