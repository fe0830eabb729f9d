package io.fedstream.job.adapter;

import static io.fedstream.job.FedStreamOptions.*;

import io.fedstream.aggregation.privacy.SiteBudget;
import io.fedstream.aggregation.robust.MultiKrum;
import io.fedstream.job.ChunkData;
import io.fedstream.job.Decision;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.JobEnvironment;
import io.fedstream.job.KafkaIo;
import io.fedstream.job.OutRecord;
import io.fedstream.job.RawRecord;
import io.fedstream.job.RoundPolicy;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.SiteKeys;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;

/**
 * The FedStream aggregation job:
 *
 * <pre>
 * updates source ─► validate ─┬─ headers, receipts ─► keyBy(federation) ─► round coordinator
 *                             │                                              │ decisions
 *                             └─ chunk data ───────► keyBy(federation#chunk) ─► chunk aggregation
 *                                                                │ digests       │ global chunks
 *            manifests (coordinator) + digests ─► keyBy(federation) ─► version publisher
 *            global chunks + version manifests ─► global-models sink
 *            rejections (validation, coordinator) ─► rejected-updates sink
 * </pre>
 *
 * <p>Source and sinks are passed in ({@link Io}), so tests can drive the same pipeline; {@link
 * Io#kafka} gives the production ones: a read_committed KafkaSource and two exactly-once
 * transactional KafkaSinks.
 */
public final class AggregationJob {
    private AggregationJob() {}

    /**
     * The job's connections to the outside world.
     *
     * @param ledger the privacy-ledger sink, needed only if a federation has privacy in its spec
     * @param ledgerLookup reads the ledger when such a federation starts without state
     */
    public record Io(
            Source<RawRecord, ?, ?> updates,
            Sink<OutRecord> globalModels,
            Sink<OutRecord> rejected,
            LatestVersionLookup lookup,
            Sink<FeedbackRecord> feedback,
            FeedbackTopics feedbackTopics,
            Sink<OutRecord> ledger,
            LedgerLookup ledgerLookup) {

        /** With feedback to the sites, without a privacy ledger. */
        public Io(
                Source<RawRecord, ?, ?> updates,
                Sink<OutRecord> globalModels,
                Sink<OutRecord> rejected,
                LatestVersionLookup lookup,
                Sink<FeedbackRecord> feedback,
                FeedbackTopics feedbackTopics) {
            this(updates, globalModels, rejected, lookup, feedback, feedbackTopics, null, null);
        }

        /** With a privacy ledger, without feedback to the sites. */
        public Io(
                Source<RawRecord, ?, ?> updates,
                Sink<OutRecord> globalModels,
                Sink<OutRecord> rejected,
                LatestVersionLookup lookup,
                Sink<OutRecord> ledger,
                LedgerLookup ledgerLookup) {
            this(updates, globalModels, rejected, lookup, null, null, ledger, ledgerLookup);
        }

        /** Without feedback to the sites and without a privacy ledger. */
        public Io(
                Source<RawRecord, ?, ?> updates,
                Sink<OutRecord> globalModels,
                Sink<OutRecord> rejected,
                LatestVersionLookup lookup) {
            this(updates, globalModels, rejected, lookup, null, null, null, null);
        }

        /** Kafka source and exactly-once sinks as configured ({@link KafkaIo}). */
        public static Io kafka(ReadableConfig conf) {
            KafkaIo kafka = new KafkaIo(conf);
            String ids = conf.get(TRANSACTIONAL_ID_PREFIX);
            boolean feedback = !conf.get(FEEDBACK_TOPIC_PREFIX).isEmpty();
            return new Io(
                    kafka.updates(conf.get(UPDATES_TOPIC), conf.get(CONSUMER_GROUP)),
                    kafka.sink(conf.get(GLOBAL_MODELS_TOPIC), ids + "-global"),
                    kafka.sink(conf.get(REJECTED_TOPIC), ids + "-rejected"),
                    new KafkaLatestVersionLookup(
                            kafka.lookupProperties(), conf.get(GLOBAL_MODELS_TOPIC)),
                    feedback ? kafka.sink(new FeedbackRecordSerializer(), ids + "-feedback") : null,
                    feedback
                            ? new FeedbackTopics(
                                    kafka.adminProperties(),
                                    conf.get(FEEDBACK_CREATE_TOPICS),
                                    conf.get(FEEDBACK_MAX_TOPICS))
                            : null,
                    kafka.sink(conf.get(PRIVACY_LEDGER_TOPIC), ids + "-ledger"),
                    new KafkaLedgerLookup(
                            kafka.lookupProperties(), conf.get(PRIVACY_LEDGER_TOPIC)));
        }
    }

    /** The round policy the configuration describes ({@link FedStreamOptions#roundPolicy}). */
    public static RoundPolicy roundPolicy(ReadableConfig conf) {
        return FedStreamOptions.roundPolicy(conf);
    }

    /**
     * Checks that the rule can run on every federation. Multi-Krum scores each update by its
     * distances to the others, which needs whole updates, while the job aggregates chunk by chunk
     * on different subtasks: it runs only for federations whose update is a single chunk (its
     * {@code chunkElements} at least its parameter count).
     */
    public static void checkRuleFits(RoundPolicy policy, Collection<FederationSpec> federations) {
        if (!policy.rule().equals(MultiKrum.NAME)) {
            return;
        }
        for (FederationSpec f : federations) {
            int chunks = f.layout().chunkCount();
            if (chunks > 1) {
                throw new IllegalArgumentException(
                        "aggregation rule multi-krum needs distances between whole updates, and the"
                                + " job aggregates chunk by chunk: it runs only for federations"
                                + " whose update is one chunk, but federation "
                                + f.id()
                                + " has "
                                + f.parameterCount()
                                + " parameters in "
                                + chunks
                                + " chunks of "
                                + f.chunkElements()
                                + ". Raise its chunkElements to at least "
                                + f.parameterCount()
                                + " (and the topics' record limits to match), or use"
                                + " norm-clipping, median or trimmed-mean (see"
                                + " docs/algorithms.md).");
            }
        }
    }

    /**
     * Checks, before anything runs, that central DP can hold its promise for every federation with
     * privacy in its spec: plain FedAvg as the rule (the clipped sum is what is noised), staleness
     * weights at most 1 (so a site moves the sum by at most C), a budget that allows at least one
     * version, and a secret to key the noise. Messages name the field to fix.
     */
    public static void checkPrivacy(
            RoundPolicy policy, Collection<FederationSpec> federations, boolean hasSecret) {
        for (FederationSpec f : federations) {
            PrivacySpec p = f.privacy();
            if (p == null) {
                continue;
            }
            String where = "federation " + f.id() + ": ";
            if (!policy.streaming()) {
                throw new IllegalArgumentException(
                        where
                                + "privacy (DP-FedAvg) noises the clipped FedAvg sum and needs "
                                + AGGREGATION_RULE.key()
                                + "=fedavg, not "
                                + policy.rule());
            }
            for (long s = 0; s <= policy.maxStaleness(); s++) {
                double w = policy.staleness().apply(s);
                if (!(w >= 0 && w <= 1)) {
                    throw new IllegalArgumentException(
                            where
                                    + "privacy needs staleness weights in [0, 1] (they bound a"
                                    + " site's sensitivity), but "
                                    + STALENESS_FUNCTION.key()
                                    + " gives f("
                                    + s
                                    + ") = "
                                    + w);
                }
            }
            double one = SiteBudget.oneVersion(p.noiseMultiplier(), p.delta());
            if (p.epsilonBudget() < one) {
                throw new IllegalArgumentException(
                        where
                                + "privacy.epsilonBudget "
                                + p.epsilonBudget()
                                + " is below the cost of one version, epsilon "
                                + one
                                + " at delta "
                                + p.delta()
                                + " with noiseMultiplier "
                                + p.noiseMultiplier()
                                + ": no update could ever be accepted");
            }
            if (!hasSecret) {
                throw new IllegalArgumentException(
                        where
                                + "privacy needs "
                                + PRIVACY_SECRET_FILE.key()
                                + ": the job secret that keys the noise");
            }
        }
    }

    /** The federations of the configured specs file. */
    public static List<FederationSpec> federations(ReadableConfig conf) {
        String file =
                conf.getOptional(FEDERATIONS_FILE)
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                FEDERATIONS_FILE.key()
                                                        + " is required: a JSON file of federation"
                                                        + " specs (see ./fedstream spec)"));
        return FederationSpec.readAll(Path.of(file));
    }

    /** Checkpointing, parallelism and state backend as configured ({@link JobEnvironment}). */
    public static void configureEnvironment(StreamExecutionEnvironment env, ReadableConfig conf) {
        JobEnvironment.configure(env, conf);
    }

    /** Adds the pipeline to {@code env}. */
    public static void build(
            StreamExecutionEnvironment env,
            ReadableConfig conf,
            List<FederationSpec> federations,
            Io io) {
        build(env, conf, federations, io, UnaryOperator.identity());
    }

    /**
     * Adds the pipeline to {@code env}, with {@code afterSource} applied to the raw records between
     * the source and validation. Production uses the identity; the fault-tolerance tests insert a
     * pass-through operator there that fails at chosen points of the checkpoint cycle.
     */
    public static void build(
            StreamExecutionEnvironment env,
            ReadableConfig conf,
            List<FederationSpec> federations,
            Io io,
            UnaryOperator<DataStream<RawRecord>> afterSource) {
        AvroCodec.trustGeneratedClasses();
        // Chained operators hand records on instead of copying them: a copy of every 512 KiB
        // chunk record between the source and validation was a sixth of the job's allocation.
        // Safe here: no function keeps or changes a record it was given (keyed operators get
        // fresh objects from the network and keep those).
        env.getConfig().enableObjectReuse();
        Map<String, FederationSpec> byId = new LinkedHashMap<>();
        for (FederationSpec f : federations) {
            if (byId.put(f.id(), f) != null) {
                throw new IllegalArgumentException("federation " + f.id() + " is configured twice");
            }
        }
        UpdateValidator validator =
                new UpdateValidator(
                        byId,
                        new UpdateValidator.Limits(
                                conf.get(MAX_EXAMPLES),
                                conf.get(MAX_ABS_VALUE),
                                conf.get(MAX_L2_NORM)),
                        conf.getOptional(SITE_KEYS_FILE)
                                .map(f -> SiteKeys.read(Path.of(f)))
                                .orElse(null));

        RoundPolicy policy = roundPolicy(conf);
        checkRuleFits(policy, byId.values());
        boolean private_ = byId.values().stream().anyMatch(f -> f.privacy() != null);
        JobSecret secret = conf.getOptional(PRIVACY_SECRET_FILE).map(JobSecret::file).orElse(null);
        checkPrivacy(policy, byId.values(), secret != null);
        if (private_ && io.ledger() == null) {
            throw new IllegalArgumentException(
                    "a federation has privacy in its spec but the job has no privacy-ledger sink");
        }
        if (secret != null) {
            secret.read(); // a missing or short file fails here, at start
        }
        java.time.Duration assemblyTimeout =
                conf.getOptional(ASSEMBLY_TIMEOUT).orElse(conf.get(ROUND_TIMEOUT));

        DataStream<RawRecord> raw =
                afterSource.apply(
                        env.fromSource(
                                        io.updates(),
                                        WatermarkStrategy.noWatermarks(),
                                        "adapter-updates")
                                .uid("updates-source"));
        SingleOutputStreamOperator<ChunkData> chunks =
                raw.process(new ValidateUpdates(validator))
                        .uid("validate-updates")
                        .name("validate updates");

        DataStream<String> genesis =
                env.fromData(Types.STRING, new ArrayList<>(byId.keySet()).toArray(String[]::new))
                        .uid("federations")
                        .name("configured federations")
                        .setParallelism(1);

        // Membership is decided once per federation ...
        SingleOutputStreamOperator<Decision> decisions =
                genesis.keyBy(id -> id, Types.STRING)
                        .connect(
                                chunks.getSideOutput(ValidateUpdates.EVENTS)
                                        .keyBy(e -> e.federationId, Types.STRING))
                        .process(
                                new RoundCoordinator(
                                        byId,
                                        policy,
                                        io.lookup(),
                                        conf.get(UPDATES_TOPIC),
                                        assemblyTimeout,
                                        conf.get(MAX_L2_NORM),
                                        io.ledgerLookup()))
                        .uid("round-coordinator")
                        .name("round coordinator");

        // ... and applied to every chunk, aggregated in parallel keyed by federation#chunk.
        SingleOutputStreamOperator<ChunkDigest> digests =
                chunks.keyBy(ChunkData::key, Types.STRING)
                        .connect(decisions.keyBy(Decision::key, Types.STRING))
                        .process(
                                new ChunkAggregator(
                                        byId, policy, io.lookup(), private_ ? secret : null))
                        .uid("chunk-aggregator")
                        .name("chunk aggregation");

        SingleOutputStreamOperator<OutRecord> manifests =
                decisions
                        .getSideOutput(RoundCoordinator.VERSIONS)
                        .keyBy(v -> v.federationId, Types.STRING)
                        .connect(digests.keyBy(d -> d.federationId, Types.STRING))
                        .process(new VersionPublisher(byId))
                        .uid("version-publisher")
                        .name("version publisher");

        digests.getSideOutput(ChunkAggregator.GLOBAL_CHUNKS)
                .union(manifests)
                .sinkTo(io.globalModels())
                .uid("global-models-sink")
                .name("global-models");
        DataStream<OutRecord> deadLetters =
                chunks.getSideOutput(ValidateUpdates.REJECTED)
                        .union(decisions.getSideOutput(RoundCoordinator.REJECTED));
        deadLetters.sinkTo(io.rejected()).uid("rejected-sink").name("rejected-updates");
        // Stateless: logs each dead letter (rate-limited) and tells its site (feedback topics).
        SingleOutputStreamOperator<FeedbackRecord> feedback =
                deadLetters
                        .flatMap(
                                new DeadLetters(
                                        io.feedback() == null
                                                ? ""
                                                : conf.get(FEEDBACK_TOPIC_PREFIX),
                                        conf.getOptional(SITE_KEYS_FILE)
                                                .map(
                                                        f ->
                                                                (java.util.Set<String>)
                                                                        new java.util.HashSet<>(
                                                                                SiteKeys.read(
                                                                                                Path
                                                                                                        .of(
                                                                                                                f))
                                                                                        .sites()
                                                                                        .keySet()))
                                                .orElse(null),
                                        io.feedback() == null ? null : io.feedbackTopics(),
                                        conf.get(DEAD_LETTER_LOG_PER_MINUTE)))
                        .uid("dead-letters")
                        .name("dead letters: log, tell sites");
        if (io.feedback() != null) {
            feedback.sinkTo(io.feedback()).uid("feedback-sink").name("site feedback");
        }
        if (private_) {
            decisions
                    .getSideOutput(RoundCoordinator.LEDGER)
                    .sinkTo(io.ledger())
                    .uid("privacy-ledger-sink")
                    .name("privacy-ledger");
        }
    }

    /** Builds the configured job on {@code env} and runs it (blocking). */
    public static void run(StreamExecutionEnvironment env, ReadableConfig conf) throws Exception {
        configureEnvironment(env, conf);
        build(env, conf, federations(conf), Io.kafka(conf));
        env.execute(conf.get(JOB_NAME));
    }

    /**
     * Entry point for {@code flink run}: every option of {@link FedStreamOptions} may be given as
     * {@code --<key> <value>}, e.g. {@code --fedstream.round.quorum 5}.
     */
    public static void main(String[] args) throws Exception {
        Configuration conf = Configuration.fromMap(ParameterTool.fromArgs(args).toMap());
        run(StreamExecutionEnvironment.getExecutionEnvironment(conf), conf);
    }
}
