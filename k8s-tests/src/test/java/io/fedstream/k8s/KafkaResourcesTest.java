package io.fedstream.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.prompt.PromptOptions;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.kafka.FederationAcls;
import io.strimzi.api.kafka.model.kafka.EphemeralStorage;
import io.strimzi.api.kafka.model.kafka.JbodStorage;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.kafka.KafkaAuthorizationSimple;
import io.strimzi.api.kafka.model.kafka.PersistentClaimStorage;
import io.strimzi.api.kafka.model.kafka.listener.GenericKafkaListener;
import io.strimzi.api.kafka.model.kafka.listener.KafkaListenerAuthenticationScramSha512;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.nodepool.ProcessRoles;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import io.strimzi.api.kafka.model.user.KafkaUserAuthorizationSimple;
import io.strimzi.api.kafka.model.user.KafkaUserScramSha512ClientAuthentication;
import io.strimzi.api.kafka.model.user.acl.AclResourcePatternType;
import io.strimzi.api.kafka.model.user.acl.AclRule;
import io.strimzi.api.kafka.model.user.acl.AclRuleClusterResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleGroupResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTopicResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTransactionalIdResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleType;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The Strimzi resources agree with the code: topics (the adapter job's and the prompt job's),
 * record sizes, users and their ACLs, which must be exactly what {@link FederationAcls} grants each
 * principal.
 */
class KafkaResourcesTest {
    static List<String> overlays = K8s.OVERLAYS;

    static final String JOB_USER = "fedstream-job";
    static final String OPERATOR_USER = "fedstream-operator";
    static final String PROMPT_JOB_USER = "fedstream-prompt-job";

    /** A site's prompt worker's Kafka user: {@code prompt-<site>}. */
    static final String PROMPT_SITE_PREFIX = "prompt-";

    @ParameterizedTest
    @FieldSource("overlays")
    void kafkaIsKraftWithNodePoolsScramAndSimpleAuthorization(String overlay) {
        var rendered = K8s.render(overlay);
        Kafka kafka = K8s.one(rendered, Kafka.class);
        assertThat(kafka.getMetadata().getAnnotations())
                .containsEntry("strimzi.io/kraft", "enabled")
                .containsEntry("strimzi.io/node-pools", "enabled");
        assertThat(kafka.getSpec().getKafka().getAuthorization())
                .isInstanceOf(KafkaAuthorizationSimple.class);
        List<GenericKafkaListener> listeners = kafka.getSpec().getKafka().getListeners();
        assertThat(listeners)
                .allSatisfy(
                        l ->
                                assertThat(l.getAuth())
                                        .isInstanceOf(
                                                KafkaListenerAuthenticationScramSha512.class));
        Map<String, Object> config = kafka.getSpec().getKafka().getConfig();
        long maxRecord = FedStreamOptions.MAX_RECORD_SIZE.defaultValue().getBytes();
        // default (1048588) unless raised: chunked records are at most FedStreamOptions'
        // max-record-size
        assertThat(((Number) config.getOrDefault("message.max.bytes", 1048588)).longValue())
                .isGreaterThanOrEqualTo(maxRecord);
        assertThat(((Number) config.get("transaction.max.timeout.ms")).longValue())
                .isGreaterThanOrEqualTo(
                        FedStreamOptions.TRANSACTION_TIMEOUT.defaultValue().toMillis());

        List<KafkaNodePool> pools = K8s.bound(rendered, KafkaNodePool.class);
        assertThat(pools)
                .allSatisfy(
                        p ->
                                assertThat(p.getMetadata().getLabels())
                                        .containsEntry(
                                                "strimzi.io/cluster",
                                                kafka.getMetadata().getName()));
        int brokers = replicas(pools, ProcessRoles.BROKER);
        int controllers = replicas(pools, ProcessRoles.CONTROLLER);
        int minIsr = ((Number) config.get("min.insync.replicas")).intValue();
        for (String rf :
                List.of(
                        "offsets.topic.replication.factor",
                        "transaction.state.log.replication.factor",
                        "default.replication.factor")) {
            assertThat(((Number) config.get(rf)).intValue()).as(rf).isEqualTo(brokers);
        }
        if (overlay.equals("dev")) {
            assertThat(pools).hasSize(1);
            assertThat(pools.get(0).getSpec().getRoles())
                    .containsExactlyInAnyOrder(ProcessRoles.BROKER, ProcessRoles.CONTROLLER);
            assertThat(pools.get(0).getSpec().getStorage()).isInstanceOf(EphemeralStorage.class);
            assertThat(brokers).isEqualTo(1);
            assertThat(minIsr).isEqualTo(1);
        } else {
            assertThat(brokers).isEqualTo(3);
            assertThat(controllers).isEqualTo(3);
            assertThat(pools)
                    .allSatisfy(
                            p -> {
                                assertThat(p.getSpec().getRoles()).hasSize(1);
                                assertThat(p.getSpec().getStorage())
                                        .satisfiesAnyOf(
                                                s ->
                                                        assertThat(s)
                                                                .isInstanceOf(
                                                                        PersistentClaimStorage
                                                                                .class),
                                                s ->
                                                        assertThat(((JbodStorage) s).getVolumes())
                                                                .allMatch(
                                                                        v ->
                                                                                v
                                                                                        instanceof
                                                                                        PersistentClaimStorage));
                            });
            assertThat(minIsr).isEqualTo(2);
        }
    }

    private static int replicas(List<KafkaNodePool> pools, ProcessRoles role) {
        return pools.stream()
                .filter(p -> p.getSpec().getRoles().contains(role))
                .mapToInt(p -> p.getSpec().getReplicas())
                .sum();
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void topicsMatchTheJobsDefaults(String overlay) {
        var rendered = K8s.render(overlay);
        String cluster = K8s.one(rendered, Kafka.class).getMetadata().getName();
        Map<String, KafkaTopic> topics =
                K8s.bound(rendered, KafkaTopic.class).stream()
                        .collect(Collectors.toMap(t -> t.getSpec().getTopicName(), t -> t));
        assertThat(topics.keySet())
                .containsExactlyInAnyOrder(
                        Topics.ADAPTER_UPDATES,
                        Topics.GLOBAL_MODELS,
                        Topics.REJECTED_UPDATES,
                        Topics.PRIVACY_LEDGER,
                        Topics.PROMPT_UPDATES,
                        Topics.GLOBAL_PROMPTS)
                .containsExactlyInAnyOrder(
                        FedStreamOptions.UPDATES_TOPIC.defaultValue(),
                        FedStreamOptions.GLOBAL_MODELS_TOPIC.defaultValue(),
                        FedStreamOptions.REJECTED_TOPIC.defaultValue(),
                        FedStreamOptions.PRIVACY_LEDGER_TOPIC.defaultValue(),
                        PromptOptions.UPDATES_TOPIC.defaultValue(),
                        PromptOptions.GLOBAL_PROMPTS_TOPIC.defaultValue());
        assertThat(PromptOptions.REJECTED_TOPIC.defaultValue())
                .isEqualTo(FedStreamOptions.REJECTED_TOPIC.defaultValue());
        assertThat(FederationAcls.PromptTopics.DEFAULT)
                .isEqualTo(
                        new FederationAcls.PromptTopics(
                                PromptOptions.UPDATES_TOPIC.defaultValue(),
                                PromptOptions.GLOBAL_PROMPTS_TOPIC.defaultValue(),
                                PromptOptions.REJECTED_TOPIC.defaultValue()));
        assertThat(FederationAcls.Topics.DEFAULT)
                .isEqualTo(
                        new FederationAcls.Topics(
                                Topics.ADAPTER_UPDATES,
                                Topics.GLOBAL_MODELS,
                                Topics.REJECTED_UPDATES));
        long maxRecord = FedStreamOptions.MAX_RECORD_SIZE.defaultValue().getBytes();
        int brokers = replicas(K8s.bound(rendered, KafkaNodePool.class), ProcessRoles.BROKER);
        for (KafkaTopic t : topics.values()) {
            assertThat(t.getMetadata().getName()).isEqualTo(t.getSpec().getTopicName());
            assertThat(t.getMetadata().getLabels()).containsEntry("strimzi.io/cluster", cluster);
            assertThat(t.getSpec().getReplicas()).isEqualTo(brokers);
            Map<String, Object> config =
                    t.getSpec().getConfig() == null ? Map.of() : t.getSpec().getConfig();
            assertThat(((Number) config.getOrDefault("max.message.bytes", 1048588)).longValue())
                    .as(t.getSpec().getTopicName())
                    .isGreaterThanOrEqualTo(maxRecord);
            if (brokers > 1) {
                assertThat(t.getSpec().getConfig()).containsEntry("min.insync.replicas", 2);
            }
        }
        // the histories and the privacy spend: never expired, never compacted
        for (String published :
                List.of(Topics.GLOBAL_MODELS, Topics.GLOBAL_PROMPTS, Topics.PRIVACY_LEDGER)) {
            Map<String, Object> global = topics.get(published).getSpec().getConfig();
            assertThat(((Number) global.get("retention.ms")).longValue())
                    .as(published)
                    .isEqualTo(-1L);
            assertThat(global.get("cleanup.policy")).as(published).isEqualTo("delete");
        }
        for (String sent : List.of(Topics.ADAPTER_UPDATES, Topics.PROMPT_UPDATES)) {
            Map<String, Object> updates = topics.get(sent).getSpec().getConfig();
            assertThat(updates.get("cleanup.policy")).as(sent).isEqualTo("delete");
            long retention = ((Number) updates.get("retention.ms")).longValue();
            assertThat(retention == -1 || retention >= 90L * 24 * 3600 * 1000)
                    .as(sent + " kept at least 90 days for audit: " + retention)
                    .isTrue();
        }
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void kafkaUsersGrantExactlyFederationAcls(String overlay) {
        var rendered = K8s.render(overlay);
        String cluster = K8s.one(rendered, Kafka.class).getMetadata().getName();
        Map<String, KafkaUser> users =
                K8s.bound(rendered, KafkaUser.class).stream()
                        .collect(Collectors.toMap(u -> u.getMetadata().getName(), u -> u));
        assertThat(users.keySet())
                .containsExactlyInAnyOrder(
                        "site-1",
                        "site-2",
                        JOB_USER,
                        OPERATOR_USER,
                        PROMPT_SITE_PREFIX + "site-1",
                        PROMPT_SITE_PREFIX + "site-2",
                        PROMPT_JOB_USER);
        for (KafkaUser u : users.values()) {
            String name = u.getMetadata().getName();
            assertThat(u.getMetadata().getLabels()).containsEntry("strimzi.io/cluster", cluster);
            assertThat(u.getSpec().getAuthentication())
                    .isInstanceOf(KafkaUserScramSha512ClientAuthentication.class);
            assertThat(u.getSpec().getAuthorization())
                    .isInstanceOf(KafkaUserAuthorizationSimple.class);
            Set<AclBinding> expected =
                    new HashSet<>(
                            switch (name) {
                                case JOB_USER ->
                                        FederationAcls.forAggregationJob(
                                                name,
                                                FederationAcls.Topics.DEFAULT,
                                                FedStreamOptions.CONSUMER_GROUP.defaultValue(),
                                                FedStreamOptions.TRANSACTIONAL_ID_PREFIX
                                                        .defaultValue());
                                case OPERATOR_USER ->
                                        FederationAcls.forOperator(
                                                name, FederationAcls.Topics.DEFAULT);
                                case PROMPT_JOB_USER ->
                                        FederationAcls.forPromptJob(
                                                name,
                                                FederationAcls.PromptTopics.DEFAULT,
                                                PromptOptions.CONSUMER_GROUP.defaultValue(),
                                                PromptOptions.TRANSACTIONAL_ID_PREFIX
                                                        .defaultValue());
                                default ->
                                        name.startsWith(PROMPT_SITE_PREFIX)
                                                ? FederationAcls.forPromptSite(
                                                        name, FederationAcls.PromptTopics.DEFAULT)
                                                : FederationAcls.forSite(
                                                        name, FederationAcls.Topics.DEFAULT);
                            });
            // the job tells each adapter site of its rejected updates on rejected-updates.<site>
            // (the manifests' site ids are the site users' names); each site reads only its own
            if (name.equals(JOB_USER)) {
                expected.addAll(FederationAcls.forJobFeedback(name, FederationAcls.Topics.DEFAULT));
            } else if (name.startsWith("site-")) {
                expected.addAll(
                        FederationAcls.forSiteFeedback(name, name, FederationAcls.Topics.DEFAULT));
            }
            // the job writes the privacy ledger; the adapter sites and the operator read it
            // (sites by design: FederationAcls.forPrivacyLedgerReader says why)
            String ledger = FedStreamOptions.PRIVACY_LEDGER_TOPIC.defaultValue();
            if (name.equals(JOB_USER)) {
                expected.addAll(FederationAcls.forPrivacyLedgerJob(name, ledger));
            } else if (name.equals(OPERATOR_USER) || name.startsWith("site-")) {
                expected.addAll(FederationAcls.forPrivacyLedgerReader(name, ledger));
            }
            List<AclBinding> actual =
                    ((KafkaUserAuthorizationSimple) u.getSpec().getAuthorization())
                            .getAcls().stream().flatMap(r -> toBindings(name, r).stream()).toList();
            assertThat(actual).as(name).doesNotHaveDuplicates();
            assertThat(new HashSet<>(actual)).as(name).isEqualTo(expected);
        }
    }

    /** What Strimzi's User Operator creates for one ACL rule: a binding per operation. */
    static List<AclBinding> toBindings(String user, AclRule rule) {
        assertThat(rule.getType() == null || rule.getType() == AclRuleType.ALLOW).isTrue();
        ResourcePattern pattern;
        if (rule.getResource() instanceof AclRuleTopicResource t) {
            pattern =
                    new ResourcePattern(
                            ResourceType.TOPIC, t.getName(), pattern(t.getPatternType()));
        } else if (rule.getResource() instanceof AclRuleGroupResource g) {
            pattern =
                    new ResourcePattern(
                            ResourceType.GROUP, g.getName(), pattern(g.getPatternType()));
        } else if (rule.getResource() instanceof AclRuleTransactionalIdResource x) {
            pattern =
                    new ResourcePattern(
                            ResourceType.TRANSACTIONAL_ID,
                            x.getName(),
                            pattern(x.getPatternType()));
        } else if (rule.getResource() instanceof AclRuleClusterResource) {
            pattern =
                    new ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL);
        } else {
            throw new AssertionError("resource " + rule.getResource());
        }
        List<io.strimzi.api.kafka.model.user.acl.AclOperation> ops =
                rule.getOperations() != null ? rule.getOperations() : List.of(rule.getOperation());
        Function<io.strimzi.api.kafka.model.user.acl.AclOperation, AclOperation> op =
                o -> AclOperation.fromString(o.toValue());
        return ops.stream()
                .map(
                        o ->
                                new AclBinding(
                                        pattern,
                                        new AccessControlEntry(
                                                FederationAcls.principal(user),
                                                rule.getHost() == null ? "*" : rule.getHost(),
                                                op.apply(o),
                                                AclPermissionType.ALLOW)))
                .toList();
    }

    private static PatternType pattern(AclResourcePatternType t) {
        return t == null || t == AclResourcePatternType.LITERAL
                ? PatternType.LITERAL
                : PatternType.PREFIXED;
    }
}
