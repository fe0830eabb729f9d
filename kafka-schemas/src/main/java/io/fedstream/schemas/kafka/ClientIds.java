package io.fedstream.schemas.kafka;

/**
 * The jobs' default Kafka client identities: the consumer group each job's source commits offsets
 * with and the prefix of its exactly-once sinks' transactional ids. The jobs' options ({@code
 * fedstream.kafka.group-id}, {@code fedstream.kafka.transactional-id-prefix}, {@code
 * fedstream.prompt.kafka.*}) default to these, and {@link FederationAcls} grants them, so a
 * deployment that keeps the defaults needs no ACL of its own. Sites and operators use no group and
 * no transactional id.
 */
public final class ClientIds {

    /** The aggregation job's consumer group ({@code fedstream.kafka.group-id}). */
    public static final String AGGREGATOR_GROUP = "fedstream-aggregator";

    /**
     * The aggregation job's transactional id prefix ({@code
     * fedstream.kafka.transactional-id-prefix}). Its sinks use {@code <prefix>-global-…} and {@code
     * <prefix>-rejected-…} (Flink appends subtask and checkpoint numbers), all covered by one
     * PREFIXED ACL.
     */
    public static final String AGGREGATOR_TRANSACTIONAL_ID_PREFIX = "fedstream-aggregator";

    /** The prompt job's consumer group ({@code fedstream.prompt.kafka.group-id}). */
    public static final String PROMPT_AGGREGATOR_GROUP = "fedstream-prompt-aggregator";

    /**
     * The prompt job's transactional id prefix ({@code
     * fedstream.prompt.kafka.transactional-id-prefix}), used as {@link
     * #AGGREGATOR_TRANSACTIONAL_ID_PREFIX} is. Neither prefix starts with the other, so neither
     * job's PREFIXED ACL covers the other job's transactional ids.
     */
    public static final String PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX =
            "fedstream-prompt-aggregator";

    private ClientIds() {}
}
