package io.fedstream.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import kafka.server.BrokerServer;
import kafka.server.ControllerServer;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.PreboundSocketFactoryManager;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka broker running inside this JVM, for tests and for {@code ./fedstream local}.
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
 *     kafka.createTopic("updates", 2, Map.of("max.message.bytes", "8388608"));
 *     Properties props = kafka.clientProperties(); // bootstrap.servers=127.0.0.1:<port>
 *     ...
 * }
 * }</pre>
 *
 * <h2>KRaft setup</h2>
 *
 * <p>The broker is started with Kafka's own test kit ({@link KafkaClusterTestKit}, from {@code
 * kafka-test-common-runtime}) as a single <em>combined</em> node: one set of components plays both
 * KRaft roles ({@code process.roles=broker,controller}), node id 0, with a static one-voter quorum
 * ({@code controller.quorum.voters}), so it elects itself leader at once. The metadata log is
 * bootstrapped at {@link MetadataVersion#latestProduction()} (4.2-IV1 for Kafka 4.2.1).
 *
 * <p>Feature levels: with an explicit metadata version the test kit bootstraps <em>only</em> {@code
 * metadata.version}, leaving every other feature at level 0, unlike {@code kafka-storage format}.
 * Right after the start the production defaults of Kafka 4.2 are therefore finalized with {@link
 * Admin#updateFeatures}: {@code transaction.version=2} (KIP-890: the transaction protocol with
 * server-side partition verification and an epoch bump at every commit or abort), {@code
 * group.version=1} (the KIP-848 consumer group protocol is available), {@code
 * eligible.leader.replicas.version=1}, {@code share.version=1}, {@code streams.version=1}. So the
 * embedded broker behaves like a freshly installed Kafka 4.2 cluster; {@link Builder#feature} picks
 * other levels, and {@link #finalizedFeatures()} shows them. Unstable features and APIs are
 * disabled (the test kit enables them by default), so clients see the same API versions as against
 * a release broker.
 *
 * <h2>Network</h2>
 *
 * <p>Two PLAINTEXT listeners (SASL_PLAINTEXT with {@linkplain Builder#scram security}), both bound
 * to {@code 127.0.0.1} only: {@code BROKER} (the port of {@link #bootstrapServers()}, advertised as
 * {@code 127.0.0.1:<port>}) and {@code KRAFT} (the controller, on a free port). With {@link
 * Builder#port(int) port(0)} (the default) a free port is chosen before the start and then kept for
 * the life of this object, so {@link #restartBroker()} comes back on the same address. (The test
 * kit binds its own listeners on the wildcard address; they are replaced by the loopback ones, see
 * the implementation notes in the source.)
 *
 * <h2>Broker properties and why</h2>
 *
 * <ul>
 *   <li>{@code offsets.topic.replication.factor=1}, {@code transaction.state.log.replication.factor
 *       =1}, {@code transaction.state.log.min.isr=1}, {@code
 *       share.coordinator.state.topic.replication.factor=1}, {@code
 *       share.coordinator.state.topic.min.isr=1}: a single broker cannot host the default three
 *       replicas of the internal topics; without these, consumer groups and transactions would
 *       never become available.
 *   <li>{@code offsets.topic.num.partitions=1}, {@code transaction.state.log.num.partitions=1}: the
 *       defaults (50 each) make the first group or transaction create 50 log directories; one
 *       partition is plenty for one broker and keeps the first use fast.
 *   <li>{@code group.initial.rebalance.delay.ms=0}: a classic consumer group's first join is
 *       answered at once instead of after 3 s.
 *   <li>{@code auto.create.topics.enable=false}: a typo in a topic name fails instead of silently
 *       creating a one-partition topic with default configs; create topics with {@link
 *       #createTopic}.
 *   <li>{@code transaction.max.timeout.ms=3600000} (1 hour; the broker default is 15 minutes): the
 *       Flink Kafka sink (exactly-once) keeps a transaction open from one checkpoint to the next
 *       and sets {@code transaction.timeout.ms} to 1 hour unless told otherwise; a producer asking
 *       for more than the broker's maximum fails in {@code initTransactions()} with {@code
 *       InvalidTxnTimeoutException}. Keep any override at 15 minutes or more.
 *   <li>{@code num.partitions=1}, {@code default.replication.factor=1}, {@code
 *       min.insync.replicas=1}: single-broker defaults for topics created without explicit values.
 *   <li>{@code unstable.api.versions.enable=false}, {@code unstable.feature.versions.enable=false}:
 *       behave like a release broker (see above).
 * </ul>
 *
 * <p>Any of these can be overridden with {@link Builder#brokerProperty(String, String)}, except the
 * properties that define the node and its listeners ({@link #MANAGED_PROPERTIES}). The record size
 * limit stays Kafka's default (about 1 MB, {@code message.max.bytes}); raise it per topic with
 * {@code max.message.bytes}.
 *
 * <h2>Security (optional)</h2>
 *
 * <p>Without {@link Builder#scram} there is none: PLAINTEXT listeners, no authorizer, every client
 * may do everything. With it:
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.builder()
 *         .scram(Map.of("admin", "admin-secret", "site-1", "site-1-secret"), "admin")
 *         .start()) {
 *     kafka.createTopic("adapter-updates", 3);  // as the super user
 *     kafka.createAcls(FederationAcls.forSite("site-1", FederationAcls.Topics.DEFAULT));
 *     Properties site = kafka.clientProperties("site-1", "site-1-secret");
 *     ...
 * }
 * }</pre>
 *
 * <ul>
 *   <li>Authentication: both listeners are SASL_PLAINTEXT (still loopback only). {@code BROKER}
 *       takes SCRAM-SHA-512 only; the broker's own connections to it (transaction markers,
 *       transaction partition verification) log in as the super user. {@code KRAFT} takes PLAIN
 *       with one internal user, {@code embedded-kafka-controller}, whose random password only the
 *       broker knows: the broker registers with its controller as that user, and the controller
 *       port cannot be used to go around the ACLs (with a PLAINTEXT controller listener the broker
 *       would be {@code User:ANONYMOUS}, which would have to be a super user).
 *   <li>Users: the SCRAM credentials of the users given to {@link Builder#scram} are written into
 *       the cluster's bootstrap metadata (the kit hands it to the controller, which appends it to
 *       the empty metadata log), like {@code kafka-storage format --add-scram} does: they exist
 *       before the broker accepts its first connection. {@link Admin#alterUserScramCredentials}
 *       cannot create the first credential: the broker needs one to log the admin client in, and
 *       the admin client refuses that API against the controller listener ({@code
 *       UnsupportedEndpointTypeException} in Kafka 4.2). More users can be added later with {@link
 *       #upsertScramUser}.
 *   <li>Authorization: {@code authorizer.class.name=org.apache.kafka.metadata.authorizer
 *       .StandardAuthorizer} (ACLs stored in the KRaft metadata log), {@code
 *       allow.everyone.if.no.acl.found=false} (no ACL, no access), {@code super.users} = the super
 *       user and the internal controller user. {@link #createAcls} adds ACLs and waits until the
 *       broker enforces them.
 *   <li>Clients: {@link #clientProperties(String, String)} logs in as a user; {@link
 *       #createAdmin()} and this class's own admin client log in as the super user; {@link
 *       #clientProperties()} has no identity and is only a base to add one to.
 * </ul>
 *
 * <p>The properties that make up this setup ({@code authorizer.class.name}, {@code super.users},
 * {@code allow.everyone.if.no.acl.found}, {@code sasl.*} mechanisms, every {@code listener.name.*})
 * cannot be set with {@link Builder#brokerProperty} when security is on.
 *
 * <h2>Lifecycle</h2>
 *
 * <p>Data lives in a fresh temporary directory ({@link #dataDirectory()}), formatted at every
 * start; {@link #close()} stops the node and deletes that directory. Fatal and non-fatal faults
 * inside the broker are recorded instead of terminating the JVM (test kit behaviour); the first one
 * is reported by {@link #close()}.
 *
 * <p>Instances are thread-safe.
 *
 * <p>Over 600 lines: one broker's life cycle (start, feature levels, listeners and SASL/SCRAM,
 * topics, stop); about 300 of its lines are the documentation of the Kafka behaviour it relies on.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /**
     * Broker properties this class sets itself and that {@link Builder#brokerProperty} refuses:
     * node identity, roles, directories, listeners and the quorum.
     */
    public static final Set<String> MANAGED_PROPERTIES =
            Set.of(
                    "node.id",
                    "broker.id",
                    "process.roles",
                    "log.dirs",
                    "log.dir",
                    "metadata.log.dir",
                    "listeners",
                    "advertised.listeners",
                    "listener.security.protocol.map",
                    "inter.broker.listener.name",
                    "security.inter.broker.protocol",
                    "controller.listener.names",
                    "controller.quorum.voters",
                    "controller.quorum.bootstrap.servers");

    /** The transaction timeout ceiling this broker allows, in milliseconds (1 hour). */
    public static final long TRANSACTION_MAX_TIMEOUT_MS = Duration.ofHours(1).toMillis();

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    private static final int NODE_ID = 0;
    private static final String BROKER_LISTENER = "BROKER";
    private static final String CONTROLLER_LISTENER = "KRAFT";
    private static final String LOOPBACK = "127.0.0.1";
    private static final int MAX_START_ATTEMPTS = 5;
    private static final Duration AWAIT_TIMEOUT = Duration.ofSeconds(60);

    private static final Map<String, String> DEFAULT_BROKER_PROPERTIES = defaultBrokerProperties();

    private final KafkaClusterTestKit cluster;
    private final Path dataDirectory;
    private final int port;
    private final ScramSetup scram; // null: no security
    private final Admin admin;
    private boolean closed;

    private EmbeddedKafka(
            KafkaClusterTestKit cluster, Path dataDirectory, int port, ScramSetup scram) {
        this.cluster = cluster;
        this.dataDirectory = dataDirectory;
        this.port = port;
        this.scram = scram;
        this.admin = Admin.create(adminProperties());
    }

    /** A builder for a broker on a free port with the default properties. */
    public static Builder builder() {
        return new Builder();
    }

    /** {@code 127.0.0.1:<port>}, for {@code bootstrap.servers}. Stable across restarts. */
    public String bootstrapServers() {
        return LOOPBACK + ":" + port;
    }

    /** The port of the client listener (on 127.0.0.1). */
    public int port() {
        return port;
    }

    /**
     * New properties holding just {@code bootstrap.servers}, to add client settings to.
     *
     * <p>With {@linkplain Builder#scram security} they also hold {@code
     * security.protocol=SASL_PLAINTEXT} and {@code sasl.mechanism=SCRAM-SHA-512} but no identity: a
     * client made from them alone fails to start (no JAAS configuration). Use {@link
     * #clientProperties(String, String)}.
     */
    public Properties clientProperties() {
        if (scram != null) {
            return ScramSetup.baseClientProperties(bootstrapServers());
        }
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return props;
    }

    /**
     * New client properties that authenticate as a SCRAM user: {@code bootstrap.servers}, {@code
     * security.protocol=SASL_PLAINTEXT}, {@code sasl.mechanism=SCRAM-SHA-512} and {@code
     * sasl.jaas.config} (ScramLoginModule with that user name and password). The credentials are
     * not checked here: a wrong password fails the client's first request with {@link
     * SaslAuthenticationException}.
     *
     * @throws IllegalStateException if this broker was built without {@link Builder#scram}
     */
    public Properties clientProperties(String user, String password) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        requireSecurity();
        return ScramSetup.clientProperties(bootstrapServers(), user, password);
    }

    /**
     * A new admin client for this broker; the caller closes it. With {@linkplain Builder#scram
     * security} it authenticates as the super user.
     */
    public Admin createAdmin() {
        return Admin.create(adminProperties());
    }

    /**
     * Creates a SCRAM-SHA-512 user (4096 iterations) or changes its password, as the super user
     * ({@link Admin#alterUserScramCredentials}), and returns once the broker accepts the new
     * credentials.
     *
     * @throws IllegalArgumentException for the super user (its password is part of the broker's
     *     configuration) or a user name outside {@code [A-Za-z0-9][A-Za-z0-9._@-]*}
     * @throws IllegalStateException if this broker was built without {@link Builder#scram}
     */
    public void upsertScramUser(String user, String password) {
        ensureOpen();
        requireSecurity();
        ScramSetup.checkUser(user);
        ScramSetup.checkPassword(user, password);
        if (user.equals(scram.superUser())) {
            throw new IllegalArgumentException(
                    "The super user's password is part of the broker configuration");
        }
        upsertScramUsers(admin, Map.of(user, password));
        awaitAuthenticates(user, password);
    }

    /**
     * Creates ACLs as the super user and returns once the broker enforces them (its authorizer
     * lists every one of them), so a client started right after sees them. ACLs that already exist
     * are left as they are.
     *
     * @throws IllegalStateException if this broker was built without {@link Builder#scram}
     */
    public void createAcls(Collection<AclBinding> acls) {
        ensureOpen();
        requireSecurity();
        List<AclBinding> wanted = List.copyOf(acls);
        if (wanted.isEmpty()) {
            return;
        }
        try {
            admin.createAcls(wanted).all().get();
        } catch (ExecutionException e) {
            throw new KafkaException("Could not create ACLs " + wanted, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted creating ACLs", e);
        }
        awaitCondition(
                () -> {
                    try {
                        return admin.describeAcls(AclBindingFilter.ANY)
                                .values()
                                .get()
                                .containsAll(wanted);
                    } catch (ExecutionException e) {
                        throw new KafkaException("Could not describe ACLs", e.getCause());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new KafkaException("Interrupted describing ACLs", e);
                    }
                },
                "the broker to enforce " + wanted.size() + " new ACLs");
    }

    /**
     * The temporary directory holding the metadata log and the topic data; deleted by {@link
     * #close()}.
     */
    public Path dataDirectory() {
        return dataDirectory;
    }

    /**
     * The finalized feature levels (for example {@code transaction.version → 2}), as the broker
     * reports them; features at level 0 are absent.
     */
    public Map<String, Short> finalizedFeatures() {
        ensureOpen();
        try {
            Map<String, FinalizedVersionRange> finalized =
                    admin.describeFeatures().featureMetadata().get().finalizedFeatures();
            Map<String, Short> levels = new LinkedHashMap<>();
            finalized.forEach((name, range) -> levels.put(name, range.maxVersionLevel()));
            return levels;
        } catch (ExecutionException e) {
            throw new KafkaException("Could not describe features", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted describing features", e);
        }
    }

    /** Creates a topic with one partition and default configs (see {@link #createTopics}). */
    public void createTopic(String name) {
        createTopic(name, 1, Map.of());
    }

    /** Creates a topic with default configs (see {@link #createTopics}). */
    public void createTopic(String name, int partitions) {
        createTopic(name, partitions, Map.of());
    }

    /**
     * Creates a topic (replication factor 1) with the given topic-level configs, for example {@code
     * max.message.bytes} or {@code cleanup.policy}; see {@link #createTopics}.
     */
    public void createTopic(String name, int partitions, Map<String, String> topicConfigs) {
        Objects.requireNonNull(topicConfigs, "topicConfigs");
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be positive: " + partitions);
        }
        createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(topicConfigs)));
    }

    /** Creates topics with one partition each and default configs; see {@link #createTopics}. */
    public void createTopics(String... names) {
        createTopics(
                Arrays.stream(names)
                        .map(name -> new NewTopic(name, 1, (short) 1))
                        .collect(Collectors.toList()));
    }

    /**
     * Creates topics and blocks until each partition has a leader that serves it, so producers and
     * consumers can use them right away.
     *
     * <p>Idempotent: a topic that already exists with the requested number of partitions is left as
     * it is (its configs are <em>not</em> changed); one with a different number of partitions is an
     * {@link IllegalStateException}.
     */
    public void createTopics(Collection<NewTopic> topics) {
        ensureOpen();
        if (topics.isEmpty()) {
            return;
        }
        Map<String, NewTopic> byName = new LinkedHashMap<>();
        for (NewTopic topic : topics) {
            byName.put(topic.name(), topic);
        }
        List<String> existing = new ArrayList<>();
        admin.createTopics(byName.values())
                .values()
                .forEach(
                        (name, future) -> {
                            try {
                                future.get();
                            } catch (ExecutionException e) {
                                if (!(e.getCause() instanceof TopicExistsException)) {
                                    throw new KafkaException(
                                            "Could not create topic " + name, e.getCause());
                                }
                                existing.add(name);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                                throw new KafkaException("Interrupted creating topic " + name, e);
                            }
                        });
        if (!existing.isEmpty()) {
            Map<String, TopicDescription> descriptions = describe(existing);
            for (String name : existing) {
                int requested = byName.get(name).numPartitions();
                int actual = descriptions.get(name).partitions().size();
                if (requested > 0 && requested != actual) {
                    throw new IllegalStateException(
                            "Topic "
                                    + name
                                    + " already exists with "
                                    + actual
                                    + " partitions, not "
                                    + requested);
                }
            }
        }
        awaitPartitionsOnline(byName.keySet());
    }

    /**
     * Stops the node (broker and its co-located KRaft controller) and starts it again, keeping its
     * data, node id and ports; returns when the broker is registered, unfenced and every partition
     * (internal topics included) has a leader again. Takes about a second.
     *
     * <p>This is a graceful restart, like {@code kafka-server-stop.sh} followed by a start: the
     * broker does a controlled shutdown and flushes its logs; on start the metadata log, replica
     * logs, producer state and the transaction and group coordinators are reloaded from disk. An
     * open transaction therefore survives the restart and can still be committed or aborted, and
     * clients connected before simply reconnect to the same address. Useful to inject a broker
     * failure in the middle of a transaction or a checkpoint. (A crash without shutdown cannot be
     * simulated inside the JVM.)
     *
     * <p>The controller is restarted too on purpose: a restarted broker that re-registers with a
     * controller which stayed up is refused ({@code DUPLICATE_BROKER_REGISTRATION}) until its old
     * session expires ({@code broker.session.timeout.ms}, 9 s).
     */
    public synchronized void restartBroker() {
        ensureOpen();
        long start = System.nanoTime();
        BrokerServer broker = broker();
        ControllerServer controller = cluster.controllers().get(NODE_ID);
        // Same order as KafkaRaftServer: broker down first, controller up first.
        broker.shutdown();
        controller.shutdown();
        if (scram != null && controller.sharedServer().metrics() == null) {
            // ControllerServer.startup() creates its authorizer with the shared server's metrics
            // before SharedServer.start() replaces the ones it closed on shutdown; a
            // StandardAuthorizer created without metrics then fails every authorization with a
            // NullPointerException. Provide them up front (start() keeps non-null metrics).
            controller.sharedServer().metrics_$eq(new Metrics());
        }
        controller.startup();
        broker.startup();
        try {
            cluster.waitForReadyBrokers();
        } catch (ExecutionException e) {
            throw new KafkaException("Broker did not become ready after restart", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted waiting for the restarted broker", e);
        }
        awaitPartitionsOnline(allTopicNames());
        LOG.info(
                "Restarted the embedded Kafka broker at {} in {} ms",
                bootstrapServers(),
                elapsedMillis(start));
    }

    /**
     * Stops the broker and the controller and deletes {@link #dataDirectory()}. Calling it again
     * does nothing.
     *
     * @throws KafkaException if the broker recorded a fault while it ran or failed to stop cleanly
     *     (the data directory is deleted anyway)
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        long start = System.nanoTime();
        admin.close(Duration.ofSeconds(5));
        Exception failure = null;
        try {
            cluster.close();
        } catch (Exception e) {
            failure = e;
        }
        try {
            deleteRecursively(dataDirectory);
        } catch (IOException e) {
            LOG.warn("Could not delete the embedded Kafka data directory {}", dataDirectory, e);
        }
        LOG.info(
                "Stopped the embedded Kafka broker at {} in {} ms",
                bootstrapServers(),
                elapsedMillis(start));
        if (failure != null) {
            throw new KafkaException("The embedded Kafka broker reported a fault", failure);
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafka[" + bootstrapServers() + ", " + dataDirectory + "]";
    }

    private BrokerServer broker() {
        return cluster.brokers().get(NODE_ID);
    }

    /** Client properties of the internal and {@link #createAdmin()} admin clients. */
    private Properties adminProperties() {
        return scram == null
                ? clientProperties()
                : ScramSetup.clientProperties(
                        bootstrapServers(), scram.superUser(), scram.superUserPassword());
    }

    private void requireSecurity() {
        if (scram == null) {
            throw new IllegalStateException(
                    "This embedded Kafka broker runs without security; see Builder#scram");
        }
    }

    private static void upsertScramUsers(Admin admin, Map<String, String> usersAndPasswords) {
        List<UserScramCredentialAlteration> upsertions = new ArrayList<>();
        usersAndPasswords.forEach(
                (user, password) ->
                        upsertions.add(
                                new UserScramCredentialUpsertion(
                                        user, ScramSetup.CREDENTIAL_INFO, password)));
        try {
            admin.alterUserScramCredentials(upsertions).all().get();
        } catch (ExecutionException e) {
            throw new KafkaException(
                    "Could not create SCRAM users " + usersAndPasswords.keySet(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted creating SCRAM users", e);
        }
    }

    /**
     * Waits until the broker authenticates the user with that password. The controller commits a
     * credential before the broker has applied it, so a client started right after {@link
     * Admin#alterUserScramCredentials} can still fail; probing with a real login is the only exact
     * check (a password change is invisible to {@link Admin#describeUserScramCredentials}).
     */
    private void awaitAuthenticates(String user, String password) {
        awaitAuthenticates(bootstrapServers(), user, password);
    }

    private static void awaitAuthenticates(String bootstrapServers, String user, String password) {
        Properties props = ScramSetup.clientProperties(bootstrapServers, user, password);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        awaitCondition(
                () -> {
                    try (Admin probe = Admin.create(props)) {
                        probe.describeCluster().clusterId().get();
                        return true;
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof SaslAuthenticationException) {
                            return false;
                        }
                        throw new KafkaException("Could not log in as " + user, e.getCause());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new KafkaException("Interrupted logging in as " + user, e);
                    }
                },
                "the broker to accept the credentials of " + user);
    }

    private synchronized void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("This embedded Kafka broker is closed");
        }
    }

    private Set<String> allTopicNames() {
        try {
            return admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get();
        } catch (ExecutionException e) {
            throw new KafkaException("Could not list topics", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted listing topics", e);
        }
    }

    private Map<String, TopicDescription> describe(Collection<String> topics) {
        try {
            return admin.describeTopics(topics).allTopicNames().get();
        } catch (ExecutionException e) {
            throw new KafkaException("Could not describe topics " + topics, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted describing topics " + topics, e);
        }
    }

    /**
     * Waits until the broker's metadata shows a leader for every partition of the topics and the
     * broker hosts each partition's log, so produce and fetch requests are served.
     */
    private void awaitPartitionsOnline(Collection<String> topics) {
        if (topics.isEmpty()) {
            return;
        }
        awaitCondition(
                () -> {
                    Map<String, TopicDescription> descriptions;
                    try {
                        descriptions = admin.describeTopics(topics).allTopicNames().get();
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                            return false; // metadata not propagated yet
                        }
                        throw new KafkaException("Could not describe " + topics, e.getCause());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new KafkaException("Interrupted describing " + topics, e);
                    }
                    BrokerServer broker = broker();
                    for (TopicDescription description : descriptions.values()) {
                        for (TopicPartitionInfo partition : description.partitions()) {
                            TopicPartition tp =
                                    new TopicPartition(description.name(), partition.partition());
                            if (partition.leader() == null
                                    || partition.leader().id() != NODE_ID
                                    || broker.replicaManager().onlinePartition(tp).isEmpty()) {
                                return false;
                            }
                        }
                    }
                    return true;
                },
                "partitions of " + topics + " to be online");
    }

    /**
     * Finalizes feature levels (all of them upgrades from level 0, see the class comment) and waits
     * until the broker has applied them.
     */
    private void upgradeFeatures(Map<String, Short> levels) {
        Map<String, FeatureUpdate> updates = new LinkedHashMap<>();
        levels.forEach(
                (name, level) -> {
                    if (level > 0) {
                        updates.put(
                                name, new FeatureUpdate(level, FeatureUpdate.UpgradeType.UPGRADE));
                    }
                });
        if (updates.isEmpty()) {
            return;
        }
        try {
            admin.updateFeatures(updates, new UpdateFeaturesOptions()).all().get();
        } catch (ExecutionException e) {
            throw new KafkaException("Could not finalize features " + levels, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted finalizing features " + levels, e);
        }
        awaitCondition(
                () -> {
                    Map<String, Short> finalized = finalizedFeatures();
                    return updates.keySet().stream()
                            .allMatch(name -> levels.get(name).equals(finalized.get(name)));
                },
                "features " + levels + " to be finalized");
    }

    private static void awaitCondition(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + AWAIT_TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new KafkaException(
                        "Timed out after " + AWAIT_TIMEOUT + " waiting for " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException("Interrupted waiting for " + what, e);
            }
        }
    }

    private static long elapsedMillis(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
    }

    private static Map<String, String> defaultBrokerProperties() {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("auto.create.topics.enable", "false");
        props.put("transaction.max.timeout.ms", Long.toString(TRANSACTION_MAX_TIMEOUT_MS));
        props.put("num.partitions", "1");
        props.put("default.replication.factor", "1");
        props.put("min.insync.replicas", "1");
        props.put("unstable.api.versions.enable", "false");
        props.put("unstable.feature.versions.enable", "false");
        return Map.copyOf(props);
    }

    /**
     * What {@code kafka-storage format} finalizes for {@link MetadataVersion#latestProduction()}:
     * the default level of every production feature except {@code kraft.version} (which belongs to
     * the quorum, static here).
     */
    private static Map<String, Short> productionFeatureLevels() {
        Map<String, Short> levels = new LinkedHashMap<>();
        for (Feature feature : Feature.PRODUCTION_FEATURES) {
            if (feature != Feature.KRAFT_VERSION) {
                levels.put(
                        feature.featureName(),
                        feature.defaultLevel(MetadataVersion.latestProduction()));
            }
        }
        return levels;
    }

    /** A free port on the loopback interface (free now: it is bound when the broker starts). */
    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void checkPortFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(
                    "Port " + port + " on " + LOOPBACK + " is not available for Kafka", e);
        }
    }

    private static boolean causedByBindFailure(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof BindException) {
                return true;
            }
        }
        return false;
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(
                root,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                            throws IOException {
                        Files.deleteIfExists(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException e)
                            throws IOException {
                        Files.deleteIfExists(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
    }

    /**
     * The test kit pre-binds one server socket per node and listener name on the wildcard address
     * (0.0.0.0) and hands it to the listener of that name. The listeners here have other names
     * ({@code BROKER}, {@code KRAFT}) so that they bind 127.0.0.1 on the chosen ports; the kit's
     * pre-bound sockets would then stay open and unused until close. Close them right away. This
     * reads a private field of the kit; if that ever fails, the sockets are simply closed by {@link
     * KafkaClusterTestKit#close()} as before.
     */
    private static void closeUnusedPreboundSockets(KafkaClusterTestKit cluster) {
        try {
            Field field = KafkaClusterTestKit.class.getDeclaredField("socketFactoryManager");
            field.setAccessible(true);
            PreboundSocketFactoryManager manager =
                    (PreboundSocketFactoryManager) field.get(cluster);
            for (ListenerName listener :
                    List.of(
                            cluster.nodes().brokerListenerName(),
                            cluster.nodes().controllerListenerName())) {
                ServerSocketChannel channel =
                        manager.getSocketForListenerAndMarkAsUsed(NODE_ID, listener.value());
                if (channel != null) {
                    channel.close();
                }
            }
        } catch (ReflectiveOperationException | RuntimeException | IOException e) {
            LOG.debug("Could not close the test kit's pre-bound wildcard sockets early", e);
        }
    }

    /** Configures and starts an {@link EmbeddedKafka}. */
    public static final class Builder {

        private int port;
        private final Map<String, String> brokerProperties = new LinkedHashMap<>();
        private final Map<String, Short> featureLevels = productionFeatureLevels();
        private ScramSetup scram;

        private Builder() {}

        /**
         * The client port on 127.0.0.1; 0 (the default) picks a free one. A fixed port that is
         * already in use fails the start.
         */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("Not a port: " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Sets a broker property, overriding the defaults described in {@link EmbeddedKafka}.
         *
         * @throws IllegalArgumentException for a {@linkplain #MANAGED_PROPERTIES managed} property
         */
        public Builder brokerProperty(String key, String value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            if (MANAGED_PROPERTIES.contains(key)) {
                throw new IllegalArgumentException(
                        key + " is set by EmbeddedKafka and cannot be overridden");
            }
            brokerProperties.put(key, value);
            return this;
        }

        /** Sets several broker properties; see {@link #brokerProperty(String, String)}. */
        public Builder brokerProperties(Map<String, String> properties) {
            properties.forEach(this::brokerProperty);
            return this;
        }

        /**
         * Sets the level of a feature instead of its default for Kafka 4.2, for example {@code
         * feature("transaction.version", (short) 0)} for the transaction protocol before KIP-890
         * (no epoch bump at every commit), or {@code feature("group.version", (short) 0)} to turn
         * off the KIP-848 consumer group protocol.
         *
         * @throws IllegalArgumentException for {@code metadata.version}, {@code kraft.version} or a
         *     feature this Kafka version does not know
         */
        public Builder feature(String name, short level) {
            if (!featureLevels.containsKey(name)) {
                throw new IllegalArgumentException(
                        "Not a settable feature: "
                                + name
                                + " (settable: "
                                + featureLevels.keySet()
                                + ")");
            }
            if (level < 0) {
                throw new IllegalArgumentException("Negative level for " + name + ": " + level);
            }
            featureLevels.put(name, level);
            return this;
        }

        /**
         * Turns on authentication and authorization (see "Security" in the {@link EmbeddedKafka}
         * class comment): the client listener takes SASL/SCRAM-SHA-512 logins only, these users are
         * created before {@link #start()} returns, and the ACL authorizer denies whatever no ACL
         * allows, except to {@code superUser}, which the broker also uses for its own connections
         * and {@link EmbeddedKafka#createAdmin()} logs in as.
         *
         * @param usersAndPasswords SCRAM users to create, with their passwords; names are made of
         *     letters, digits and {@code . _ @ -}
         * @param superUser one of the users: the administrator, exempt from ACLs
         * @throws IllegalArgumentException for an unusable name, an empty password or a super user
         *     that is not among the users
         */
        public Builder scram(Map<String, String> usersAndPasswords, String superUser) {
            this.scram = new ScramSetup(usersAndPasswords, superUser);
            return this;
        }

        /**
         * Formats a fresh data directory, starts the combined KRaft controller and broker, and
         * returns once the broker is registered, unfenced and accepts requests (with {@link
         * #scram}: and once the super user can log in; all users arrive together, in the bootstrap
         * metadata).
         *
         * @throws KafkaException if the broker does not start
         * @throws IllegalStateException if the requested fixed port is in use
         * @throws IllegalArgumentException with {@link #scram}, for a {@link #brokerProperty} that
         *     would change the security setup
         */
        public EmbeddedKafka start() {
            if (scram != null) {
                for (String key : brokerProperties.keySet()) {
                    if (ScramSetup.SECURITY_PROPERTIES.contains(key)
                            || key.startsWith(ScramSetup.LISTENER_PREFIX)) {
                        throw new IllegalArgumentException(
                                key + " is set by EmbeddedKafka when security is enabled");
                    }
                }
            }
            if (port != 0) {
                checkPortFree(port);
            }
            KafkaException lastFailure = null;
            for (int attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
                try {
                    return startOnce();
                } catch (KafkaException e) {
                    // A port picked as free may have been taken by someone else before Kafka
                    // bound it; pick new ports and try again.
                    if (!causedByBindFailure(e)) {
                        throw e;
                    }
                    lastFailure = e;
                    LOG.info("Kafka could not bind its ports (attempt {}), retrying", attempt, e);
                }
            }
            throw lastFailure;
        }

        private EmbeddedKafka startOnce() {
            long start = System.nanoTime();
            Path dataDirectory;
            int brokerPort;
            int controllerPort;
            try {
                dataDirectory = Files.createTempDirectory("fedstream-kafka-");
                brokerPort = port != 0 ? port : freeLoopbackPort();
                do {
                    controllerPort = freeLoopbackPort();
                } while (controllerPort == brokerPort);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }

            KafkaClusterTestKit cluster = null;
            try {
                TestKitNodes.Builder nodesBuilder =
                        new TestKitNodes.Builder()
                                .setCombined(true)
                                .setNumBrokerNodes(1)
                                .setNumControllerNodes(1)
                                .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                                .setBaseDirectory(dataDirectory)
                                // The kit writes the voter set itself (on its wildcard socket);
                                // per-server properties are applied after that and win.
                                .setPerServerProperties(
                                        Map.of(
                                                NODE_ID,
                                                Map.of(
                                                        "controller.quorum.voters",
                                                        NODE_ID
                                                                + "@"
                                                                + LOOPBACK
                                                                + ":"
                                                                + controllerPort)));
                if (scram != null) {
                    // The kit hands this to the controller, which writes it to the empty
                    // metadata log (the kit's format step only takes its metadata.version).
                    nodesBuilder.setBootstrapMetadata(
                            scram.bootstrapMetadata(MetadataVersion.latestProduction()));
                }
                TestKitNodes nodes = nodesBuilder.build();
                KafkaClusterTestKit.Builder kit = new KafkaClusterTestKit.Builder(nodes);
                effectiveProperties(brokerPort, controllerPort).forEach(kit::setConfigProp);
                cluster = kit.build();
                closeUnusedPreboundSockets(cluster);
                cluster.format();
                cluster.startup();
                cluster.waitForReadyBrokers();
                int bound =
                        cluster.brokers()
                                .get(NODE_ID)
                                .boundPort(ListenerName.normalised(BROKER_LISTENER));
                if (bound != brokerPort) {
                    throw new KafkaException(
                            "Broker bound port " + bound + " instead of " + brokerPort);
                }
                if (scram != null) {
                    // The users come with the bootstrap metadata; this only double-checks.
                    awaitAuthenticates(
                            LOOPBACK + ":" + brokerPort,
                            scram.superUser(),
                            scram.superUserPassword());
                }
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                abort(cluster, dataDirectory, e);
                throw e instanceof KafkaException
                        ? (KafkaException) e
                        : new KafkaException("Could not start the embedded Kafka broker", e);
            }
            EmbeddedKafka kafka = new EmbeddedKafka(cluster, dataDirectory, brokerPort, scram);
            try {
                kafka.upgradeFeatures(featureLevels);
            } catch (RuntimeException e) {
                try {
                    kafka.close();
                } catch (RuntimeException closeFailure) {
                    e.addSuppressed(closeFailure);
                }
                throw e;
            }
            LOG.info(
                    "Started Kafka {} (KRaft, combined broker+controller) at {} in {} ms, data in"
                            + " {}",
                    AppInfoParser.getVersion(),
                    kafka.bootstrapServers(),
                    elapsedMillis(start),
                    dataDirectory);
            return kafka;
        }

        private Map<String, String> effectiveProperties(int brokerPort, int controllerPort) {
            Map<String, String> props = new LinkedHashMap<>(DEFAULT_BROKER_PROPERTIES);
            props.putAll(brokerProperties);
            props.put(
                    "listeners",
                    BROKER_LISTENER
                            + "://"
                            + LOOPBACK
                            + ":"
                            + brokerPort
                            + ","
                            + CONTROLLER_LISTENER
                            + "://"
                            + LOOPBACK
                            + ":"
                            + controllerPort);
            props.put(
                    "listener.security.protocol.map",
                    BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
            props.put("inter.broker.listener.name", BROKER_LISTENER);
            props.put("controller.listener.names", CONTROLLER_LISTENER);
            if (scram != null) {
                props.putAll(scram.brokerProperties(BROKER_LISTENER, CONTROLLER_LISTENER));
            }
            return props;
        }

        private static void abort(KafkaClusterTestKit cluster, Path dataDirectory, Exception e) {
            if (cluster != null) {
                try {
                    cluster.close();
                } catch (Exception closeFailure) {
                    e.addSuppressed(closeFailure);
                }
            }
            try {
                deleteRecursively(dataDirectory);
            } catch (IOException deleteFailure) {
                e.addSuppressed(deleteFailure);
            }
        }
    }
}
