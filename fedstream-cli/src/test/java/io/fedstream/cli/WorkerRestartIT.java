package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.UpdateManifest;
import io.fedstream.schemas.kafka.TopicReader;
import io.fedstream.testing.DeliveryCheck;
import io.fedstream.testing.MiniClusters;
import io.fedstream.worker.mlp.DemoFederation;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker killed with SIGKILL while it trains, and restarted: a real broker, the real job on a
 * MiniCluster, and {@code ./fedstream worker} in a child JVM (the test's classpath). With a quorum
 * of one every update makes a version, so the site alone drives the federation. The restarted
 * worker must start from the newest global version (not from version 0 or the version it was killed
 * on, if a newer one existed) and no update id may reach the updates topic twice; the log must pass
 * the {@link DeliveryCheck}.
 */
class WorkerRestartIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    static final long SEED = 7;

    /**
     * "12:00:01 site-1: version 3, held-out loss ...": printed when a version arrives, before
     * training.
     */
    static final Pattern VERSION_LINE =
            Pattern.compile("^\\d\\d:\\d\\d:\\d\\d site-1: version (\\d+), held-out loss");

    @TempDir Path dir;

    private final List<Child> children = new ArrayList<>();

    @AfterEach
    void killChildren() throws InterruptedException {
        for (Child c : children) {
            c.process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWorkerKilledWhileTrainingResumesFromTheNewestVersionWithoutDuplicates() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            LocalFederation.createTopics(kafka);
            FederationSpec spec = DemoFederation.create("demo", SEED, 1, 0.5).spec();
            JobClient job = startJob(kafka, spec);

            // arrange: the worker trains from versions 0 and 1; it is killed as soon as it has
            // received version 2, while it trains from it
            Child first = worker(kafka, 0);
            long seen = first.await(line -> versionOf(line) == 2, Duration.ofMinutes(2));
            first.process.destroyForcibly(); // SIGKILL
            long killMs = (System.nanoTime() - seen) / 1_000_000;
            assertThat(first.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            List<String> beforeRestart = ids(updates(kafka));
            assertThat(chunksWithoutManifest(kafka))
                    .as("killed while training, not while publishing")
                    .isEmpty();

            // act: restart it; it publishes two updates and stops
            Child second = worker(kafka, 2);
            assertThat(second.process.waitFor(3, TimeUnit.MINUTES)).isTrue();
            assertThat(second.process.exitValue()).as(second.output()).isZero();
            List<GlobalModel> versions = awaitVersions(kafka, 5);
            job.cancel().get();

            // assert
            assertThat(beforeRestart)
                    .as("killed before it published its update from version 2")
                    .containsExactly("site-1/v0", "site-1/v1");
            List<UpdateManifest> updates = updates(kafka);
            assertThat(ids(updates))
                    .as("each update once, the restarted worker starting from version 2")
                    .containsExactly("site-1/v0", "site-1/v1", "site-1/v2", "site-1/v3");
            assertThat(second.versionsSeen())
                    .as("the restarted worker never looked at a version older than the newest")
                    .startsWith(2L)
                    .doesNotContain(0L, 1L);
            assertThat(second.output()).contains("caught up at version 2");
            assertThat(updates)
                    .as("the kill came %d ms into training, which takes longer", killMs)
                    .allSatisfy(
                            u ->
                                    assertThat(u.getMetrics().get("train_seconds") * 1000)
                                            .isGreaterThan(killMs));
            assertThat(versions)
                    .extracting(GlobalModel::getVersion)
                    .containsExactly(0L, 1L, 2L, 3L, 4L);
            DeliveryCheck.Report check =
                    DeliveryCheck.read(
                            kafka.clientProperties(),
                            Topics.ADAPTER_UPDATES,
                            Topics.GLOBAL_MODELS,
                            Topics.REJECTED_UPDATES);
            assertThat(check.violations()).isEmpty();
            assertThat(check.deadLetters()).isZero();
            assertThat(check.updateRecords()).isEqualTo(4);
            assertThat(check.chunkRecords())
                    .as("every update in %d chunk(s)", spec.layout().chunkCount())
                    .isEqualTo(4 * spec.layout().chunkCount());
        }
    }

    private JobClient startJob(EmbeddedKafka kafka, FederationSpec spec) throws Exception {
        Path federations = dir.resolve("federations.json");
        FederationSpec.writeAll(federations, List.of(spec));
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.FEDERATIONS_FILE, federations.toString());
        conf.set(FedStreamOptions.ROUND_QUORUM, 1);
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        conf.set(FedStreamOptions.PARALLELISM, 2);
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(
                env, conf, AggregationJob.federations(conf), AggregationJob.Io.kafka(conf));
        return env.executeAsync("worker-restart");
    }

    /** {@code ./fedstream worker} for site-1 in a child JVM on the test's classpath. */
    private Child worker(EmbeddedKafka kafka, int maxUpdates) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        cmd.add("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.fedstream.schemas.avro");
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(
                List.of(
                        "worker",
                        "--bootstrap",
                        kafka.bootstrapServers(),
                        "--site-index",
                        "0",
                        "--sites",
                        "1",
                        "--seed",
                        Long.toString(SEED),
                        "--max-updates",
                        Integer.toString(maxUpdates)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OPT_OUT_TRACKING", "true");
        Child c = new Child(pb.start());
        children.add(c);
        return c;
    }

    /** A child process whose output lines are collected (and echoed) as they come. */
    static final class Child {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final List<Long> seenAt = new CopyOnWriteArrayList<>(); // System.nanoTime() per line

        Child(Process process) {
            this.process = process;
            Thread reader =
                    new Thread(
                            () -> {
                                try (BufferedReader r =
                                        new BufferedReader(
                                                new InputStreamReader(
                                                        process.getInputStream(),
                                                        StandardCharsets.UTF_8))) {
                                    for (String l; (l = r.readLine()) != null; ) {
                                        seenAt.add(System.nanoTime());
                                        lines.add(l);
                                        System.out.println("[worker " + process.pid() + "] " + l);
                                    }
                                } catch (java.io.IOException e) {
                                    // the process was killed
                                }
                            },
                            "child-output-" + process.pid());
            reader.setDaemon(true);
            reader.start();
        }

        /** Waits for a line; returns when it was read (System.nanoTime()). */
        long await(Predicate<String> line, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                for (int i = 0; i < lines.size(); i++) {
                    if (line.test(lines.get(i))) {
                        return seenAt.get(i);
                    }
                }
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    throw new AssertionError(
                            (process.isAlive() ? "timed out" : "worker exited")
                                    + " waiting for its line:\n"
                                    + output());
                }
                Thread.sleep(1);
            }
        }

        List<Long> versionsSeen() {
            return lines.stream().map(WorkerRestartIT::versionOf).filter(v -> v >= 0).toList();
        }

        String output() {
            return String.join("\n", lines);
        }
    }

    static long versionOf(String line) {
        Matcher m = VERSION_LINE.matcher(line);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The manifests of the updates topic (each update's commit point), in log order. */
    private static List<UpdateManifest> updates(EmbeddedKafka kafka) {
        List<UpdateManifest> out = new ArrayList<>();
        TopicReader.readAll(
                kafka.clientProperties(),
                Topics.ADAPTER_UPDATES,
                r -> {
                    if (!AvroCodec.UPDATE_CHUNK.accepts(r.value())) {
                        out.add(AvroCodec.UPDATE_MANIFEST.decode(r.value()));
                    }
                });
        return out;
    }

    /** Update ids with chunks on the updates topic but no manifest. */
    private static Set<String> chunksWithoutManifest(EmbeddedKafka kafka) {
        Set<String> chunked = new HashSet<>();
        TopicReader.readAll(
                kafka.clientProperties(),
                Topics.ADAPTER_UPDATES,
                r -> {
                    if (AvroCodec.UPDATE_CHUNK.accepts(r.value())) {
                        chunked.add(AvroCodec.UPDATE_CHUNK.decode(r.value()).getUpdateId());
                    }
                });
        chunked.removeAll(ids(updates(kafka)));
        return chunked;
    }

    private static List<String> ids(List<UpdateManifest> updates) {
        return updates.stream().map(UpdateManifest::getUpdateId).toList();
    }

    /** Complete versions (manifest and every chunk, verified), in the order they complete. */
    private static List<GlobalModel> awaitVersions(EmbeddedKafka kafka, int n)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (true) {
            List<GlobalModel> out = new ArrayList<>();
            GlobalModelAssembler assembler = new GlobalModelAssembler();
            TopicReader.readAll(
                    kafka.clientProperties(),
                    Topics.GLOBAL_MODELS,
                    r -> out.addAll(assembler.accept(r.value())));
            assertThat(assembler.problems()).isEmpty();
            if (out.size() >= n || System.nanoTime() > deadline) {
                return out;
            }
            Thread.sleep(200);
        }
    }
}
