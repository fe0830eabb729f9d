package io.fedstream.job;

import static org.apache.flink.configuration.ConfigOptions.key;

import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.kafka.ClientIds;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Every setting of the aggregation job, typed, with its default and documentation. This class is
 * the one place the job's configuration is defined; the README's configuration table is generated
 * from it ({@code ./fedstream job --help-config}).
 */
public final class FedStreamOptions {
    private FedStreamOptions() {}

    // ---- Kafka -------------------------------------------------------------------------------

    public static final ConfigOption<String> BOOTSTRAP_SERVERS =
            key("fedstream.kafka.bootstrap-servers")
                    .stringType()
                    .defaultValue("localhost:9092")
                    .withDescription("Kafka bootstrap servers of the federation's cluster.");

    public static final ConfigOption<String> CLIENT_PROPERTIES_FILE =
            key("fedstream.kafka.client-properties-file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "A Java properties file of extra Kafka client settings for the source, the"
                                    + " sinks and the version lookup: security.protocol, sasl.mechanism,"
                                    + " sasl.jaas.config, ssl.* (see docs/operations.md).");

    public static final ConfigOption<String> UPDATES_TOPIC =
            key("fedstream.topic.updates")
                    .stringType()
                    .defaultValue(Topics.ADAPTER_UPDATES)
                    .withDescription("Topic the sites publish AdapterUpdates to.");

    public static final ConfigOption<String> GLOBAL_MODELS_TOPIC =
            key("fedstream.topic.global-models")
                    .stringType()
                    .defaultValue(Topics.GLOBAL_MODELS)
                    .withDescription("Topic the job publishes GlobalModels to (exactly once).");

    public static final ConfigOption<String> REJECTED_TOPIC =
            key("fedstream.topic.rejected")
                    .stringType()
                    .defaultValue(Topics.REJECTED_UPDATES)
                    .withDescription("Dead-letter topic for records the job did not accept.");

    public static final ConfigOption<String> FEEDBACK_TOPIC_PREFIX =
            key("fedstream.topic.feedback-prefix")
                    .stringType()
                    .defaultValue(Topics.REJECTED_UPDATES + ".")
                    .withDescription(
                            "Each site's own dead letters also go to the topic of this prefix and"
                                    + " the site id (e.g. rejected-updates.site-1), which only that"
                                    + " site may read (docs/design.md#telling-a-site-its-update-was-rejected)."
                                    + " Empty: no feedback topics.");

    public static final ConfigOption<Boolean> FEEDBACK_CREATE_TOPICS =
            key("fedstream.feedback.create-topics")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Create a site's feedback topic (1 partition) at its first dead"
                                    + " letter. With a key registry only for registered sites;"
                                    + " without one for at most fedstream.feedback.max-topics"
                                    + " sites per subtask. Off: only existing topics get"
                                    + " feedback.");

    public static final ConfigOption<Integer> FEEDBACK_MAX_TOPICS =
            key("fedstream.feedback.max-topics")
                    .intType()
                    .defaultValue(1000)
                    .withDescription(
                            "Without a key registry, anyone may claim any site id: the job creates"
                                    + " at most this many feedback topics (per subtask of the"
                                    + " dead-letter operator).");

    public static final ConfigOption<Integer> DEAD_LETTER_LOG_PER_MINUTE =
            key("fedstream.dead-letters.log-per-minute")
                    .intType()
                    .defaultValue(20)
                    .withDescription(
                            "The job logs each dead letter at WARN, at most this many a minute"
                                    + " (per subtask); the rest are counted in one line a minute.");

    public static final ConfigOption<String> PRIVACY_LEDGER_TOPIC =
            key("fedstream.topic.privacy-ledger")
                    .stringType()
                    .defaultValue(Topics.PRIVACY_LEDGER)
                    .withDescription(
                            "Topic the job writes a PrivacyLedger record to for every version of a"
                                    + " federation with privacy in its spec (exactly once).");

    public static final ConfigOption<String> CONSUMER_GROUP =
            key("fedstream.kafka.group-id")
                    .stringType()
                    .defaultValue(ClientIds.AGGREGATOR_GROUP)
                    .withDescription(
                            "Consumer group of the updates source. Offsets are committed on"
                                    + " checkpoints; a job started without state resumes from them"
                                    + " (or from the earliest offset if there are none).");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX =
            key("fedstream.kafka.transactional-id-prefix")
                    .stringType()
                    .defaultValue(ClientIds.AGGREGATOR_TRANSACTIONAL_ID_PREFIX)
                    .withDescription(
                            "Prefix of the sinks' Kafka transactional ids; unique per job on a"
                                    + " cluster.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT =
            key("fedstream.kafka.transaction-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(15))
                    .withDescription(
                            "transaction.timeout.ms of the exactly-once sinks. Must exceed the"
                                    + " checkpoint interval plus the time to recover from a failure"
                                    + " (or Kafka aborts the transaction and output is lost), and must"
                                    + " not exceed the brokers' transaction.max.timeout.ms (15 min by"
                                    + " default).");

    public static final ConfigOption<MemorySize> MAX_RECORD_SIZE =
            key("fedstream.kafka.max-record-size")
                    .memoryType()
                    .defaultValue(MemorySize.parse("1mb"))
                    .withDescription(
                            "Largest record the job writes (the producer's max.request.size) and"
                                    + " reads (fetch sizes are never below Kafka's defaults). Updates and global versions travel in chunks"
                                    + " of the federation's chunkElements (512 KiB of float32 by"
                                    + " default), so Kafka's default 1 MB limits hold for any model"
                                    + " size; raise it (and the topics' max.message.bytes) only for a"
                                    + " federation whose chunks are larger.");

    // ---- Federations -------------------------------------------------------------------------

    public static final ConfigOption<Duration> ASSEMBLY_TIMEOUT =
            key("fedstream.chunks.assembly-timeout")
                    .durationType()
                    .noDefaultValue()
                    .withDescription(
                            "How long the job waits for the manifest and every chunk of an update,"
                                    + " from the first of its records it sees. An update still"
                                    + " incomplete then is rejected (MISSING_CHUNK) and its chunks are"
                                    + " freed. Defaults to fedstream.round.timeout.");

    public static final ConfigOption<String> FEDERATIONS_FILE =
            key("fedstream.federations.file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "JSON file with the federation specs (one object or an array): id,"
                                    + " seed and adapter tensors (name, shape, init). Print one with"
                                    + " `./fedstream spec`.");

    // ---- Rounds ------------------------------------------------------------------------------

    public static final ConfigOption<Integer> ROUND_QUORUM =
            key("fedstream.round.quorum")
                    .intType()
                    .defaultValue(3)
                    .withDescription(
                            "A round closes as soon as it holds this many accepted updates.");

    public static final ConfigOption<Duration> ROUND_TIMEOUT =
            key("fedstream.round.timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(60))
                    .withDescription(
                            "Deadline of a round, counted from its first accepted update. When it"
                                    + " passes the round closes with what it has, once that is at least"
                                    + " fedstream.round.min-updates.");

    public static final ConfigOption<Integer> ROUND_MIN_UPDATES =
            key("fedstream.round.min-updates")
                    .intType()
                    .defaultValue(1)
                    .withDescription("Fewest updates a round closes with at its deadline.");

    // ---- Aggregation -------------------------------------------------------------------------

    public static final ConfigOption<Double> SERVER_LEARNING_RATE =
            key("fedstream.aggregation.server-learning-rate")
                    .doubleType()
                    .defaultValue(1.0)
                    .withDescription(
                            "η in new = old + η·Σ wΔ / Σ w. 1 is plain FedAvg when every update is"
                                    + " fresh.");

    public static final ConfigOption<String> AGGREGATION_RULE =
            key("fedstream.aggregation.rule")
                    .stringType()
                    .defaultValue("fedavg")
                    .withDescription(
                            "fedavg or norm-clipping (maxNorm): a running float64 sum per chunk,"
                                    + " state of one model per round; or median, trimmed-mean (beta):"
                                    + " coordinate rules that keep the round's chunks in state (in"
                                    + " RocksDB, off the heap, unless fedstream.state.backend says"
                                    + " otherwise); or multi-krum (f, m), which needs whole"
                                    + " updates and so runs only for federations whose update is"
                                    + " one chunk (chunkElements >= parameters).");

    public static final ConfigOption<Map<String, String>> AGGREGATION_RULE_PARAMS =
            key("fedstream.aggregation.rule-params")
                    .mapType()
                    .defaultValue(Map.of())
                    .withDescription(
                            "Parameters of the aggregation rule, e.g. beta:0.2 for trimmed-mean or"
                                    + " maxNorm:1.0 for norm-clipping.");

    public static final ConfigOption<String> STALENESS_FUNCTION =
            key("fedstream.staleness.function")
                    .stringType()
                    .defaultValue("polynomial")
                    .withDescription(
                            "Staleness discount f(s): constant (1), polynomial ((1+s)^-a) or hinge"
                                    + " (1 if s <= b, else 1/(a(s-b)+1)).");

    public static final ConfigOption<Double> STALENESS_A =
            key("fedstream.staleness.a")
                    .doubleType()
                    .defaultValue(0.5)
                    .withDescription("Parameter a of the polynomial and hinge functions.");

    public static final ConfigOption<Long> STALENESS_B =
            key("fedstream.staleness.b")
                    .longType()
                    .defaultValue(4L)
                    .withDescription("Parameter b of the hinge function.");

    public static final ConfigOption<Long> STALENESS_MAX =
            key("fedstream.staleness.max")
                    .longType()
                    .defaultValue(10L)
                    .withDescription(
                            "Updates staler than this many versions are rejected (TOO_STALE).");

    /** The denominator of the weighted average, see {@link #STALENESS_NORMALIZATION}. */
    public enum Normalization {
        /** Σ examples × f(staleness). */
        WEIGHTS,
        /** Σ examples (FedBuff). */
        EXAMPLES
    }

    public static final ConfigOption<Normalization> STALENESS_NORMALIZATION =
            key("fedstream.staleness.normalization")
                    .enumType(Normalization.class)
                    .defaultValue(Normalization.WEIGHTS)
                    .withDescription(
                            "The denominator of new = old + η·Σ wΔ / D: WEIGHTS, D = Σ w (a"
                                    + " discount every update of a round shares cancels out, so a"
                                    + " round of one stale update moves the model as far as a fresh"
                                    + " one) or EXAMPLES, D = Σ examples (FedBuff: a stale round"
                                    + " moves it less).");

    // ---- Validation --------------------------------------------------------------------------

    public static final ConfigOption<Long> MAX_EXAMPLES =
            key("fedstream.update.max-examples")
                    .longType()
                    .defaultValue(10_000_000L)
                    .withDescription(
                            "Largest example count an update may claim; more is rejected as weight"
                                    + " hijacking (BAD_EXAMPLE_COUNT).");

    public static final ConfigOption<Double> MAX_ABS_VALUE =
            key("fedstream.update.max-abs-value")
                    .doubleType()
                    .defaultValue(1.0e4)
                    .withDescription("Largest |value| allowed in an update (VALUE_OUT_OF_BOUNDS).");

    public static final ConfigOption<Double> MAX_L2_NORM =
            key("fedstream.update.max-l2-norm")
                    .doubleType()
                    .defaultValue(1.0e6)
                    .withDescription(
                            "Largest L2 norm of an update over all its tensors (NORM_OUT_OF_BOUNDS).");

    // ---- Security ----------------------------------------------------------------------------

    public static final ConfigOption<String> SITE_KEYS_FILE =
            key("fedstream.security.site-keys.file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "JSON registry of the sites' Ed25519 public keys. When set, every update"
                                    + " must come from a registered site (UNKNOWN_SITE) and carry a"
                                    + " valid signature by one of its keys (MISSING_SIGNATURE,"
                                    + " BAD_SIGNATURE). Unset: updates are not authenticated (for"
                                    + " development only).");

    public static final ConfigOption<String> PRIVACY_SECRET_FILE =
            key("fedstream.privacy.secret-file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "File of the job secret (at least 16 bytes, e.g. 32 random bytes) that"
                                    + " keys the Gaussian noise of federations with privacy in"
                                    + " their spec, per federation and version. Required for such"
                                    + " federations, read by every TaskManager; keep it from the"
                                    + " sites. An audit given it re-derives every noised version"
                                    + " bit for bit.");

    // ---- Runtime -----------------------------------------------------------------------------

    /** Where the job keeps its state ({@link #STATE_BACKEND}). */
    public enum StateBackend {
        /**
         * RocksDB for a rule that holds a round's chunks (median, trimmed-mean), otherwise Flink's
         * configured backend.
         */
        AUTO,
        /** Objects on the TaskManagers' heap. */
        HASHMAP,
        /** RocksDB, embedded: serialized on local disk, off the heap. */
        ROCKSDB;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public static final ConfigOption<StateBackend> STATE_BACKEND =
            key("fedstream.state.backend")
                    .enumType(StateBackend.class)
                    .defaultValue(StateBackend.AUTO)
                    .withDescription(
                            "Where the job keeps its state: rocksdb (embedded RocksDB: serialized on"
                                    + " the TaskManagers' local disk, off the heap, so a round's state"
                                    + " may exceed memory), hashmap (objects on the heap: fastest"
                                    + " while state is small), or auto: rocksdb when"
                                    + " fedstream.aggregation.rule holds every chunk of an open round"
                                    + " (median, trimmed-mean), otherwise Flink's own"
                                    + " state.backend.type (hashmap unless the cluster sets it; fedavg"
                                    + " and norm-clipping hold one running sum per chunk and update it"
                                    + " with every update, which RocksDB would re-serialize each"
                                    + " time).");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL =
            key("fedstream.checkpoint.interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(1))
                    .withDescription(
                            "Checkpoint interval. Global versions become visible to read_committed"
                                    + " consumers when the checkpoint after them completes, so it"
                                    + " bounds how fresh they are: at 1 s a 16.8 MB version was"
                                    + " readable 0.4-0.8 s (p50) and 1.1-1.4 s (p99) after its"
                                    + " round's last update on a busy 2-core machine"
                                    + " (docs/benchmarks.md). Every checkpoint of the default"
                                    + " heap state writes the whole state (the current model, 4"
                                    + " bytes per parameter, and an open round's float64 sums, 8"
                                    + " more), so for large models weigh a longer interval against"
                                    + " that (docs/operations.md#checkpoints-and-fresh-versions).");

    public static final ConfigOption<Integer> PARALLELISM =
            key("fedstream.parallelism")
                    .intType()
                    .defaultValue(1)
                    .withDescription(
                            "Default parallelism of the job's operators. Federations are spread over"
                                    + " the round coordinator's subtasks by id, and each federation's"
                                    + " chunks over the chunk aggregators' subtasks.");

    public static final ConfigOption<String> JOB_NAME =
            key("fedstream.job.name")
                    .stringType()
                    .defaultValue("fedstream-aggregation")
                    .withDescription("Name of the job in the Flink UI.");

    /** The staleness function the configuration describes. */
    public static StalenessFunction stalenessFunction(ReadableConfig conf) {
        return StalenessFunction.of(
                conf.get(STALENESS_FUNCTION), conf.get(STALENESS_A), conf.get(STALENESS_B));
    }

    /**
     * The Flink state backend ({@code state.backend.type}) the job sets for itself, or empty to
     * leave Flink's configuration alone. {@code auto} is RocksDB when the rule holds a round's
     * updates' chunks (median, trimmed-mean, multi-krum); fedavg and norm-clipping keep one running
     * sum per chunk.
     */
    public static Optional<String> stateBackendType(ReadableConfig conf) {
        return switch (conf.get(STATE_BACKEND)) {
            case HASHMAP -> Optional.of("hashmap");
            case ROCKSDB -> Optional.of("rocksdb");
            case AUTO ->
                    roundPolicy(conf).accumulates() ? Optional.empty() : Optional.of("rocksdb");
        };
    }

    /** The round policy the configuration describes. */
    public static RoundPolicy roundPolicy(ReadableConfig conf) {
        return new RoundPolicy(
                conf.get(ROUND_QUORUM),
                conf.get(ROUND_TIMEOUT),
                conf.get(ROUND_MIN_UPDATES),
                stalenessFunction(conf),
                conf.get(STALENESS_MAX),
                conf.get(SERVER_LEARNING_RATE),
                conf.get(AGGREGATION_RULE),
                conf.get(AGGREGATION_RULE_PARAMS),
                conf.get(STALENESS_NORMALIZATION) == Normalization.EXAMPLES);
    }

    /** Every option declared here, in declaration order. */
    public static List<ConfigOption<?>> all() {
        return declaredIn(FedStreamOptions.class);
    }

    /** The static {@link ConfigOption} fields of {@code holder}, in declaration order. */
    public static List<ConfigOption<?>> declaredIn(Class<?> holder) {
        List<ConfigOption<?>> out = new ArrayList<>();
        for (Field f : holder.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == ConfigOption.class) {
                try {
                    out.add((ConfigOption<?>) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return out;
    }
}
