package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.Topics;
import io.fedstream.testing.MiniClusters;
import io.fedstream.testing.SigningSites;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.mlp.DemoFederation;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run with hostile records, seen as the people involved see it: the site whose updates were
 * rejected prints why (its worker's output), the operator's {@code ./fedstream rejections} prints
 * the dead letters as a table, and {@code ./fedstream report} writes the page.
 */
class OperatorViewsIT {
    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    @Test
    void rejectionsReachTheSiteAndTheOperator() throws Exception {
        DemoFederation demo = DemoFederation.create("demo", 42, 2, 0.5);
        FederationSpec spec = demo.spec();
        SigningSites sites = SigningSites.generate("site-1", "site-2");
        Path registry = sites.writeRegistry(dir.resolve("site-keys.json"));
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            LocalFederation.createTopics(kafka);
            Path federations = dir.resolve("federations.json");
            FederationSpec.writeAll(federations, List.of(spec));
            Configuration conf = new Configuration();
            conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            conf.set(FedStreamOptions.FEDERATIONS_FILE, federations.toString());
            conf.set(FedStreamOptions.SITE_KEYS_FILE, registry.toString());
            conf.set(FedStreamOptions.ROUND_QUORUM, 1);
            conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
            conf.set(FedStreamOptions.PARALLELISM, 2);
            conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            AggregationJob.configureEnvironment(env, conf);
            AggregationJob.build(env, conf, List.of(spec), AggregationJob.Io.kafka(conf));
            JobClient job = env.executeAsync("operator views");

            // garbage on the updates topic
            try (KafkaProducer<byte[], byte[]> p =
                    new KafkaProducer<>(
                            kafka.clientProperties(),
                            new ByteArraySerializer(),
                            new ByteArraySerializer())) {
                p.send(
                                new ProducerRecord<>(
                                        Topics.ADAPTER_UPDATES,
                                        "demo".getBytes(StandardCharsets.UTF_8),
                                        "garbage".getBytes(StandardCharsets.UTF_8)))
                        .get();
            }
            // site-1 signs its updates; site-2 forgot its key
            ByteArrayOutputStream site2Out = new ByteArrayOutputStream();
            PrintStream site2Print = new PrintStream(site2Out, true, StandardCharsets.UTF_8);
            try (var t1 = demo.trainer(0);
                    var t2 = demo.trainer(1)) {
                Worker w1 =
                        new Worker(
                                WorkerConfig.defaults(kafka.bootstrapServers(), "demo", "site-1")
                                        .withMaxUpdates(3)
                                        .withSigningKey(
                                                sites.keyId("site-1"), sites.privateKey("site-1")),
                                t1,
                                new WorkerProgress(System.out),
                                42);
                Worker w2 =
                        new Worker(
                                WorkerConfig.defaults(kafka.bootstrapServers(), "demo", "site-2")
                                        .withPause(Duration.ofSeconds(1)),
                                t2,
                                new WorkerProgress(site2Print),
                                42);
                Thread th1 = new Thread(w1);
                Thread th2 = new Thread(w2);
                th1.start();
                th2.start();
                long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                while (!site2Out.toString(StandardCharsets.UTF_8).contains("REJECTED")
                        && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                }
                th1.join(120_000);
                w2.close();
                th2.join(30_000);
            }
            String site2 = site2Out.toString(StandardCharsets.UTF_8);
            assertThat(site2)
                    .containsPattern("\\d\\d:\\d\\d:\\d\\d site-2: sent update site-2/v0")
                    .contains("site-2: REJECTED update site-2/v")
                    .contains("MISSING_SIGNATURE")
                    .contains("site-2: stopped after sending");

            // the operator's table: the garbage and site-2's unsigned updates
            String table =
                    stdout(
                            () ->
                                    Main.run(
                                            new String[] {
                                                "rejections",
                                                "--bootstrap",
                                                kafka.bootstrapServers()
                                            },
                                            System.err));
            List<String> lines = table.lines().toList();
            assertThat(lines.get(0)).contains("offset", "site", "update", "reason", "detail");
            assertThat(lines).anyMatch(l -> l.contains("NOT_AVRO"));
            assertThat(lines)
                    .anyMatch(l -> l.contains("site-2") && l.contains("MISSING_SIGNATURE"));
            assertThat(lines.get(lines.size() - 1))
                    .containsPattern("\\d+ dead letters in rejected-updates");
            String onlySite1 =
                    stdout(
                            () ->
                                    Main.run(
                                            new String[] {
                                                "rejections",
                                                "--bootstrap",
                                                kafka.bootstrapServers(),
                                                "--site",
                                                "site-1"
                                            },
                                            System.err));
            assertThat(onlySite1)
                    .doesNotContain("MISSING_SIGNATURE")
                    .contains("0 dead letters shown of");

            // the report page
            Path out = dir.resolve("report");
            String report =
                    stdout(
                            () ->
                                    Main.run(
                                            new String[] {
                                                "report",
                                                "--bootstrap",
                                                kafka.bootstrapServers(),
                                                "--federation",
                                                "demo",
                                                "--out",
                                                out.toString()
                                            },
                                            System.err));
            assertThat(report).contains("report at").contains("dead letters of federation demo");
            String html = Files.readString(out.resolve("report.html"));
            assertThat(html).contains("<svg").contains("MISSING_SIGNATURE").contains("site-1");
            job.cancel().get();
        }
    }

    interface Run {
        int run() throws Exception;
    }

    /** What {@code run} prints to System.out; fails unless it exits 0. */
    static String stdout(Run run) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = run.run();
        } finally {
            System.setOut(old);
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        old.print(s);
        assertThat(code).as("exit code; output %s", s).isZero();
        return s;
    }
}
