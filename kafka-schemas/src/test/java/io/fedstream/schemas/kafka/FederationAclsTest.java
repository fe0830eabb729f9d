package io.fedstream.schemas.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.kafka.FederationAcls.PromptTopics;
import io.fedstream.schemas.kafka.FederationAcls.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * FedStream's ACLs on a real broker with SASL/SCRAM and the KRaft authorizer: each principal can do
 * what {@link FederationAcls} grants it, and the things it must not do fail with the authorization
 * error Kafka reports for them.
 */
class FederationAclsTest {

    private static final Topics TOPICS = Topics.DEFAULT;
    private static final PromptTopics PROMPTS = PromptTopics.DEFAULT;
    private static final String FEDERATION = "demo";
    private static final String LEDGER = io.fedstream.schemas.Topics.PRIVACY_LEDGER;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration NO_RETRY = Duration.ofSeconds(5);

    private static final Map<String, String> PASSWORDS =
            Map.of(
                    "admin", "admin-secret",
                    "site-1", "site-1-secret",
                    "site-2", "site-2-secret",
                    "job", "job-secret",
                    "operator", "operator-secret",
                    "prompt-site", "prompt-site-secret",
                    "prompt-job", "prompt-job-secret");

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startSecuredBroker() {
        kafka = EmbeddedKafka.builder().scram(PASSWORDS, "admin").start();
        kafka.createTopics(
                List.of(
                        new NewTopic(TOPICS.adapterUpdates(), 2, (short) 1),
                        new NewTopic(TOPICS.globalModels(), 1, (short) 1),
                        new NewTopic(TOPICS.rejectedUpdates(), 1, (short) 1),
                        new NewTopic(PROMPTS.promptUpdates(), 2, (short) 1),
                        new NewTopic(PROMPTS.globalPrompts(), 1, (short) 1),
                        new NewTopic(LEDGER, 1, (short) 1)));
        List<AclBinding> acls = new ArrayList<>();
        acls.addAll(FederationAcls.forSite("site-1", TOPICS));
        acls.addAll(FederationAcls.forSite("site-2", TOPICS));
        acls.addAll(FederationAcls.forAggregationJob("job", TOPICS));
        acls.addAll(FederationAcls.forOperator("operator", TOPICS));
        acls.addAll(FederationAcls.forPromptSite("prompt-site", PROMPTS));
        acls.addAll(FederationAcls.forPromptJob("prompt-job", PROMPTS));
        acls.addAll(FederationAcls.forPrivacyLedgerJob("job", LEDGER));
        // site-2 and the operator read the ledger; site-1 was not granted it
        acls.addAll(FederationAcls.forPrivacyLedgerReader("site-2", LEDGER));
        acls.addAll(FederationAcls.forPrivacyLedgerReader("operator", LEDGER));
        kafka.createAcls(acls);
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    // ---- sites: allowed ----------------------------------------------------------------------

    @Test
    void siteProducesItsUpdatesWithAnIdempotentProducerAndNoClusterAcl() throws Exception {
        // arrange
        assertThat(FederationAcls.forSite("site-1", TOPICS))
                .noneMatch(acl -> acl.pattern().resourceType() == ResourceType.CLUSTER);

        // act
        RecordMetadata written;
        try (KafkaProducer<String, String> producer = siteProducer("site-1")) {
            written =
                    producer.send(
                                    new ProducerRecord<>(
                                            TOPICS.adapterUpdates(), FEDERATION, "site-1/v0"))
                            .get();
        }

        // assert
        assertThat(written.offset()).isGreaterThanOrEqualTo(0);
        TopicPartition partition = new TopicPartition(written.topic(), written.partition());
        try (Admin admin = kafka.createAdmin()) {
            List<ProducerState> producers =
                    admin.describeProducers(List.of(partition))
                            .partitionResult(partition)
                            .get()
                            .activeProducers();
            assertThat(producers).as("idempotent producers on " + partition).isNotEmpty();
        }
    }

    @Test
    void siteReadsOnlyCommittedGlobalModelsWithoutAGroup() throws Exception {
        // arrange
        try (KafkaProducer<String, String> job = jobProducer("fedstream-aggregator-global-0-1")) {
            job.initTransactions();
            job.beginTransaction();
            job.send(new ProducerRecord<>(TOPICS.globalModels(), FEDERATION, "committed-v1"));
            job.commitTransaction();
            job.beginTransaction();
            job.send(new ProducerRecord<>(TOPICS.globalModels(), FEDERATION, "aborted-v2"));
            job.flush();
            job.abortTransaction();
        }

        // act
        List<String> models = readAll(siteConsumerProperties("site-1"), TOPICS.globalModels());

        // assert
        assertThat(models).contains("committed-v1").doesNotContain("aborted-v2");
    }

    @Test
    void siteSeesAndDescribesOnlyTheTopicsItUses() throws Exception {
        try (Admin site = Admin.create(props("site-1"))) {
            // act
            var visible = site.listTopics().names().get();
            var described =
                    site.describeTopics(List.of(TOPICS.adapterUpdates(), TOPICS.globalModels()))
                            .allTopicNames()
                            .get();

            // assert
            assertThat(visible)
                    .containsExactlyInAnyOrder(TOPICS.adapterUpdates(), TOPICS.globalModels());
            assertThat(described.get(TOPICS.adapterUpdates()).partitions()).hasSize(2);
            assertThat(
                            causeOf(
                                    () ->
                                            site.describeTopics(List.of(TOPICS.rejectedUpdates()))
                                                    .allTopicNames()
                                                    .get()))
                    .isInstanceOf(TopicAuthorizationException.class);
        }
    }

    // ---- sites: denied -----------------------------------------------------------------------

    @Test
    void siteCannotReadAdapterUpdates() {
        // arrange
        try (KafkaProducer<String, String> producer = siteProducer("site-2")) {
            producer.send(new ProducerRecord<>(TOPICS.adapterUpdates(), FEDERATION, "site-2/v0"));
        }

        try (KafkaConsumer<String, String> site1 = siteConsumer("site-1")) {
            // act / assert
            assertThatThrownBy(() -> readAll(site1, TOPICS.adapterUpdates()))
                    .isInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void siteCannotProduceToGlobalModels() {
        try (KafkaProducer<String, String> producer = siteProducer("site-1")) {
            // act
            Throwable error =
                    sendError(producer, TOPICS.globalModels(), FEDERATION, "forged-model");

            // assert
            assertThat(error).isInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void siteCannotProduceToRejectedUpdates() {
        try (KafkaProducer<String, String> producer = siteProducer("site-1")) {
            // act
            Throwable error =
                    sendError(producer, TOPICS.rejectedUpdates(), "site-2", "forged-rejection");

            // assert
            assertThat(error).isInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void siteCannotReadRejectedUpdates() {
        try (KafkaConsumer<String, String> site = siteConsumer("site-1")) {
            // act / assert
            assertThatThrownBy(() -> readAll(site, TOPICS.rejectedUpdates()))
                    .isInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void siteCannotUseTheJobsTransactionalIds() {
        // arrange
        Properties props = props("site-1");
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "fedstream-aggregator-global-0-1");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) NO_RETRY.toMillis());

        try (KafkaProducer<String, String> producer = producer(props)) {
            // act / assert: fencing the job's producers would stop it
            assertThatThrownBy(producer::initTransactions)
                    .isInstanceOf(TransactionalIdAuthorizationException.class);
        }
    }

    @Test
    void siteCannotCommitOffsetsForTheJobsGroup() {
        // arrange
        Properties props = props("site-1");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, FederationAcls.AGGREGATOR_GROUP);
        TopicPartition models = new TopicPartition(TOPICS.globalModels(), 0);

        try (KafkaConsumer<String, String> site = consumer(props)) {
            site.assign(List.of(models));

            // act / assert
            assertThatThrownBy(
                            () ->
                                    site.commitSync(
                                            Map.of(models, new OffsetAndMetadata(0)), NO_RETRY))
                    .isInstanceOf(GroupAuthorizationException.class);
        }
    }

    @Test
    void siteCannotCreateOrDeleteTopics() {
        try (Admin site = Admin.create(props("site-1"))) {
            // act
            Throwable create =
                    causeOf(
                            () ->
                                    site.createTopics(
                                                    List.of(
                                                            new NewTopic(
                                                                    "site-made", 1, (short) 1)))
                                            .all()
                                            .get());
            Throwable delete =
                    causeOf(() -> site.deleteTopics(List.of(TOPICS.globalModels())).all().get());

            // assert
            assertThat(create).isInstanceOf(TopicAuthorizationException.class);
            assertThat(delete).isInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void siteCannotDescribeOrAlterAcls() {
        try (Admin site = Admin.create(props("site-1"))) {
            // act
            Throwable describe =
                    causeOf(() -> site.describeAcls(AclBindingFilter.ANY).values().get());
            Throwable create =
                    causeOf(
                            () ->
                                    site.createAcls(
                                                    FederationAcls.forAggregationJob(
                                                            "site-1", TOPICS))
                                            .all()
                                            .get());

            // assert
            assertThat(describe).isInstanceOf(ClusterAuthorizationException.class);
            assertThat(create).isInstanceOf(ClusterAuthorizationException.class);
        }
    }

    @Test
    void siteCannotChangeOrListCredentials() {
        try (Admin site = Admin.create(props("site-1"))) {
            // act
            Throwable alter =
                    causeOf(
                            () ->
                                    site.alterUserScramCredentials(
                                                    List.of(
                                                            new UserScramCredentialUpsertion(
                                                                    "site-2",
                                                                    new ScramCredentialInfo(
                                                                            ScramMechanism
                                                                                    .SCRAM_SHA_512,
                                                                            4096),
                                                                    "taken-over")))
                                            .all()
                                            .get());
            Throwable describe = causeOf(() -> site.describeUserScramCredentials().all().get());

            // assert
            assertThat(alter).isInstanceOf(ClusterAuthorizationException.class);
            assertThat(describe).isInstanceOf(ClusterAuthorizationException.class);
        }
    }

    // ---- authentication ----------------------------------------------------------------------

    @Test
    void wrongPasswordOrUnknownUserFailsAuthentication() {
        try (Admin wrongPassword = Admin.create(kafka.clientProperties("site-1", "guessed"));
                Admin unknownUser = Admin.create(kafka.clientProperties("site-9", "whatever"))) {
            // act
            Throwable wrong = causeOf(() -> wrongPassword.describeCluster().clusterId().get());
            Throwable unknown = causeOf(() -> unknownUser.describeCluster().clusterId().get());

            // assert
            assertThat(wrong).isInstanceOf(SaslAuthenticationException.class);
            assertThat(unknown).isInstanceOf(SaslAuthenticationException.class);
        }
    }

    // ---- the aggregation job -----------------------------------------------------------------

    @Test
    void jobReadsAllSitesUpdatesAndCommitsOffsetsWithItsGroup() throws Exception {
        // arrange
        String marker = "marker-" + System.nanoTime();
        for (String site : List.of("site-1", "site-2")) {
            try (KafkaProducer<String, String> producer = siteProducer(site)) {
                producer.send(
                                new ProducerRecord<>(
                                        TOPICS.adapterUpdates(), FEDERATION, site + "/" + marker))
                        .get();
            }
        }
        Properties props = props("job");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, FederationAcls.AGGREGATOR_GROUP);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);

        // act: what Flink's KafkaSource does: assign, read, commit on checkpoint
        List<String> updates;
        try (KafkaConsumer<String, String> job = consumer(props)) {
            updates = readAll(job, TOPICS.adapterUpdates());
            job.commitSync();
        }

        // assert
        assertThat(updates).contains("site-1/" + marker, "site-2/" + marker);
        try (Admin job = Admin.create(props("job"))) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                    job.listConsumerGroupOffsets(FederationAcls.AGGREGATOR_GROUP)
                            .partitionsToOffsetAndMetadata()
                            .get();
            assertThat(committed.keySet())
                    .extracting(TopicPartition::topic)
                    .containsOnly(TOPICS.adapterUpdates());
        }
    }

    @Test
    void jobWritesTransactionallyToBothOutputsAndTheOperatorReadsTheDeadLetters() throws Exception {
        // arrange
        String marker = "rejected-" + System.nanoTime();

        // act
        try (KafkaProducer<String, String> job = jobProducer("fedstream-aggregator-rejected-0-1")) {
            job.initTransactions();
            job.beginTransaction();
            job.send(new ProducerRecord<>(TOPICS.globalModels(), FEDERATION, "model-" + marker));
            job.send(new ProducerRecord<>(TOPICS.rejectedUpdates(), "site-1", marker));
            job.commitTransaction();
        }

        // assert
        assertThat(readAll(committed(props("operator")), TOPICS.rejectedUpdates()))
                .contains(marker);
        assertThat(readAll(committed(props("job")), TOPICS.globalModels()))
                .contains("model-" + marker);
    }

    @Test
    void jobCannotForgeSiteUpdatesNorUseOtherTransactionalIds() {
        // arrange
        Properties foreignId = props("job");
        foreignId.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "someone-else-0");
        foreignId.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) NO_RETRY.toMillis());

        try (KafkaProducer<String, String> job = producer(props("job"));
                KafkaProducer<String, String> other = producer(foreignId)) {
            // act
            Throwable forged = sendError(job, TOPICS.adapterUpdates(), FEDERATION, "forged-update");

            // assert
            assertThat(forged).isInstanceOf(TopicAuthorizationException.class);
            assertThatThrownBy(other::initTransactions)
                    .isInstanceOf(TransactionalIdAuthorizationException.class);
        }
    }

    // ---- the privacy ledger ------------------------------------------------------------------

    @Test
    void jobWritesTheLedgerInTransactionsAndReadsItBackAsGrantedReadersDo() {
        // arrange
        try (KafkaProducer<String, String> job = jobProducer("fedstream-aggregator-ledger-0-1")) {
            job.initTransactions();
            job.beginTransaction();
            job.send(new ProducerRecord<>(LEDGER, FEDERATION, "spend-v1"));
            job.commitTransaction();
            job.beginTransaction();
            job.send(new ProducerRecord<>(LEDGER, FEDERATION, "aborted-v2"));
            job.flush();
            job.abortTransaction();
        }

        // act / assert: the job (a start without state), a granted site and the operator
        for (String reader : List.of("job", "site-2", "operator")) {
            assertThat(readAll(siteConsumerProperties(reader), LEDGER))
                    .as(reader)
                    .contains("spend-v1")
                    .doesNotContain("aborted-v2");
        }
    }

    @Test
    void ledgerReadersCannotWriteItAndOthersCannotReadIt() {
        // a reader holds no WRITE (the operator's producer is refused even a producer id: above)
        assertThat(FederationAcls.forPrivacyLedgerReader("operator", LEDGER))
                .noneMatch(acl -> acl.entry().operation() == AclOperation.WRITE);
        try (KafkaProducer<String, String> site2 = siteProducer("site-2")) {
            // act
            Throwable error = sendError(site2, LEDGER, FEDERATION, "forged");

            // assert
            assertThat(error).isInstanceOf(TopicAuthorizationException.class);
        }
        for (String other : List.of("site-1", "prompt-site", "prompt-job")) {
            try (KafkaConsumer<String, String> c = consumer(siteConsumerProperties(other))) {
                assertThatThrownBy(() -> readAll(c, LEDGER))
                        .as(other)
                        .isInstanceOf(TopicAuthorizationException.class);
            }
        }
    }

    // ---- operators ---------------------------------------------------------------------------

    @Test
    void operatorWithoutWriteAclCannotEvenStartAnIdempotentProducer() {
        // arrange: no WRITE on any topic, no IDEMPOTENT_WRITE: InitProducerId is refused
        assertThat(FederationAcls.forOperator("operator", TOPICS))
                .noneMatch(acl -> acl.entry().operation() == AclOperation.WRITE);

        try (KafkaProducer<String, String> operator = producer(props("operator"))) {
            // act: the refused InitProducerId surfaces through the send's future, or, when the
            // producer reached its error state before the send, from send() itself
            Throwable error;
            try {
                operator.send(new ProducerRecord<>(TOPICS.rejectedUpdates(), "x", "y")).get();
                throw new AssertionError("Expected the send to fail");
            } catch (Exception e) {
                error = e;
            }

            // assert
            assertThat(error)
                    .satisfiesAnyOf(
                            e -> assertThat(e).isInstanceOf(ClusterAuthorizationException.class),
                            e ->
                                    assertThat(e)
                                            .hasRootCauseInstanceOf(
                                                    ClusterAuthorizationException.class),
                            e ->
                                    assertThat(e)
                                            .hasCauseInstanceOf(
                                                    ClusterAuthorizationException.class));
        }
    }

    // ---- the prompt job and its sites (FedDTPT) ------------------------------------------------

    @Test
    void promptSitePublishesPromptsAndReadsOnlyCommittedGlobalPrompts() throws Exception {
        // arrange
        String marker = "prompt-" + System.nanoTime();
        try (KafkaProducer<String, String> job =
                promptJobProducer(
                        ClientIds.PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX + "-global-0-1")) {
            job.initTransactions();
            job.beginTransaction();
            job.send(
                    new ProducerRecord<>(
                            PROMPTS.globalPrompts(), FEDERATION, "committed-" + marker));
            job.commitTransaction();
            job.beginTransaction();
            job.send(
                    new ProducerRecord<>(PROMPTS.globalPrompts(), FEDERATION, "aborted-" + marker));
            job.flush();
            job.abortTransaction();
        }

        // act
        RecordMetadata written;
        try (KafkaProducer<String, String> site = siteProducer("prompt-site")) {
            written =
                    site.send(new ProducerRecord<>(PROMPTS.promptUpdates(), FEDERATION, marker))
                            .get();
        }
        List<String> prompts =
                readAll(siteConsumerProperties("prompt-site"), PROMPTS.globalPrompts());

        // assert
        assertThat(written.topic()).isEqualTo(PROMPTS.promptUpdates());
        assertThat(prompts).contains("committed-" + marker).doesNotContain("aborted-" + marker);
    }

    @Test
    void promptSiteCannotReadOtherSitesPromptsNorWriteGlobalPromptsNorTouchAdapterTopics()
            throws Exception {
        // arrange: a prompt on the topic, so reading it needs a fetch (READ), not only the offset
        // lookups its DESCRIBE allows
        try (KafkaProducer<String, String> site = siteProducer("prompt-site")) {
            site.send(new ProducerRecord<>(PROMPTS.promptUpdates(), FEDERATION, "a-prompt")).get();
        }

        try (KafkaProducer<String, String> site = siteProducer("prompt-site");
                KafkaConsumer<String, String> reader = siteConsumer("prompt-site")) {
            // act
            Throwable forged =
                    sendError(site, PROMPTS.globalPrompts(), FEDERATION, "forged-prompt");
            Throwable adapter =
                    sendError(
                            site, TOPICS.adapterUpdates(), FEDERATION, "not-a-prompt-site-update");

            // assert
            assertThat(forged).isInstanceOf(TopicAuthorizationException.class);
            assertThat(adapter).isInstanceOf(TopicAuthorizationException.class);
            assertThatThrownBy(() -> readAll(reader, PROMPTS.promptUpdates()))
                    .isInstanceOf(TopicAuthorizationException.class);
            assertThatThrownBy(() -> readAll(reader, TOPICS.globalModels()))
                    .isInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void promptJobReadsPromptsWithItsGroupAndWritesTransactionallyToBothOutputs() throws Exception {
        // arrange
        String marker = "prompt-job-" + System.nanoTime();
        try (KafkaProducer<String, String> site = siteProducer("prompt-site")) {
            site.send(new ProducerRecord<>(PROMPTS.promptUpdates(), FEDERATION, marker)).get();
        }
        Properties props = props("prompt-job");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, ClientIds.PROMPT_AGGREGATOR_GROUP);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);

        // act: the source reads and commits; the sinks write in one transaction
        List<String> updates;
        try (KafkaConsumer<String, String> job = consumer(props)) {
            updates = readAll(job, PROMPTS.promptUpdates());
            job.commitSync();
        }
        try (KafkaProducer<String, String> job =
                promptJobProducer(
                        ClientIds.PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX + "-rejected-0-1")) {
            job.initTransactions();
            job.beginTransaction();
            job.send(new ProducerRecord<>(PROMPTS.globalPrompts(), FEDERATION, "v-" + marker));
            job.send(new ProducerRecord<>(PROMPTS.rejectedUpdates(), "prompt-site", marker));
            job.commitTransaction();
        }

        // assert
        assertThat(updates).contains(marker);
        try (Admin job = Admin.create(props("prompt-job"))) {
            assertThat(
                            job.listConsumerGroupOffsets(ClientIds.PROMPT_AGGREGATOR_GROUP)
                                    .partitionsToOffsetAndMetadata()
                                    .get()
                                    .keySet())
                    .extracting(TopicPartition::topic)
                    .containsOnly(PROMPTS.promptUpdates());
        }
        assertThat(readAll(committed(props("prompt-job")), PROMPTS.globalPrompts()))
                .contains("v-" + marker);
        assertThat(readAll(committed(props("operator")), TOPICS.rejectedUpdates()))
                .contains(marker);
    }

    @Test
    void theTwoJobsCannotUseEachOthersTopicsGroupsOrTransactionalIds() {
        // arrange
        assertThat(ClientIds.PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX)
                .doesNotStartWith(ClientIds.AGGREGATOR_TRANSACTIONAL_ID_PREFIX);
        assertThat(ClientIds.AGGREGATOR_TRANSACTIONAL_ID_PREFIX)
                .doesNotStartWith(ClientIds.PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX);
        Properties promptJobAsAggregator = props("prompt-job");
        promptJobAsAggregator.put(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG,
                ClientIds.AGGREGATOR_TRANSACTIONAL_ID_PREFIX + "-global-0-1");
        Properties aggregatorAsPromptJob = props("job");
        aggregatorAsPromptJob.put(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG,
                ClientIds.PROMPT_AGGREGATOR_TRANSACTIONAL_ID_PREFIX + "-global-0-1");
        Properties groupOfTheOther = props("prompt-job");
        groupOfTheOther.put(ConsumerConfig.GROUP_ID_CONFIG, ClientIds.AGGREGATOR_GROUP);
        TopicPartition prompts = new TopicPartition(PROMPTS.promptUpdates(), 0);

        try (KafkaProducer<String, String> p1 = producer(promptJobAsAggregator);
                KafkaProducer<String, String> p2 = producer(aggregatorAsPromptJob);
                KafkaConsumer<String, String> adapterJob = consumer(committed(props("job")));
                KafkaConsumer<String, String> promptJob = consumer(groupOfTheOther)) {
            // act / assert
            assertThatThrownBy(p1::initTransactions)
                    .isInstanceOf(TransactionalIdAuthorizationException.class);
            assertThatThrownBy(p2::initTransactions)
                    .isInstanceOf(TransactionalIdAuthorizationException.class);
            assertThatThrownBy(() -> readAll(adapterJob, PROMPTS.promptUpdates()))
                    .isInstanceOf(TopicAuthorizationException.class);
            promptJob.assign(List.of(prompts));
            assertThatThrownBy(
                            () ->
                                    promptJob.commitSync(
                                            Map.of(prompts, new OffsetAndMetadata(0)), NO_RETRY))
                    .isInstanceOf(GroupAuthorizationException.class);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static Properties props(String user) {
        return kafka.clientProperties(user, PASSWORDS.get(user));
    }

    private static Properties committed(Properties props) {
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return props;
    }

    /** A worker's producer: idempotent, acks=all. */
    private static KafkaProducer<String, String> siteProducer(String site) {
        Properties props = props(site);
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return producer(props);
    }

    /** A worker's consumer: read_committed, no group, no commits. */
    private static KafkaConsumer<String, String> siteConsumer(String site) {
        return consumer(siteConsumerProperties(site));
    }

    private static Properties siteConsumerProperties(String site) {
        Properties props = committed(props(site));
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return props;
    }

    /** One of the job's exactly-once sink producers. */
    private static KafkaProducer<String, String> jobProducer(String transactionalId) {
        Properties props = props("job");
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        return producer(props);
    }

    /** One of the prompt job's exactly-once sink producers. */
    private static KafkaProducer<String, String> promptJobProducer(String transactionalId) {
        Properties props = props("prompt-job");
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        return producer(props);
    }

    private static KafkaProducer<String, String> producer(Properties props) {
        props.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) NO_RETRY.toMillis());
        props.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) NO_RETRY.toMillis() * 2);
        props.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) NO_RETRY.toMillis());
        return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }

    private static KafkaConsumer<String, String> consumer(Properties props) {
        props.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) NO_RETRY.toMillis());
        return new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }

    /** {@link #readAll(KafkaConsumer, String)} with a new consumer, closed afterwards. */
    private static List<String> readAll(Properties props, String topic) {
        try (KafkaConsumer<String, String> consumer = consumer(props)) {
            return readAll(consumer, topic);
        }
    }

    /**
     * Reads a topic from the beginning to its current end the way the workers do: assigned
     * partitions (counted by the admin, so a missing DESCRIBE right shows up in the read itself),
     * no group.
     */
    private static List<String> readAll(KafkaConsumer<String, String> consumer, String topic) {
        int partitions = partitionCount(topic);
        List<TopicPartition> assigned = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            assigned.add(new TopicPartition(topic, p));
        }
        consumer.assign(assigned);
        consumer.seekToBeginning(assigned);
        Map<TopicPartition, Long> end = consumer.endOffsets(assigned);
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        while (assigned.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out reading " + topic + " up to " + end);
            }
            consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        }
        return records.stream().map(ConsumerRecord::value).collect(Collectors.toList());
    }

    private static int partitionCount(String topic) {
        try (Admin admin = kafka.createAdmin()) {
            return admin.describeTopics(List.of(topic))
                    .allTopicNames()
                    .get()
                    .get(topic)
                    .partitions()
                    .size();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The cause of the {@link ExecutionException} the call throws (a future's failure). */
    // why sending one record fails (the call must fail)
    private static Throwable sendError(
            KafkaProducer<String, String> producer, String topic, String key, String value) {
        return causeOf(() -> producer.send(new ProducerRecord<>(topic, key, value)).get());
    }

    private static Throwable causeOf(FutureCall call) {
        try {
            call.run();
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("Expected an ExecutionException, got " + e, e);
        }
        throw new AssertionError("Expected the call to fail");
    }

    /** A call that waits on a {@link Future}. */
    @FunctionalInterface
    private interface FutureCall {
        void run() throws Exception;
    }
}
