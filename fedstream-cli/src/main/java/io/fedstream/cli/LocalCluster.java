package io.fedstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.flink.client.ClientUtils;
import org.apache.flink.client.deployment.executors.RemoteExecutor;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.DefaultExecutorServiceLoader;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;

/**
 * A Flink standalone session cluster and a KRaft Kafka cluster on this machine, every JobManager,
 * TaskManager and broker its own JVM, started with the entry points Flink's and Kafka's scripts use
 * ({@code StandaloneSessionClusterEntrypoint}, {@code TaskManagerRunner}, {@code kafka.Kafka}) from
 * the jars of the distribution (no flink-dist, no Kafka tarball). Everything lives in one
 * directory: configuration, data, logs, checkpoints, and {@code cluster.properties} with the ports
 * and process ids, so that separate {@code ./fedstream cluster} calls find the cluster and two
 * clusters in two directories coexist. Own code because neither project offers a Java API to run
 * its own distribution's processes; the configuration is the documented one.
 *
 * <p>Over 600 lines: the life cycle of three kinds of process (JobManager, TaskManagers, brokers)
 * around one {@code cluster.properties} contract, which a split per kind would spread over several
 * classes.
 */
final class LocalCluster {
    static final String STATE_FILE = "cluster.properties";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Path dir;
    private final Properties state = new Properties();

    private LocalCluster(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /** The cluster whose state is in {@code dir}. */
    static LocalCluster open(Path dir) throws IOException {
        LocalCluster c = new LocalCluster(dir);
        Path file = c.dir.resolve(STATE_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(
                    "no cluster in " + c.dir + " (./fedstream cluster up --dir " + dir + ")");
        }
        try (InputStream in = Files.newInputStream(file)) {
            c.state.load(in);
        }
        return c;
    }

    /** Sizes and memory of a new cluster. */
    record Spec(int taskManagers, int slotsPerTaskManager, int brokers, String tmMemory) {}

    /**
     * Starts a new cluster in {@code dir} (which must not hold one): the brokers, the topics, the
     * JobManager and the TaskManagers; returns when all brokers and TaskManagers are registered.
     */
    static LocalCluster up(Path dir, Spec spec, PrintStream log) throws Exception {
        LocalCluster c = new LocalCluster(dir);
        if (Files.exists(c.dir.resolve(STATE_FILE))) {
            throw new IllegalArgumentException(
                    "a cluster is already in "
                            + c.dir
                            + " (./fedstream cluster down --dir "
                            + dir
                            + " first)");
        }
        if (flinkClasspath().isEmpty()) {
            throw new IllegalStateException(
                    "fedstream.flink.classpath is not set: run this through ./fedstream");
        }
        Files.createDirectories(c.dir);
        c.state.setProperty("brokers", Integer.toString(spec.brokers()));
        c.state.setProperty("slots", Integer.toString(spec.slotsPerTaskManager()));
        c.state.setProperty("taskmanagers.started", "0");
        try {
            c.startKafka(spec.brokers(), log);
            c.writeFlinkConf(spec);
            // the JobManager while the brokers start; the TaskManagers one by one: on a busy
            // machine a JVM may miss Pekko's fixed 10 s remoting start-up timeout and exit, and
            // is then started again
            c.startWithRetries("the JobManager", c::startJobManager, c::restReachable);
            c.awaitBrokers(spec.brokers(), Duration.ofMinutes(10));
            c.createTopics();
            log.println("Kafka: " + spec.brokers() + " brokers at " + c.bootstrap());
            for (int i = 1; i <= spec.taskManagers(); i++) {
                int n = i;
                c.startWithRetries(
                        "TaskManager " + n,
                        () -> c.taskManagerPid(c.startTaskManager()),
                        () -> c.taskManagers().size() >= n);
            }
            log.println(
                    "Flink: JobManager and "
                            + spec.taskManagers()
                            + " TaskManagers, web UI "
                            + c.restUrl());
        } catch (Exception | Error e) {
            c.save();
            log.println(
                    "cluster up failed, stopping what was started; logs kept in "
                            + c.dir
                            + " (./fedstream cluster down deletes them): "
                            + e);
            c.stop();
            throw e;
        }
        return c;
    }

    Path dir() {
        return dir;
    }

    String bootstrap() {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= brokers(); i++) {
            out.add("127.0.0.1:" + state.getProperty("broker." + i + ".port"));
        }
        return String.join(",", out);
    }

    int slots() {
        return Integer.parseInt(state.getProperty("slots"));
    }

    int brokers() {
        return Integer.parseInt(state.getProperty("brokers"));
    }

    int restPort() {
        return Integer.parseInt(state.getProperty("flink.rest.port"));
    }

    String restUrl() {
        return "http://127.0.0.1:" + restPort();
    }

    Path checkpointsDir() {
        return dir.resolve("flink/checkpoints");
    }

    Path savepointsDir() {
        return dir.resolve("flink/savepoints");
    }

    // ---------------------------------------------------------------- Kafka

    private void startKafka(int brokers, PrintStream log) throws Exception {
        Path kafkaDir = Files.createDirectories(dir.resolve("kafka"));
        Files.writeString(
                kafkaDir.resolve("log4j2.properties"),
                fileLogging("${sys:kafka.logs.dir}/server.log", "[%d] %p %m (%c)%n"));
        List<String> voters = new ArrayList<>();
        for (int i = 1; i <= brokers; i++) {
            state.setProperty("broker." + i + ".port", Integer.toString(freePort()));
            int controller = freePort();
            state.setProperty("broker." + i + ".controller-port", Integer.toString(controller));
            voters.add(i + "@127.0.0.1:" + controller);
        }
        int rf = Math.min(3, brokers);
        int minIsr = Math.min(2, brokers);
        String clusterId = Uuid.randomUuid().toString();
        for (int i = 1; i <= brokers; i++) {
            Path b = Files.createDirectories(kafkaDir.resolve("broker-" + i));
            Properties p = new Properties();
            p.setProperty("process.roles", "broker,controller");
            p.setProperty("node.id", Integer.toString(i));
            p.setProperty("controller.quorum.voters", String.join(",", voters));
            p.setProperty(
                    "listeners",
                    "PLAINTEXT://127.0.0.1:"
                            + state.getProperty("broker." + i + ".port")
                            + ",CONTROLLER://127.0.0.1:"
                            + state.getProperty("broker." + i + ".controller-port"));
            p.setProperty(
                    "advertised.listeners",
                    "PLAINTEXT://127.0.0.1:" + state.getProperty("broker." + i + ".port"));
            p.setProperty(
                    "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            p.setProperty("controller.listener.names", "CONTROLLER");
            p.setProperty("inter.broker.listener.name", "PLAINTEXT");
            p.setProperty("log.dirs", b.resolve("data").toString());
            p.setProperty("default.replication.factor", Integer.toString(rf));
            p.setProperty("min.insync.replicas", Integer.toString(minIsr));
            p.setProperty("offsets.topic.replication.factor", Integer.toString(rf));
            p.setProperty("transaction.state.log.replication.factor", Integer.toString(rf));
            p.setProperty("transaction.state.log.min.isr", Integer.toString(minIsr));
            p.setProperty("group.initial.rebalance.delay.ms", "0");
            p.setProperty("auto.create.topics.enable", "false");
            Path props = b.resolve("server.properties");
            try (OutputStream out = Files.newOutputStream(props)) {
                p.store(out, "broker " + i + " of " + dir);
            }
            ByteArrayOutputStream formatted = new ByteArrayOutputStream();
            int rc =
                    kafka.tools.StorageTool.execute(
                            new String[] {"format", "-t", clusterId, "-c", props.toString()},
                            new PrintStream(formatted, true, StandardCharsets.UTF_8));
            if (rc != 0) {
                throw new IllegalStateException(
                        "formatting broker "
                                + i
                                + " failed: "
                                + formatted.toString(StandardCharsets.UTF_8));
            }
            startBroker(i);
        }
    }

    /** Starts broker {@code i} (1-based) from its configuration and data, e.g. after a kill. */
    long startBroker(int i) throws IOException {
        Path b = dir.resolve("kafka/broker-" + i);
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin());
        cmd.addAll(List.of("-Xms256m", "-Xmx768m", "-XX:+UseG1GC"));
        cmd.add("-Dlog4j2.configurationFile=" + dir.resolve("kafka/log4j2.properties"));
        cmd.add("-Dkafka.logs.dir=" + b.resolve("logs"));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
        cmd.add("kafka.Kafka");
        cmd.add(b.resolve("server.properties").toString());
        long pid = spawn(cmd, Map.of(), b.resolve("broker.out"));
        state.setProperty("broker." + i + ".pid", Long.toString(pid));
        save();
        return pid;
    }

    long brokerPid(int i) {
        return Long.parseLong(state.getProperty("broker." + i + ".pid"));
    }

    Admin admin() {
        return Admin.create(
                Map.of(
                        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap(),
                        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000));
    }

    void awaitBrokers(int n, Duration timeout) throws InterruptedException {
        await(
                "all " + n + " brokers",
                timeout,
                () -> {
                    try (Admin admin = admin()) {
                        return admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size()
                                >= n;
                    } catch (Exception e) {
                        return false;
                    }
                });
    }

    private void createTopics() throws Exception {
        short rf = (short) Math.min(3, brokers());
        Map<String, String> keep = Map.of("retention.ms", "-1");
        try (Admin admin = admin()) {
            admin.createTopics(
                            List.of(
                                    new NewTopic(Topics.ADAPTER_UPDATES, 2, rf),
                                    new NewTopic(Topics.GLOBAL_MODELS, 1, rf).configs(keep),
                                    new NewTopic(Topics.REJECTED_UPDATES, 1, rf),
                                    new NewTopic(Topics.PROMPT_UPDATES, 2, rf),
                                    new NewTopic(Topics.GLOBAL_PROMPTS, 1, rf).configs(keep)))
                    .all()
                    .get(1, TimeUnit.MINUTES);
        }
    }

    // ---------------------------------------------------------------- Flink

    interface Start {
        long start() throws Exception;
    }

    interface Check {
        boolean done() throws Exception;
    }

    /** Starts a process until {@code ready} holds, again if it exits first (3 attempts). */
    void startWithRetries(String what, Start start, Check ready) throws Exception {
        for (int attempt = 1; ; attempt++) {
            ProcessHandle p = ProcessHandle.of(start.start()).orElseThrow();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (true) {
                boolean done;
                try {
                    done = ready.done();
                } catch (Exception e) {
                    done = false;
                }
                if (done) {
                    return;
                }
                if (!p.isAlive()) {
                    if (attempt == 3) {
                        throw new IllegalStateException(what + " exited 3 times while starting");
                    }
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out waiting for " + what);
                }
                Thread.sleep(500);
            }
        }
    }

    boolean restReachable() {
        try {
            rest("/config");
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private void writeFlinkConf(Spec spec) throws Exception {
        Path flink = dir.resolve("flink");
        Path conf = Files.createDirectories(flink.resolve("conf"));
        Files.createDirectories(flink.resolve("log"));
        Files.createDirectories(flink.resolve("plugins"));
        Files.createDirectories(checkpointsDir());
        Files.createDirectories(savepointsDir());
        state.setProperty("flink.rest.port", Integer.toString(freePort()));
        state.setProperty("flink.rpc.port", Integer.toString(freePort()));
        state.setProperty("flink.blob.port", Integer.toString(freePort()));
        Map<String, String> c = new TreeMap<>();
        c.put("jobmanager.rpc.address", "127.0.0.1");
        c.put("jobmanager.rpc.port", state.getProperty("flink.rpc.port"));
        c.put("jobmanager.bind-host", "127.0.0.1");
        c.put("blob.server.port", state.getProperty("flink.blob.port"));
        c.put("rest.address", "127.0.0.1");
        c.put("rest.bind-address", "127.0.0.1");
        c.put("rest.port", state.getProperty("flink.rest.port"));
        c.put("taskmanager.host", "127.0.0.1");
        c.put("taskmanager.bind-host", "127.0.0.1");
        c.put("taskmanager.rpc.port", "0");
        c.put("taskmanager.data.port", "0");
        c.put("taskmanager.numberOfTaskSlots", Integer.toString(spec.slotsPerTaskManager()));
        c.put("taskmanager.memory.process.size", spec.tmMemory());
        c.put("taskmanager.memory.managed.fraction", "0.2");
        c.put("jobmanager.memory.process.size", "1024m");
        c.put("parallelism.default", Integer.toString(spec.taskManagers()));
        c.put("execution.checkpointing.dir", checkpointsDir().toUri().toString());
        c.put("execution.checkpointing.savepoint-dir", savepointsDir().toUri().toString());
        c.put(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION");
        c.put("execution.checkpointing.num-retained", "3");
        // a killed TaskManager's slots come back only with a replacement: retry long enough
        c.put("restart-strategy.type", "fixed-delay");
        c.put("restart-strategy.fixed-delay.attempts", "1000");
        c.put("restart-strategy.fixed-delay.delay", "2 s");
        // a killed process's connections drop, so its peers notice after two failed heartbeat
        // RPCs (heartbeat.rpc-failure-threshold); the timeouts are for a busy machine
        c.put("heartbeat.interval", "3000");
        c.put("heartbeat.timeout", "60000");
        c.put("pekko.ask.timeout", "60 s");
        c.put("pekko.tcp.timeout", "60 s");
        c.put("pekko.lookup.timeout", "60 s");
        c.put("io.tmp.dirs", Files.createDirectories(flink.resolve("tmp")).toString());
        // the bin scripts add these to the JVM's command line; so does startJvm below
        c.put(
                "env.java.opts.all",
                String.join(
                        " ",
                        "-XX:+UseG1GC",
                        "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.fedstream.schemas.avro",
                        "--add-opens=java.base/java.util=ALL-UNNAMED",
                        "--add-opens=java.base/java.lang=ALL-UNNAMED",
                        "--add-opens=java.base/java.nio=ALL-UNNAMED",
                        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                        "--add-modules=jdk.incubator.vector",
                        // Flink's pekko.startup-timeout sets pekko.remote.startup-timeout, but
                        // classic remoting reads this key (10 s): too short on a busy machine
                        "-Dpekko.remote.classic.startup-timeout=120s"));
        StringBuilder yaml = new StringBuilder("# written by ./fedstream cluster up\n");
        c.forEach((k, v) -> yaml.append(k).append(": ").append(yamlValue(v)).append('\n'));
        Files.writeString(conf.resolve("config.yaml"), yaml);
        Files.writeString(
                conf.resolve("log4j.properties"),
                fileLogging("${sys:log.file}", "%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n")
                        + String.join(
                                "\n",
                                "logger.metricgroup.name = org.apache.flink.metrics.MetricGroup",
                                "logger.metricgroup.level = ERROR",
                                ""));
    }

    /** A log4j2 properties file sending everything at INFO and above to one file. */
    private static String fileLogging(String fileName, String pattern) {
        return String.join(
                "\n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = file",
                "appender.file.type = File",
                "appender.file.name = file",
                "appender.file.fileName = " + fileName,
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = " + pattern,
                "");
    }

    private static String yamlValue(String v) {
        return v.matches("[A-Za-z0-9_./:,@ -]*") && !v.startsWith("-") && !v.contains(": ")
                ? v
                : "'" + v.replace("'", "''") + "'";
    }

    private Configuration flinkConf() {
        return GlobalConfiguration.loadConfiguration(dir.resolve("flink/conf").toString());
    }

    /** Starts the JobManager (after a kill it recovers jobs only from a checkpoint given to it). */
    long startJobManager() throws IOException {
        Configuration conf = flinkConf();
        JobManagerProcessSpec spec = JobManagerProcessUtils.processSpecFromConfig(conf);
        List<String> jvm = split(JobManagerProcessUtils.generateJvmParametersStr(spec, conf));
        List<String> dyn = split(JobManagerProcessUtils.generateDynamicConfigsStr(spec));
        long pid =
                startFlinkJvm(
                        "jobmanager",
                        jvm,
                        "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                        dyn,
                        conf.get(CoreOptions.FLINK_JM_JVM_OPTIONS));
        state.setProperty("jobmanager.pid", Long.toString(pid));
        save();
        return pid;
    }

    long jobManagerPid() {
        return Long.parseLong(state.getProperty("jobmanager.pid"));
    }

    /** Starts one more TaskManager, {@code tm-<n>}; returns its resource id. */
    String startTaskManager() throws IOException {
        int n = Integer.parseInt(state.getProperty("taskmanagers.started")) + 1;
        String id = "tm-" + n;
        Configuration conf = flinkConf();
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(conf);
        List<String> jvm = split(ProcessMemoryUtils.generateJvmParametersStr(spec));
        List<String> dyn =
                new ArrayList<>(split(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec)));
        dyn.addAll(List.of("-D", "taskmanager.resource-id=" + id));
        long pid =
                startFlinkJvm(
                        "taskmanager-" + n,
                        jvm,
                        "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                        dyn,
                        conf.get(CoreOptions.FLINK_TM_JVM_OPTIONS));
        state.setProperty("taskmanagers.started", Integer.toString(n));
        state.setProperty("taskmanager." + id + ".pid", Long.toString(pid));
        save();
        return id;
    }

    /** The process id of TaskManager {@code id} ({@code tm-<n>}). */
    long taskManagerPid(String id) {
        return Long.parseLong(state.getProperty("taskmanager." + id + ".pid"));
    }

    private long startFlinkJvm(
            String name, List<String> memory, String mainClass, List<String> dynamic, String extra)
            throws IOException {
        Path flink = dir.resolve("flink");
        Configuration conf = flinkConf();
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin());
        cmd.addAll(memory);
        cmd.addAll(split(conf.get(CoreOptions.FLINK_JVM_OPTIONS)));
        cmd.addAll(split(extra));
        Path logFile = flink.resolve("log/" + name + ".log");
        cmd.add("-Dlog.file=" + logFile);
        cmd.add("-Dlog4j.configurationFile=file:" + flink.resolve("conf/log4j.properties"));
        cmd.addAll(List.of("-cp", flinkClasspath()));
        cmd.add(mainClass);
        cmd.addAll(List.of("--configDir", flink.resolve("conf").toString()));
        cmd.addAll(dynamic);
        return spawn(
                cmd,
                Map.of(
                        "FLINK_CONF_DIR", flink.resolve("conf").toString(),
                        "FLINK_PLUGINS_DIR", flink.resolve("plugins").toString(),
                        "FLINK_LOG_DIR", flink.resolve("log").toString()),
                flink.resolve("log/" + name + ".out"));
    }

    static String flinkClasspath() {
        return System.getProperty("fedstream.flink.classpath", "");
    }

    void awaitTaskManagers(int n, Duration timeout) throws InterruptedException {
        await(
                n + " TaskManagers registered",
                timeout,
                () -> {
                    try {
                        return taskManagers().size() >= n;
                    } catch (Exception e) {
                        return false;
                    }
                });
    }

    /** The registered TaskManagers' resource ids. */
    List<String> taskManagers() throws IOException, InterruptedException {
        List<String> out = new ArrayList<>();
        for (JsonNode tm : rest("/taskmanagers").path("taskmanagers")) {
            out.add(tm.path("id").asText());
        }
        return out;
    }

    /** GET of Flink's REST API. */
    JsonNode rest(String path) throws IOException, InterruptedException {
        HttpResponse<String> r =
                HTTP.send(
                        HttpRequest.newBuilder(URI.create(restUrl() + path))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("GET " + path + ": HTTP " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** POST of Flink's REST API with a JSON body. */
    JsonNode restPost(String path, Object body) throws IOException, InterruptedException {
        HttpResponse<String> r =
                HTTP.send(
                        HttpRequest.newBuilder(URI.create(restUrl() + path))
                                .timeout(Duration.ofSeconds(30))
                                .header("Content-Type", "application/json")
                                .POST(
                                        HttpRequest.BodyPublishers.ofString(
                                                JSON.writeValueAsString(body)))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("POST " + path + ": HTTP " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /**
     * Submits the job jar as {@code flink run --detached} does: runs its main class here with a
     * remote executor that sends the job graph and the jar to the JobManager's REST API; returns
     * the new job's id.
     */
    String submit(Path jobJar, String mainClass, List<String> args, String savepoint)
            throws Exception {
        java.util.Set<String> before = jobIds();
        Configuration conf = new Configuration();
        conf.set(DeploymentOptions.TARGET, RemoteExecutor.NAME);
        conf.set(DeploymentOptions.ATTACHED, false);
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.PORT, restPort());
        // flink run's classpath is Flink's lib/ alone; this JVM also has the Kafka connector
        // (parent-first, as all org.apache.flink classes): take Kafka's classes from the same
        // loader as the connector's, or their signatures clash (loader constraint violation)
        conf.set(
                CoreOptions.ALWAYS_PARENT_FIRST_LOADER_PATTERNS_ADDITIONAL,
                List.of("org.apache.kafka."));
        // what flink run's CLI adds: the jar is shipped with the job (pipeline.jars)
        conf.set(
                org.apache.flink.configuration.PipelineOptions.JARS,
                List.of(jobJar.toUri().toURL().toString()));
        if (savepoint != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        File jar = jobJar.toFile();
        PackagedProgram program =
                PackagedProgram.newBuilder()
                        .setJarFile(jar)
                        .setEntryPointClassName(mainClass)
                        .setArguments(args.toArray(String[]::new))
                        .setConfiguration(conf)
                        .build();
        try {
            ClientUtils.executeProgram(
                    new DefaultExecutorServiceLoader(), conf, program, false, false);
        } finally {
            program.close();
        }
        String[] id = new String[1];
        await(
                "the submitted job to be listed",
                Duration.ofMinutes(1),
                () -> {
                    try {
                        for (String j : jobIds()) {
                            if (!before.contains(j)) {
                                id[0] = j;
                                return true;
                            }
                        }
                        return false;
                    } catch (Exception e) {
                        return false;
                    }
                });
        return id[0];
    }

    java.util.Set<String> jobIds() throws IOException, InterruptedException {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (JsonNode j : rest("/jobs/overview").path("jobs")) {
            out.add(j.path("jid").asText());
        }
        return out;
    }

    /** The state of job {@code jid} (RUNNING, RESTARTING, ...). */
    String jobState(String jid) throws IOException, InterruptedException {
        return rest("/jobs/" + jid).path("state").asText();
    }

    // ---------------------------------------------------------------- processes

    /** Every process of this cluster that is alive, by name. */
    Map<String, Long> processes() {
        Map<String, Long> out = new TreeMap<>();
        for (String key : state.stringPropertyNames()) {
            if (key.endsWith(".pid")) {
                long pid = Long.parseLong(state.getProperty(key));
                if (ours(pid)) {
                    out.put(key.substring(0, key.length() - 4), pid);
                }
            }
        }
        return out;
    }

    /** Whether {@code pid} is alive and one of this cluster's (its command line names our dir). */
    boolean ours(long pid) {
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        return p.isPresent() && p.get().isAlive() && commandLine(p.get()).contains(dir.toString());
    }

    /** The whole command line (ProcessHandle.Info has none for command lines this long). */
    private static String commandLine(ProcessHandle p) {
        Path proc = Path.of("/proc", Long.toString(p.pid()), "cmdline");
        try {
            return new String(Files.readAllBytes(proc), StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return p.info().commandLine().orElse("");
        }
    }

    /** kill -9. */
    void kill(long pid) throws InterruptedException {
        if (ours(pid)) {
            ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
            p.destroyForcibly();
            await("process " + pid + " to end", Duration.ofSeconds(30), () -> !p.isAlive());
        }
    }

    /**
     * Stops every process (SIGTERM, then SIGKILL after 20 s) and deletes the cluster's directory.
     */
    void down() throws IOException, InterruptedException {
        stop();
        deleteTree(dir);
    }

    /** Stops every process (SIGTERM, then SIGKILL after 20 s), keeps the directory. */
    void stop() throws IOException, InterruptedException {
        List<ProcessHandle> running = new ArrayList<>();
        for (long pid : processes().values()) {
            ProcessHandle.of(pid).ifPresent(running::add);
        }
        running.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (ProcessHandle p : running) {
            long left = Math.max(1, deadline - System.nanoTime());
            try {
                p.onExit().get(left, TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                p.destroyForcibly();
                try {
                    p.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // reported below
                }
            }
        }
        for (ProcessHandle p : running) {
            if (p.isAlive()) {
                throw new IOException("process " + p.pid() + " did not stop; " + dir + " kept");
            }
        }
    }

    private long spawn(List<String> cmd, Map<String, String> env, Path out) throws IOException {
        Files.createDirectories(out.getParent());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.directory(dir.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
        return pb.start().pid();
    }

    private void save() throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(STATE_FILE + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            state.store(out, "./fedstream cluster");
        }
        Files.move(
                tmp,
                dir.resolve(STATE_FILE),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static List<String> split(String s) {
        return Arrays.stream(s.trim().split("\\s+")).filter(t -> !t.isEmpty()).toList();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    static void await(String what, Duration timeout, BooleanSupplier done)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(500);
        }
    }
}
