package io.fedstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.server.common.MetadataVersion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaTest {

    private static final int FIVE_MB = 5 * 1024 * 1024;
    private static final int EIGHT_MB = 8 * 1024 * 1024;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    /** Shared by the tests that neither restart nor close the broker. */
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.builder().start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void readCommittedConsumerSeesOnlyCommittedTransaction() {
        // arrange
        String topic = "tx-read-committed";
        kafka.createTopic(topic, 1, Map.of());
        commitOneAbortOne(kafka, topic, "tx-read-committed-producer");

        // act
        List<String> values = readAll(kafka, topic, IsolationLevel.READ_COMMITTED);

        // assert
        assertThat(values).containsExactly("committed-1", "committed-2");
    }

    @Test
    void readUncommittedConsumerSeesCommittedAndAbortedRecords() {
        // arrange
        String topic = "tx-read-uncommitted";
        kafka.createTopic(topic, 1, Map.of());
        commitOneAbortOne(kafka, topic, "tx-read-uncommitted-producer");

        // act
        List<String> values = readAll(kafka, topic, IsolationLevel.READ_UNCOMMITTED);

        // assert
        assertThat(values).containsExactly("committed-1", "committed-2", "aborted-1");
    }

    @Test
    void brokerRunsWithTheProductionFeatureLevelsOfKafka42() {
        // act
        Map<String, Short> features = kafka.finalizedFeatures();

        // assert
        assertThat(features)
                .containsEntry(
                        "metadata.version", MetadataVersion.latestProduction().featureLevel())
                .containsEntry("transaction.version", (short) 2)
                .containsEntry("group.version", (short) 1);
    }

    @Test
    void transactionTimeoutOfOneHourIsAccepted() {
        // arrange
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "long-timeout-producer");
        props.put(
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                (int) EmbeddedKafka.TRANSACTION_MAX_TIMEOUT_MS);

        try (KafkaProducer<String, String> producer = stringProducer(props)) {
            // act / assert
            assertThatCode(producer::initTransactions).doesNotThrowAnyException();
        }
    }

    @Test
    void topicWithLargeMaxMessageBytesAcceptsFiveMegabyteRecord() throws Exception {
        // arrange
        String topic = "large-records";
        kafka.createTopic(topic, 1, Map.of("max.message.bytes", Integer.toString(EIGHT_MB)));
        byte[] payload = randomBytes(FIVE_MB);

        // act
        try (KafkaProducer<byte[], byte[]> producer = largeRecordProducer(kafka)) {
            producer.send(new ProducerRecord<>(topic, payload)).get();
        }
        List<byte[]> received = readAllBytes(kafka, topic);

        // assert
        assertThat(received).hasSize(1);
        assertThat(received.get(0)).hasSize(FIVE_MB);
        assertThat(sha256(received.get(0))).isEqualTo(sha256(payload));
    }

    @Test
    void topicWithDefaultConfigRejectsFiveMegabyteRecord() {
        // arrange
        String topic = "default-record-limit";
        kafka.createTopic(topic, 1, Map.of());
        byte[] payload = randomBytes(FIVE_MB);

        try (KafkaProducer<byte[], byte[]> producer = largeRecordProducer(kafka)) {
            // act / assert
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, payload)).get())
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(RecordTooLargeException.class);
        }
    }

    @Test
    void createTopicIsIdempotentForTheSamePartitionCount() throws Exception {
        // arrange
        String topic = "created-twice";
        kafka.createTopic(topic, 3, Map.of());

        // act
        kafka.createTopic(topic, 3, Map.of());

        // assert
        try (Admin admin = kafka.createAdmin()) {
            int partitions =
                    admin.describeTopics(List.of(topic))
                            .allTopicNames()
                            .get()
                            .get(topic)
                            .partitions()
                            .size();
            assertThat(partitions).isEqualTo(3);
        }
    }

    @Test
    void createTopicRefusesAnExistingTopicWithAnotherPartitionCount() {
        // arrange
        String topic = "created-with-two-partitions";
        kafka.createTopic(topic, 2, Map.of());

        // act / assert
        assertThatThrownBy(() -> kafka.createTopic(topic, 4, Map.of()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("2 partitions");
    }

    @Test
    void createTopicsCreatesSeveralUsableTopics() throws Exception {
        // arrange
        List<NewTopic> topics =
                List.of(
                        new NewTopic("batch-a", 2, (short) 1),
                        new NewTopic("batch-b", 1, (short) 1)
                                .configs(Map.of("cleanup.policy", "compact")));

        // act
        kafka.createTopics(topics);

        // assert
        try (KafkaProducer<String, String> producer = stringProducer(kafka.clientProperties())) {
            producer.send(new ProducerRecord<>("batch-a", "k", "a")).get();
            producer.send(new ProducerRecord<>("batch-b", "k", "b")).get();
        }
        assertThat(readAll(kafka, "batch-a", IsolationLevel.READ_COMMITTED)).containsExactly("a");
        assertThat(readAll(kafka, "batch-b", IsolationLevel.READ_COMMITTED)).containsExactly("b");
    }

    @Test
    void topicsAreNotCreatedAutomatically() {
        // arrange
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 2_000);

        try (KafkaProducer<String, String> producer = stringProducer(props)) {
            // act / assert
            assertThatThrownBy(
                            () -> producer.send(new ProducerRecord<>("never-created", "v")).get())
                    .hasMessageContaining("never-created");
        }
    }

    @Test
    void consumerGroupCanCommitOffsets() throws Exception {
        // arrange
        String topic = "group-offsets";
        kafka.createTopic(topic, 1, Map.of());
        try (KafkaProducer<String, String> producer = stringProducer(kafka.clientProperties())) {
            producer.send(new ProducerRecord<>(topic, "v")).get();
        }
        Properties props = consumerProperties(kafka, IsolationLevel.READ_COMMITTED);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "test-group");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);

        // act
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (values.isEmpty() && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100)).forEach(r -> values.add(r.value()));
            }
            consumer.commitSync();
        }

        // assert
        assertThat(values).containsExactly("v");
        try (Admin admin = kafka.createAdmin()) {
            long committed =
                    admin.listConsumerGroupOffsets("test-group")
                            .partitionsToOffsetAndMetadata()
                            .get()
                            .get(new TopicPartition(topic, 0))
                            .offset();
            assertThat(committed).isEqualTo(1);
        }
    }

    @Test
    void listensOnLoopbackOnly() {
        // arrange
        Optional<InetAddress> external = nonLoopbackIpv4Address();
        assumeThat(external).as("a non-loopback IPv4 address on this machine").isPresent();

        // act / assert
        assertThat(kafka.bootstrapServers()).isEqualTo("127.0.0.1:" + kafka.port());
        assertThatThrownBy(
                        () -> {
                            try (Socket socket = new Socket()) {
                                socket.connect(
                                        new InetSocketAddress(external.get(), kafka.port()), 2_000);
                            }
                        })
                .isInstanceOf(ConnectException.class);
    }

    @Test
    void brokerPropertyRefusesManagedProperties() {
        // arrange
        EmbeddedKafka.Builder builder = EmbeddedKafka.builder();

        // act / assert
        assertThatThrownBy(() -> builder.brokerProperty("listeners", "PLAINTEXT://:9092"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void securityMethodsNeedABrokerBuiltWithScram() {
        // act / assert
        assertThat(kafka.clientProperties())
                .containsOnlyKeys(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        assertThatThrownBy(() -> kafka.clientProperties("user", "password"))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> kafka.upsertScramUser("user", "password"))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> kafka.createAcls(List.of()))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void featureRefusesMetadataVersion() {
        // arrange
        EmbeddedKafka.Builder builder = EmbeddedKafka.builder();

        // act / assert
        assertThatThrownBy(() -> builder.feature("metadata.version", (short) 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void startOnAPortInUseFails() throws IOException {
        // arrange
        try (ServerSocket occupied = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            EmbeddedKafka.Builder builder = EmbeddedKafka.builder().port(occupied.getLocalPort());

            // act / assert
            assertThatThrownBy(builder::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(Integer.toString(occupied.getLocalPort()));
        }
    }

    /** Tests that own their broker, because they close or bounce it. */
    @Nested
    class OwnBroker {

        @Test
        void startsOnTheRequestedFixedPort() throws Exception {
            // arrange
            int port = freePort();

            // act
            try (EmbeddedKafka fixed =
                    EmbeddedKafka.builder()
                            .port(port)
                            .brokerProperty("log.retention.hours", "1")
                            .start()) {
                fixed.createTopic("fixed-port");
                try (KafkaProducer<String, String> producer =
                        stringProducer(fixed.clientProperties())) {
                    producer.send(new ProducerRecord<>("fixed-port", "v")).get();
                }

                // assert
                assertThat(fixed.bootstrapServers()).isEqualTo("127.0.0.1:" + port);
                assertThat(readAll(fixed, "fixed-port", IsolationLevel.READ_COMMITTED))
                        .containsExactly("v");
            }
        }

        @Test
        void transactionsWorkWithTheTransactionProtocolBeforeKip890() {
            try (EmbeddedKafka classic =
                    EmbeddedKafka.builder().feature("transaction.version", (short) 0).start()) {
                // arrange
                String topic = "classic-transactions";
                classic.createTopic(topic, 1, Map.of());
                commitOneAbortOne(classic, topic, "classic-producer");

                // act
                List<String> values = readAll(classic, topic, IsolationLevel.READ_COMMITTED);

                // assert
                assertThat(classic.finalizedFeatures()).doesNotContainKey("transaction.version");
                assertThat(values).containsExactly("committed-1", "committed-2");
            }
        }

        @Test
        void closeTwiceIsHarmlessAndDeletesTheData() {
            // arrange
            EmbeddedKafka own = EmbeddedKafka.builder().start();
            own.createTopic("to-be-deleted");

            // act
            own.close();

            // assert
            assertThatCode(own::close).doesNotThrowAnyException();
            assertThat(Files.exists(own.dataDirectory())).isFalse();
            assertThatThrownBy(() -> own.createTopic("after-close"))
                    .isInstanceOf(IllegalStateException.class);
        }

        @Test
        void committedDataSurvivesRestartAndProducerWritesAgain() {
            try (EmbeddedKafka own = EmbeddedKafka.builder().start();
                    KafkaProducer<String, String> producer =
                            transactionalProducer(own, "restart-producer")) {
                // arrange
                String topic = "survives-restart";
                own.createTopic(topic, 2, Map.of());
                String bootstrapBefore = own.bootstrapServers();
                producer.initTransactions();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(topic, "k", "before"));
                producer.commitTransaction();

                // act
                own.restartBroker();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(topic, "k", "after"));
                producer.commitTransaction();

                // assert
                assertThat(own.bootstrapServers()).isEqualTo(bootstrapBefore);
                assertThat(readAll(own, topic, IsolationLevel.READ_COMMITTED))
                        .containsExactly("before", "after");
            }
        }

        @Test
        void openTransactionSurvivesRestartAndCommits() throws Exception {
            try (EmbeddedKafka own = EmbeddedKafka.builder().start();
                    KafkaProducer<String, String> producer =
                            transactionalProducer(own, "mid-transaction-producer")) {
                // arrange
                String topic = "open-transaction";
                own.createTopic(topic, 1, Map.of());
                producer.initTransactions();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(topic, "first")).get();

                // act
                own.restartBroker();
                producer.send(new ProducerRecord<>(topic, "second")).get();
                producer.commitTransaction();

                // assert
                assertThat(readAll(own, topic, IsolationLevel.READ_COMMITTED))
                        .containsExactly("first", "second");
            }
        }
    }

    private static void commitOneAbortOne(EmbeddedKafka kafka, String topic, String txId) {
        try (KafkaProducer<String, String> producer = transactionalProducer(kafka, txId)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "committed-1"));
            producer.send(new ProducerRecord<>(topic, "committed-2"));
            producer.commitTransaction();

            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "aborted-1"));
            producer.flush();
            producer.abortTransaction();
        }
    }

    private static KafkaProducer<String, String> transactionalProducer(
            EmbeddedKafka kafka, String transactionalId) {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        return stringProducer(props);
    }

    private static KafkaProducer<String, String> stringProducer(Properties props) {
        return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }

    private static KafkaProducer<byte[], byte[]> largeRecordProducer(EmbeddedKafka kafka) {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, EIGHT_MB);
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static Properties consumerProperties(EmbeddedKafka kafka, IsolationLevel isolation) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation.toString());
        return props;
    }

    /** All values of a topic, from the beginning up to the end offset for that isolation level. */
    private static List<String> readAll(
            EmbeddedKafka kafka, String topic, IsolationLevel isolation) {
        Properties props = consumerProperties(kafka, isolation);
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            return drain(consumer, topic).stream()
                    .map(ConsumerRecord::value)
                    .collect(Collectors.toList());
        }
    }

    private static List<byte[]> readAllBytes(EmbeddedKafka kafka, String topic) {
        Properties props = consumerProperties(kafka, IsolationLevel.READ_COMMITTED);
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(
                        props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            return drain(consumer, topic).stream()
                    .map(ConsumerRecord::value)
                    .collect(Collectors.toList());
        }
    }

    private static <K, V> List<ConsumerRecord<K, V>> drain(
            KafkaConsumer<K, V> consumer, String topic) {
        List<TopicPartition> partitions =
                consumer.partitionsFor(topic).stream()
                        .map(info -> new TopicPartition(topic, info.partition()))
                        .sorted((a, b) -> Integer.compare(a.partition(), b.partition()))
                        .collect(Collectors.toList());
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        List<ConsumerRecord<K, V>> records = new ArrayList<>();
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out reading " + topic + " up to " + end);
            }
            consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        }
        return records;
    }

    private static byte[] randomBytes(int size) {
        byte[] bytes = new byte[size];
        new Random(42).nextBytes(bytes);
        return bytes;
    }

    private static byte[] sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static Optional<InetAddress> nonLoopbackIpv4Address() {
        try {
            return Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                    .flatMap(nic -> Collections.list(nic.getInetAddresses()).stream())
                    .filter(address -> address instanceof Inet4Address)
                    .filter(address -> !address.isLoopbackAddress())
                    .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
