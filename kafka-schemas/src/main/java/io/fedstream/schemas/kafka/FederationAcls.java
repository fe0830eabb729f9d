package io.fedstream.schemas.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The Kafka ACLs of FedStream's principals: what a site, the aggregation job, the prompt job, a
 * prompt site and an operator may do, and by omission everything they may not. One place for these
 * definitions, to create them with {@link org.apache.kafka.clients.admin.Admin#createAcls} (or
 * {@code io.fedstream.embedded.EmbeddedKafka#createAcls}) and to mirror into Strimzi {@code
 * KafkaUser} manifests ({@code spec.authorization.acls}: one entry per binding, same resource type,
 * name, pattern type and operation).
 *
 * <p>The bindings assume a cluster that denies whatever no ACL allows ({@code
 * allow.everyone.if.no.acl.found=false}, the default) and contain no DENY entries. All are ALLOW,
 * from any host, for {@code User:<name>}. A {@code READ} or {@code WRITE} ACL also allows {@code
 * DESCRIBE} of the same resource; the {@code DESCRIBE} ACLs are listed anyway so each manifest says
 * plainly which topics a principal can see.
 *
 * <p>Not needed, and not granted, with Kafka 4.2:
 *
 * <ul>
 *   <li>{@code IDEMPOTENT_WRITE} on the cluster, for the sites' idempotent producers: {@code
 *       InitProducerId} without a transactional id is allowed to a principal holding {@code WRITE}
 *       on any topic (KIP-679; the cluster ACL is only the older alternative).
 *   <li>Any ACL for the transactions' partition bookkeeping under transaction protocol 2 (KIP-890):
 *       the broker registers partitions with the transaction coordinator itself, as the broker
 *       principal; clients need only {@code WRITE} on their transactional id and the topic.
 *   <li>{@code TWO_PHASE_COMMIT} on transactional ids (KIP-939): only for producers with {@code
 *       transaction.two.phase.commit.enable=true}, which the job does not set.
 *   <li>A consumer group for sites or operators: they assign partitions themselves and never commit
 *       offsets.
 * </ul>
 */
public final class FederationAcls {

    /** The aggregation job's default consumer group: {@link ClientIds#AGGREGATOR_GROUP}. */
    public static final String AGGREGATOR_GROUP = ClientIds.AGGREGATOR_GROUP;

    /**
     * The aggregation job's default transactional id prefix: {@link
     * ClientIds#AGGREGATOR_TRANSACTIONAL_ID_PREFIX}.
     */
    public static final String AGGREGATOR_TRANSACTIONAL_ID_PREFIX =
            ClientIds.AGGREGATOR_TRANSACTIONAL_ID_PREFIX;

    private static final String ANY_HOST = "*";

    private FederationAcls() {}

    /**
     * The adapter federation's topic names (the defaults are {@link io.fedstream.schemas.Topics};
     * each can be overridden in the job's and the workers' configuration).
     */
    public record Topics(String adapterUpdates, String globalModels, String rejectedUpdates) {

        /** {@code adapter-updates}, {@code global-models}, {@code rejected-updates}. */
        public static final Topics DEFAULT =
                new Topics(
                        io.fedstream.schemas.Topics.ADAPTER_UPDATES,
                        io.fedstream.schemas.Topics.GLOBAL_MODELS,
                        io.fedstream.schemas.Topics.REJECTED_UPDATES);

        public Topics {
            requireDistinct(adapterUpdates, globalModels, rejectedUpdates);
        }
    }

    /**
     * The prompt federation's (FedDTPT) topic names: the prompt job reads {@code promptUpdates},
     * publishes {@code globalPrompts} and dead-letters to {@code rejectedUpdates} (by default the
     * adapter job's dead-letter topic, {@code fedstream.prompt.topic.rejected}).
     */
    public record PromptTopics(String promptUpdates, String globalPrompts, String rejectedUpdates) {

        /** {@code prompt-updates}, {@code global-prompts}, {@code rejected-updates}. */
        public static final PromptTopics DEFAULT =
                new PromptTopics(
                        io.fedstream.schemas.Topics.PROMPT_UPDATES,
                        io.fedstream.schemas.Topics.GLOBAL_PROMPTS,
                        io.fedstream.schemas.Topics.REJECTED_UPDATES);

        public PromptTopics {
            requireDistinct(promptUpdates, globalPrompts, rejectedUpdates);
        }
    }

    private static void requireDistinct(String updates, String published, String rejected) {
        requireName(updates, "updates topic");
        requireName(published, "published topic");
        requireName(rejected, "rejected topic");
        if (Set.of(updates, published, rejected).size() != 3) {
            throw new IllegalArgumentException(
                    "The three topics must differ: " + List.of(updates, published, rejected));
        }
    }

    /** {@code User:<user>}, the principal of a SASL (SCRAM or PLAIN) user. */
    public static String principal(String user) {
        return "User:" + requireName(user, "user");
    }

    /**
     * What a site (a client worker) may do: publish its updates and read the global models.
     *
     * <table>
     *   <caption>Site ACLs</caption>
     *   <tr><th>resource</th><th>operation</th><th>purpose</th></tr>
     *   <tr><td>topic {@code adapterUpdates}</td><td>WRITE</td>
     *       <td>produce its updates; also what lets its idempotent producer get a producer id</td></tr>
     *   <tr><td>topic {@code adapterUpdates}</td><td>DESCRIBE</td>
     *       <td>metadata (partitions, leaders) for producing</td></tr>
     *   <tr><td>topic {@code globalModels}</td><td>READ</td>
     *       <td>fetch the global models (read_committed)</td></tr>
     *   <tr><td>topic {@code globalModels}</td><td>DESCRIBE</td>
     *       <td>{@code partitionsFor}, and the offset lookups of {@code seekToBeginning} and
     *       {@code endOffsets}</td></tr>
     * </table>
     *
     * <p>So a site can neither read {@code adapterUpdates} (other sites' updates), nor write {@code
     * globalModels}, nor see {@code rejectedUpdates}, nor use any consumer group or transactional
     * id, nor create, delete or configure anything.
     */
    public static List<AclBinding> forSite(String siteUser, Topics topics) {
        Objects.requireNonNull(topics, "topics");
        return site(principal(siteUser), topics.adapterUpdates(), topics.globalModels());
    }

    /**
     * What a prompt site (a prompt worker) may do: publish its tuned prompts to {@code
     * promptUpdates} (WRITE, DESCRIBE) and read {@code globalPrompts} (READ, DESCRIBE), as {@link
     * #forSite} does for adapter updates and global models. It can neither read other sites'
     * prompts, nor write global prompts, nor see the dead letters, nor use a group or transactional
     * id.
     */
    public static List<AclBinding> forPromptSite(String siteUser, PromptTopics topics) {
        Objects.requireNonNull(topics, "topics");
        return site(principal(siteUser), topics.promptUpdates(), topics.globalPrompts());
    }

    private static List<AclBinding> site(String principal, String updates, String published) {
        return List.of(
                topic(updates, principal, AclOperation.WRITE),
                topic(updates, principal, AclOperation.DESCRIBE),
                topic(published, principal, AclOperation.READ),
                topic(published, principal, AclOperation.DESCRIBE));
    }

    /**
     * What a site may read besides {@link #forSite}: its own feedback topic, {@code
     * <rejectedUpdates>.<siteId>} (literal), where the job copies the dead letters of the updates
     * sent in the site's name (READ and DESCRIBE). Nothing of other sites: their feedback topics
     * are other literal names.
     */
    public static List<AclBinding> forSiteFeedback(String siteUser, String siteId, Topics topics) {
        Objects.requireNonNull(topics, "topics");
        String principal = principal(siteUser);
        String topic = topics.rejectedUpdates() + "." + requireName(siteId, "siteId");
        return List.of(
                topic(topic, principal, AclOperation.READ),
                topic(topic, principal, AclOperation.DESCRIBE));
    }

    /**
     * What the job needs besides {@link #forAggregationJob} to tell sites about their rejected
     * updates: CREATE, WRITE and DESCRIBE on the topics prefixed {@code <rejectedUpdates>.} (each
     * site's feedback topic, created at its first dead letter unless an operator created it).
     */
    public static List<AclBinding> forJobFeedback(String jobUser, Topics topics) {
        Objects.requireNonNull(topics, "topics");
        String principal = principal(jobUser);
        String prefix = topics.rejectedUpdates() + ".";
        List<AclBinding> acls = new ArrayList<>();
        for (AclOperation op :
                List.of(AclOperation.CREATE, AclOperation.WRITE, AclOperation.DESCRIBE)) {
            acls.add(binding(ResourceType.TOPIC, prefix, PatternType.PREFIXED, principal, op));
        }
        return List.copyOf(acls);
    }

    /**
     * {@link #forAggregationJob(String, Topics, String, String)} with the default group and prefix.
     */
    public static List<AclBinding> forAggregationJob(String jobUser, Topics topics) {
        return forAggregationJob(
                jobUser, topics, AGGREGATOR_GROUP, AGGREGATOR_TRANSACTIONAL_ID_PREFIX);
    }

    /**
     * What the aggregation job may do: consume all updates with its group, write global models and
     * dead letters in transactions, and read the global models back.
     *
     * <table>
     *   <caption>Aggregation job ACLs</caption>
     *   <tr><th>resource</th><th>operation</th><th>purpose</th></tr>
     *   <tr><td>topic {@code adapterUpdates}</td><td>READ</td>
     *       <td>the updates source (KafkaSource) fetches every site's updates</td></tr>
     *   <tr><td>topic {@code adapterUpdates}</td><td>DESCRIBE</td>
     *       <td>partition discovery and offset lookups of the source's enumerator</td></tr>
     *   <tr><td>group {@code consumerGroup} (literal)</td><td>READ</td>
     *       <td>fetch the committed offsets at a stateless start, commit offsets on
     *       checkpoints</td></tr>
     *   <tr><td>topic {@code globalModels}</td><td>WRITE</td>
     *       <td>the exactly-once global models sink</td></tr>
     *   <tr><td>topic {@code globalModels}</td><td>READ</td>
     *       <td>find each federation's newest version at start (no group)</td></tr>
     *   <tr><td>topic {@code globalModels}</td><td>DESCRIBE</td><td>metadata</td></tr>
     *   <tr><td>topic {@code rejectedUpdates}</td><td>WRITE</td>
     *       <td>the exactly-once dead-letter sink</td></tr>
     *   <tr><td>topic {@code rejectedUpdates}</td><td>DESCRIBE</td><td>metadata</td></tr>
     *   <tr><td>transactional id {@code transactionalIdPrefix} (prefixed)</td><td>WRITE</td>
     *       <td>initialize, use, commit and abort the sinks' transactions (InitProducerId,
     *       Produce, EndTxn)</td></tr>
     *   <tr><td>transactional id {@code transactionalIdPrefix} (prefixed)</td><td>DESCRIBE</td>
     *       <td>find the transaction coordinator; list the job's own transactions when Flink
     *       aborts lingering ones</td></tr>
     * </table>
     *
     * <p>The job cannot write {@code adapterUpdates}, read {@code rejectedUpdates}, use other
     * groups or transactional ids, or administer anything.
     */
    public static List<AclBinding> forAggregationJob(
            String jobUser, Topics topics, String consumerGroup, String transactionalIdPrefix) {
        Objects.requireNonNull(topics, "topics");
        return job(
                principal(jobUser),
                topics.adapterUpdates(),
                topics.globalModels(),
                topics.rejectedUpdates(),
                consumerGroup,
                transactionalIdPrefix);
    }

    /**
     * {@link #forPromptJob(String, PromptTopics, String, String)} with the prompt job's default
     * group and prefix ({@link ClientIds#PROMPT_AGGREGATOR_GROUP}, {@link
     * ClientIds#PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX}).
     */
    public static List<AclBinding> forPromptJob(String jobUser, PromptTopics topics) {
        return forPromptJob(
                jobUser,
                topics,
                ClientIds.PROMPT_AGGREGATOR_GROUP,
                ClientIds.PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX);
    }

    /**
     * What the prompt job (FedDTPT) may do: the same shape as {@link #forAggregationJob} on the
     * prompt topics. READ and DESCRIBE {@code promptUpdates} with its group (literal, READ); WRITE,
     * READ (the version lookup at start) and DESCRIBE {@code globalPrompts}; WRITE and DESCRIBE
     * {@code rejectedUpdates}; WRITE and DESCRIBE on its transactional ids (prefixed). It writes no
     * per-site feedback topics.
     */
    public static List<AclBinding> forPromptJob(
            String jobUser,
            PromptTopics topics,
            String consumerGroup,
            String transactionalIdPrefix) {
        Objects.requireNonNull(topics, "topics");
        return job(
                principal(jobUser),
                topics.promptUpdates(),
                topics.globalPrompts(),
                topics.rejectedUpdates(),
                consumerGroup,
                transactionalIdPrefix);
    }

    private static List<AclBinding> job(
            String principal,
            String updates,
            String published,
            String rejected,
            String consumerGroup,
            String transactionalIdPrefix) {
        requireName(consumerGroup, "consumerGroup");
        requireName(transactionalIdPrefix, "transactionalIdPrefix");
        List<AclBinding> acls = new ArrayList<>();
        acls.add(topic(updates, principal, AclOperation.READ));
        acls.add(topic(updates, principal, AclOperation.DESCRIBE));
        acls.add(
                binding(
                        ResourceType.GROUP,
                        consumerGroup,
                        PatternType.LITERAL,
                        principal,
                        AclOperation.READ));
        acls.add(topic(published, principal, AclOperation.WRITE));
        acls.add(topic(published, principal, AclOperation.READ));
        acls.add(topic(published, principal, AclOperation.DESCRIBE));
        acls.add(topic(rejected, principal, AclOperation.WRITE));
        acls.add(topic(rejected, principal, AclOperation.DESCRIBE));
        acls.add(
                binding(
                        ResourceType.TRANSACTIONAL_ID,
                        transactionalIdPrefix,
                        PatternType.PREFIXED,
                        principal,
                        AclOperation.WRITE));
        acls.add(
                binding(
                        ResourceType.TRANSACTIONAL_ID,
                        transactionalIdPrefix,
                        PatternType.PREFIXED,
                        principal,
                        AclOperation.DESCRIBE));
        return List.copyOf(acls);
    }

    /**
     * What the aggregation job needs besides {@link #forAggregationJob} when a federation has
     * central DP: WRITE (the exactly-once ledger sink, in transactions under the job's
     * transactional ids, which {@link #forAggregationJob} already grants), READ (a federation that
     * continues without state reads its sites' spend back from the ledger, without a group) and
     * DESCRIBE on {@code privacyLedger} (literal; by default {@link
     * io.fedstream.schemas.Topics#PRIVACY_LEDGER}).
     */
    public static List<AclBinding> forPrivacyLedgerJob(String jobUser, String privacyLedger) {
        String principal = principal(jobUser);
        String topic = requireName(privacyLedger, "privacyLedger");
        return List.of(
                topic(topic, principal, AclOperation.WRITE),
                topic(topic, principal, AclOperation.READ),
                topic(topic, principal, AclOperation.DESCRIBE));
    }

    /**
     * Reading the privacy ledger ({@code ./fedstream ledger}, without a group): READ and DESCRIBE
     * on {@code privacyLedger} (literal), never WRITE. For operators, and for sites: a site may
     * check its own spend and that every other site's stays within the budget. The ledger adds
     * little to what a site already reads: every version's manifest on {@code globalModels} names
     * the contributing sites and the rule parameters (C, σ, δ) their ε is computed from; only the
     * local DP other sites declared (their own claim about their own noise) is new to it.
     */
    public static List<AclBinding> forPrivacyLedgerReader(String user, String privacyLedger) {
        String principal = principal(user);
        String topic = requireName(privacyLedger, "privacyLedger");
        return List.of(
                topic(topic, principal, AclOperation.READ),
                topic(topic, principal, AclOperation.DESCRIBE));
    }

    /**
     * What an operator may do: read everything, write nothing. Covers the dead letters and {@code
     * ./fedstream audit} (which reads {@code globalModels} and {@code adapterUpdates} from the
     * beginning).
     *
     * <table>
     *   <caption>Operator ACLs</caption>
     *   <tr><th>resource</th><th>operation</th><th>purpose</th></tr>
     *   <tr><td>topic {@code rejectedUpdates}</td><td>READ, DESCRIBE</td>
     *       <td>inspect the dead letters</td></tr>
     *   <tr><td>topic {@code globalModels}</td><td>READ, DESCRIBE</td>
     *       <td>audit: every published version</td></tr>
     *   <tr><td>topic {@code adapterUpdates}</td><td>READ, DESCRIBE</td>
     *       <td>audit: the updates behind each version</td></tr>
     * </table>
     *
     * <p>No consumer group: use tools that assign partitions ({@code kafka-console-consumer
     * --partition 0 --offset earliest}), or add a READ ACL for a group of your own.
     */
    public static List<AclBinding> forOperator(String operatorUser, Topics topics) {
        Objects.requireNonNull(topics, "topics");
        String principal = principal(operatorUser);
        List<AclBinding> acls = new ArrayList<>();
        for (String topic :
                List.of(topics.rejectedUpdates(), topics.globalModels(), topics.adapterUpdates())) {
            acls.add(topic(topic, principal, AclOperation.READ));
            acls.add(topic(topic, principal, AclOperation.DESCRIBE));
        }
        return List.copyOf(acls);
    }

    private static AclBinding topic(String name, String principal, AclOperation operation) {
        return binding(ResourceType.TOPIC, name, PatternType.LITERAL, principal, operation);
    }

    private static AclBinding binding(
            ResourceType type,
            String name,
            PatternType patternType,
            String principal,
            AclOperation operation) {
        return new AclBinding(
                new ResourcePattern(type, name, patternType),
                new AccessControlEntry(principal, ANY_HOST, operation, AclPermissionType.ALLOW));
    }

    private static String requireName(String value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isBlank()) {
            throw new IllegalArgumentException(what + " is blank");
        }
        if (value.equals("*")) {
            // As a literal resource name or principal, "*" means "every".
            throw new IllegalArgumentException(what + " is the wildcard *");
        }
        return value;
    }
}
