package io.fedstream.embedded;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.metadata.UserScramCredentialRecord;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.security.plain.PlainLoginModule;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.ScramLoginModule;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.metadata.authorizer.StandardAuthorizer;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.server.common.ApiMessageAndVersion;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * The SASL/SCRAM and ACL settings of a secured {@link EmbeddedKafka} (see "Security" in its class
 * comment): the users it creates at start, the broker properties and the client properties. Holds
 * no connection; {@link EmbeddedKafka} does the talking.
 */
final class ScramSetup {

    /** The mechanism of the client (and inter-broker) listener. */
    static final ScramMechanism MECHANISM = ScramMechanism.SCRAM_SHA_512;

    /** SCRAM iterations of the credentials created here: Kafka's minimum and default. */
    static final int ITERATIONS = 4096;

    static final ScramCredentialInfo CREDENTIAL_INFO =
            new ScramCredentialInfo(MECHANISM, ITERATIONS);

    /**
     * The principal the broker uses towards its co-located controller (SASL/PLAIN on the KRaft
     * listener, with a random password made at every build). A super user: the controller requires
     * CLUSTER_ACTION for broker registration, heartbeats and forwarded requests.
     */
    static final String CONTROLLER_USER = "embedded-kafka-controller";

    /**
     * Broker properties that define the security setup; {@link EmbeddedKafka.Builder#start()}
     * refuses them (and every {@code listener.name.*} property) when security is enabled.
     */
    static final Set<String> SECURITY_PROPERTIES =
            Set.of(
                    "authorizer.class.name",
                    "super.users",
                    "allow.everyone.if.no.acl.found",
                    "sasl.enabled.mechanisms",
                    "sasl.mechanism.inter.broker.protocol",
                    "sasl.mechanism.controller.protocol",
                    "sasl.jaas.config");

    static final String LISTENER_PREFIX = "listener.name.";

    private static final String CONTROLLER_MECHANISM = "PLAIN";
    private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]*");

    private final Map<String, String> users;
    private final String superUser;
    private final String controllerPassword;

    ScramSetup(Map<String, String> usersAndPasswords, String superUser) {
        Objects.requireNonNull(usersAndPasswords, "usersAndPasswords");
        Objects.requireNonNull(superUser, "superUser");
        usersAndPasswords.forEach(
                (user, password) -> {
                    checkUser(user);
                    checkPassword(user, password);
                });
        if (!usersAndPasswords.containsKey(superUser)) {
            throw new IllegalArgumentException(
                    "The super user " + superUser + " must be one of the users");
        }
        this.users = Map.copyOf(usersAndPasswords);
        this.superUser = superUser;
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        this.controllerPassword = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    /**
     * Refuses names that would need quoting somewhere (JAAS, {@code super.users}, SCRAM's {@code
     * saslname}) or that would alias the internal controller principal.
     */
    static void checkUser(String user) {
        Objects.requireNonNull(user, "user");
        if (!USER_NAME.matcher(user).matches()) {
            throw new IllegalArgumentException(
                    "Not a user name this broker accepts (letters, digits, . _ @ -): '"
                            + user
                            + "'");
        }
        if (user.equals(CONTROLLER_USER)) {
            throw new IllegalArgumentException(CONTROLLER_USER + " is reserved for the broker");
        }
    }

    static void checkPassword(String user, String password) {
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("Empty password for " + user);
        }
    }

    /** The users and passwords created at start. */
    Map<String, String> users() {
        return users;
    }

    String superUser() {
        return superUser;
    }

    String superUserPassword() {
        return users.get(superUser);
    }

    /**
     * The security properties of the broker: both listeners SASL_PLAINTEXT, SCRAM-SHA-512 for
     * clients and inter-broker traffic, PLAIN with a static internal user for the controller
     * listener, and the KRaft ACL authorizer denying everything no ACL allows.
     */
    Map<String, String> brokerProperties(String brokerListener, String controllerListener) {
        ListenerName broker = ListenerName.normalised(brokerListener);
        ListenerName controller = ListenerName.normalised(controllerListener);
        Map<String, String> props = new LinkedHashMap<>();
        props.put(
                "listener.security.protocol.map",
                broker.value()
                        + ":"
                        + SecurityProtocol.SASL_PLAINTEXT.name
                        + ","
                        + controller.value()
                        + ":"
                        + SecurityProtocol.SASL_PLAINTEXT.name);
        props.put(broker.configPrefix() + "sasl.enabled.mechanisms", MECHANISM.mechanismName());
        props.put("sasl.mechanism.inter.broker.protocol", MECHANISM.mechanismName());
        // The broker's own connections to this listener (transaction markers, KIP-890 partition
        // verification) authenticate as the super user.
        props.put(
                broker.saslMechanismConfigPrefix(MECHANISM.mechanismName())
                        + SaslConfigs.SASL_JAAS_CONFIG,
                scramJaasConfig(superUser, superUserPassword()));
        props.put(controller.configPrefix() + "sasl.enabled.mechanisms", CONTROLLER_MECHANISM);
        props.put("sasl.mechanism.controller.protocol", CONTROLLER_MECHANISM);
        props.put(
                controller.saslMechanismConfigPrefix(CONTROLLER_MECHANISM)
                        + SaslConfigs.SASL_JAAS_CONFIG,
                PlainLoginModule.class.getName()
                        + " required username="
                        + quote(CONTROLLER_USER)
                        + " password="
                        + quote(controllerPassword)
                        + " user_"
                        + CONTROLLER_USER
                        + "="
                        + quote(controllerPassword)
                        + ";");
        props.put("authorizer.class.name", StandardAuthorizer.class.getName());
        props.put("allow.everyone.if.no.acl.found", "false");
        props.put("super.users", "User:" + superUser + ";User:" + CONTROLLER_USER);
        return props;
    }

    /** Client properties for a SCRAM user on the broker listener. */
    static Properties clientProperties(String bootstrapServers, String user, String password) {
        Properties props = baseClientProperties(bootstrapServers);
        props.put(SaslConfigs.SASL_JAAS_CONFIG, scramJaasConfig(user, password));
        return props;
    }

    /** Bootstrap servers, protocol and mechanism: everything but an identity. */
    static Properties baseClientProperties(String bootstrapServers) {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(
                CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, SecurityProtocol.SASL_PLAINTEXT.name);
        props.put(SaslConfigs.SASL_MECHANISM, MECHANISM.mechanismName());
        return props;
    }

    /**
     * The bootstrap metadata of a fresh cluster at {@code metadataVersion}, plus one SCRAM-SHA-512
     * credential record per user: what {@code kafka-storage format --add-scram} writes. The
     * controller appends these records to the empty metadata log before anything else, so the
     * broker accepts these users as soon as it runs.
     */
    BootstrapMetadata bootstrapMetadata(MetadataVersion metadataVersion) {
        List<ApiMessageAndVersion> records =
                new ArrayList<>(
                        BootstrapMetadata.fromVersion(metadataVersion, "embedded-kafka").records());
        ScramFormatter formatter;
        try {
            formatter =
                    new ScramFormatter(
                            org.apache.kafka.common.security.scram.internals.ScramMechanism
                                    .forMechanismName(MECHANISM.mechanismName()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This JVM cannot compute " + MECHANISM, e);
        }
        users.forEach(
                (user, password) -> {
                    ScramCredential credential = formatter.generateCredential(password, ITERATIONS);
                    UserScramCredentialRecord record =
                            new UserScramCredentialRecord()
                                    .setName(user)
                                    .setMechanism(MECHANISM.type())
                                    .setSalt(credential.salt())
                                    .setStoredKey(credential.storedKey())
                                    .setServerKey(credential.serverKey())
                                    .setIterations(credential.iterations());
                    records.add(new ApiMessageAndVersion(record, (short) 0));
                });
        return BootstrapMetadata.fromRecords(records, "embedded-kafka");
    }

    static String scramJaasConfig(String user, String password) {
        return ScramLoginModule.class.getName()
                + " required username="
                + quote(user)
                + " password="
                + quote(password)
                + ";";
    }

    /** A JAAS option value: double quotes, with backslash and double quote escaped. */
    private static String quote(String value) {
        return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
