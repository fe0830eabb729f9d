package io.fedstream.job.prompt;

import static org.apache.flink.configuration.ConfigOptions.key;

import io.fedstream.aggregation.prompt.PromptMerge;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.kafka.ClientIds;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The settings of the FedDTPT prompt aggregation job ({@link PromptAggregationJob}) that the
 * adapter job does not have. Kafka connection, rounds ({@code fedstream.round.*}), {@code
 * fedstream.staleness.max}, {@code fedstream.update.max-examples}, checkpointing and parallelism
 * are the {@link FedStreamOptions} of the same names.
 */
public final class PromptOptions {
    private PromptOptions() {}

    public static final ConfigOption<String> UPDATES_TOPIC =
            key("fedstream.prompt.topic.updates")
                    .stringType()
                    .defaultValue(Topics.PROMPT_UPDATES)
                    .withDescription("Topic the sites publish PromptUpdates to.");

    public static final ConfigOption<String> GLOBAL_PROMPTS_TOPIC =
            key("fedstream.prompt.topic.global-prompts")
                    .stringType()
                    .defaultValue(Topics.GLOBAL_PROMPTS)
                    .withDescription("Topic the job publishes GlobalPrompts to (exactly once).");

    public static final ConfigOption<String> REJECTED_TOPIC =
            key("fedstream.prompt.topic.rejected")
                    .stringType()
                    .defaultValue(Topics.REJECTED_UPDATES)
                    .withDescription(
                            "Dead-letter topic for prompt records the job did not accept.");

    public static final ConfigOption<String> CONSUMER_GROUP =
            key("fedstream.prompt.kafka.group-id")
                    .stringType()
                    .defaultValue(ClientIds.PROMPT_AGGREGATOR_GROUP)
                    .withDescription("Consumer group of the prompt updates source.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX =
            key("fedstream.prompt.kafka.transactional-id-prefix")
                    .stringType()
                    .defaultValue(ClientIds.PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX)
                    .withDescription("Prefix of the prompt job's sink transactional ids.");

    public static final ConfigOption<String> FEDERATIONS_FILE =
            key("fedstream.prompt.federations.file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "JSON file of the prompt federations (one object or an array): id and"
                                    + " initial_tokens, version 0's prompt.");

    public static final ConfigOption<String> EMBEDDINGS_FILE =
            key("fedstream.prompt.embeddings.file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Token embedding table (FSTE file, ./fedstream prompt-embeddings): the"
                                    + " vocabulary prompts may use and the vectors the merge"
                                    + " clusters.");

    public static final ConfigOption<String> CLUSTERING =
            key("fedstream.prompt.clustering")
                    .stringType()
                    .defaultValue("dbscan")
                    .withDescription(
                            "dbscan (eps by elbow detection, as the FedDTPT paper's text) or kmeans"
                                    + " (as its algorithm box).");

    public static final ConfigOption<Integer> MIN_PTS =
            key("fedstream.prompt.dbscan.min-pts")
                    .intType()
                    .defaultValue(2)
                    .withDescription(
                            "DBSCAN's minimum neighbourhood (itself included); the elbow uses the"
                                    + " (min-pts - 1)-distances.");

    public static final ConfigOption<Double> EPS =
            key("fedstream.prompt.dbscan.eps")
                    .doubleType()
                    .defaultValue(0.0)
                    .withDescription(
                            "DBSCAN radius in cosine distance; 0 chooses it per round by elbow"
                                    + " detection.");

    public static final ConfigOption<Integer> KMEANS_K =
            key("fedstream.prompt.kmeans.k")
                    .intType()
                    .defaultValue(0)
                    .withDescription("KMeans' k; 0 uses the round's median prompt length.");

    public static final ConfigOption<Long> KMEANS_SEED =
            key("fedstream.prompt.kmeans.seed")
                    .longType()
                    .defaultValue(0L)
                    .withDescription("KMeans' seed (k-means++ initialisation).");

    public static final ConfigOption<Integer> MAX_TOKENS =
            key("fedstream.prompt.max-tokens")
                    .intType()
                    .defaultValue(64)
                    .withDescription(
                            "Longest prompt a site may send (longer ones are rejected) and the"
                                    + " longest global prompt.");

    public static final ConfigOption<String> JOB_NAME =
            key("fedstream.prompt.job.name")
                    .stringType()
                    .defaultValue("fedstream-prompt-aggregation")
                    .withDescription("Name of the prompt job in the Flink UI.");

    /** The merge configuration these options describe. */
    public static PromptMerge.Config mergeConfig(ReadableConfig conf) {
        return new PromptMerge.Config(
                PromptMerge.Clustering.parse(conf.get(CLUSTERING)),
                conf.get(MIN_PTS),
                conf.get(EPS),
                conf.get(KMEANS_K),
                conf.get(KMEANS_SEED),
                conf.get(MAX_TOKENS));
    }

    /** Every option of this class, in declaration order. */
    public static List<ConfigOption<?>> all() {
        return FedStreamOptions.declaredIn(PromptOptions.class);
    }

    /**
     * The adapter job's options the prompt job reads too: Kafka, round closing, staleness limit,
     * example-count limit, checkpoints and parallelism (the README lists them above its table).
     */
    public static List<ConfigOption<?>> shared() {
        return List.of(
                FedStreamOptions.BOOTSTRAP_SERVERS,
                FedStreamOptions.CLIENT_PROPERTIES_FILE,
                FedStreamOptions.MAX_RECORD_SIZE,
                FedStreamOptions.TRANSACTION_TIMEOUT,
                FedStreamOptions.ROUND_QUORUM,
                FedStreamOptions.ROUND_TIMEOUT,
                FedStreamOptions.ROUND_MIN_UPDATES,
                FedStreamOptions.STALENESS_MAX,
                FedStreamOptions.MAX_EXAMPLES,
                FedStreamOptions.CHECKPOINT_INTERVAL,
                FedStreamOptions.PARALLELISM);
    }
}
