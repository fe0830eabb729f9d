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
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
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
 * <p>Two PLAINTEXT listeners, both bound to {@code 127.0.0.1} only: {@code BROKER} (the port of
 * {@link #bootstrapServers()}, advertised as {@code 127.0.0.1:<port>}) and {@code KRAFT} (the
 * controller, on a free port). With {@link Builder#port(int) port(0)} (the default) a free port is
 * chosen before the start and then kept for the life of this object, so {@link #restartBroker()}
 * comes back on the same address. (The test kit binds its own listeners on the wildcard address;
 * they are replaced by the loopback ones, see the implementation notes in the source.)
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
 * <h2>Lifecycle</h2>
 *
 * <p>Data lives in a fresh temporary directory ({@link #dataDirectory()}), formatted at every
 * start; {@link #close()} stops the node and deletes that directory. Fatal and non-fatal faults
 * inside the broker are recorded instead of terminating the JVM (test kit behaviour); the first one
 * is reported by {@link #close()}.
 *
 * <p>Instances are thread-safe.
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
    private final Admin admin;
    private boolean closed;

    private EmbeddedKafka(KafkaClusterTestKit cluster, Path dataDirectory, int port) {
        this.cluster = cluster;
        this.dataDirectory = dataDirectory;
        this.port = port;
        this.admin = Admin.create(clientProperties());
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

    /** New properties holding just {@code bootstrap.servers}, to add client settings to. */
    public Properties clientProperties() {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return props;
    }

    /** A new admin client for this broker; the caller closes it. */
    public Admin createAdmin() {
        return Admin.create(clientProperties());
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
         * Formats a fresh data directory, starts the combined KRaft controller and broker, and
         * returns once the broker is registered, unfenced and accepts requests.
         *
         * @throws KafkaException if the broker does not start
         * @throws IllegalStateException if the requested fixed port is in use
         */
        public EmbeddedKafka start() {
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
                TestKitNodes nodes =
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
                                                                + controllerPort)))
                                .build();
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
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                abort(cluster, dataDirectory, e);
                throw e instanceof KafkaException
                        ? (KafkaException) e
                        : new KafkaException("Could not start the embedded Kafka broker", e);
            }
            EmbeddedKafka kafka = new EmbeddedKafka(cluster, dataDirectory, brokerPort);
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
