package io.fedstream.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link EmbeddedKafka.Builder#scram}: SASL/SCRAM logins and the ACL authorizer. */
class SecureEmbeddedKafkaTest {

    private static final Map<String, String> USERS =
            Map.of("admin", "admin-secret", "writer", "writer-secret", "nobody", "nobody-secret");

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startSecuredBroker() {
        kafka = EmbeddedKafka.builder().scram(USERS, "admin").start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void superUserAdministersTheBroker() throws Exception {
        // act
        kafka.createTopic("made-by-admin", 2);

        // assert
        try (Admin admin = kafka.createAdmin()) {
            assertThat(admin.listTopics().names().get()).contains("made-by-admin");
            assertThat(admin.describeAcls(AclBindingFilter.ANY).values().get()).isNotNull();
            assertThat(admin.describeUserScramCredentials().users().get())
                    .containsAll(USERS.keySet());
        }
    }

    @Test
    void userWithoutAclsMayDoNothing() {
        // arrange
        kafka.createTopic("invisible");

        try (Admin nobody = Admin.create(props("nobody"));
                KafkaProducer<String, String> producer = producer(props("nobody"))) {
            // act / assert
            assertThat(get(() -> nobody.listTopics().names().get())).isEmpty();
            assertThat(
                            causeOf(
                                    () ->
                                            nobody.describeTopics(List.of("invisible"))
                                                    .allTopicNames()
                                                    .get()))
                    .isInstanceOf(TopicAuthorizationException.class);
            assertThat(causeOf(() -> producer.send(new ProducerRecord<>("invisible", "v")).get()))
                    .isInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void clientPropertiesWithoutCredentialsCarryNoIdentity() {
        // act
        Properties props = kafka.clientProperties();

        // assert
        assertThat(props)
                .containsEntry(
                        CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers())
                .containsEntry(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT")
                .containsEntry(SaslConfigs.SASL_MECHANISM, "SCRAM-SHA-512")
                .doesNotContainKey(SaslConfigs.SASL_JAAS_CONFIG);
        assertThatThrownBy(
                        () ->
                                new KafkaConsumer<>(
                                        props, new StringDeserializer(), new StringDeserializer()))
                .isInstanceOf(KafkaException.class);
    }

    @Test
    void upsertScramUserCreatesAUserAndChangesItsPassword() throws Exception {
        // act
        kafka.upsertScramUser("late-user", "first-password");
        String firstLogin = clusterIdAs("late-user", "first-password");
        kafka.upsertScramUser("late-user", "second-password");

        // assert
        assertThat(firstLogin).isNotBlank();
        assertThat(causeOf(() -> clusterIdAs("late-user", "first-password")))
                .isInstanceOf(SaslAuthenticationException.class);
        assertThat(clusterIdAs("late-user", "second-password")).isEqualTo(firstLogin);
    }

    @Test
    void upsertScramUserRefusesTheSuperUserAndReservedNames() {
        assertThatThrownBy(() -> kafka.upsertScramUser("admin", "new"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> kafka.upsertScramUser("embedded-kafka-controller", "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> kafka.upsertScramUser("semi;colon", "x"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void credentialsAndAclsSurviveARestart() throws Exception {
        // arrange
        String topic = "written-across-restart";
        kafka.createTopic(topic);
        kafka.createAcls(
                List.of(
                        new AclBinding(
                                new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
                                new AccessControlEntry(
                                        "User:writer",
                                        "*",
                                        AclOperation.WRITE,
                                        AclPermissionType.ALLOW))));
        try (KafkaProducer<String, String> producer = producer(props("writer"))) {
            producer.send(new ProducerRecord<>(topic, "before")).get();
        }

        // act
        kafka.restartBroker();

        // assert
        try (KafkaProducer<String, String> producer = producer(props("writer"))) {
            assertThat(producer.send(new ProducerRecord<>(topic, "after")).get().offset())
                    .isEqualTo(1);
        }
        assertThat(causeOf(() -> clusterIdAs("writer", "wrong")))
                .isInstanceOf(SaslAuthenticationException.class);
    }

    @Test
    void scramRefusesASuperUserThatIsNotAUser() {
        assertThatThrownBy(() -> EmbeddedKafka.builder().scram(Map.of("a", "b"), "root"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void scramRefusesUnusableNamesAndEmptyPasswords() {
        assertThatThrownBy(() -> EmbeddedKafka.builder().scram(Map.of("with space", "p"), "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(
                        () ->
                                EmbeddedKafka.builder()
                                        .scram(Map.of("embedded-kafka-controller", "p"), "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EmbeddedKafka.builder().scram(Map.of("admin", ""), "admin"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void startRefusesBrokerPropertiesThatWouldChangeTheSecuritySetup() {
        // arrange
        EmbeddedKafka.Builder openDoor =
                EmbeddedKafka.builder()
                        .scram(USERS, "admin")
                        .brokerProperty("allow.everyone.if.no.acl.found", "true");
        EmbeddedKafka.Builder plainListener =
                EmbeddedKafka.builder()
                        .brokerProperty("listener.name.broker.sasl.enabled.mechanisms", "PLAIN")
                        .scram(USERS, "admin");

        // act / assert
        assertThatThrownBy(openDoor::start).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(plainListener::start).isInstanceOf(IllegalArgumentException.class);
    }

    private static Properties props(String user) {
        return kafka.clientProperties(user, USERS.get(user));
    }

    private static KafkaProducer<String, String> producer(Properties props) {
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
        return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }

    /** The cluster id, as seen by a new admin client logged in as that user. */
    private static String clusterIdAs(String user, String password) throws ExecutionException {
        try (Admin admin = Admin.create(kafka.clientProperties(user, password))) {
            return admin.describeCluster().clusterId().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    private static <T> T get(Call<T> call) {
        try {
            return call.call();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The cause of the {@link ExecutionException} the call throws (a future's failure). */
    private static Throwable causeOf(Call<?> call) {
        try {
            call.call();
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("Expected an ExecutionException, got " + e, e);
        }
        throw new AssertionError("Expected the call to fail");
    }

    @FunctionalInterface
    private interface Call<T> {
        T call() throws Exception;
    }
}
