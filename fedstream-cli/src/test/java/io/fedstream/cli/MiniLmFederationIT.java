package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.testing.MiniClusters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.WorkerListener;
import io.fedstream.worker.sites.SiteTrainers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real pretrained model through the real system: two workers tune all-MiniLM-L6-v2 with LoRA
 * ({@code worker --model minilm}) on their own instruction data, through a real broker and the job
 * on a MiniCluster at parallelism 2, and held-out loss falls at both sites.
 */
class MiniLmFederationIT {
    private static final String[] DISEASES = {
        "glaucoma", "asthma", "diabetes", "influenza", "psoriasis", "anemia", "gout", "migraine",
        "shingles", "lupus", "rickets", "scurvy", "measles", "tetanus", "cholera", "malaria"
    };
    private static final String[][] SYMPTOMS = {
        {"What are the symptoms of %s?", "What are the signs of %s?"},
        {"How do I know if I have %s?", "What does %s feel like?"}
    };
    private static final String[][] TREATMENTS = {
        {"What are the treatments for %s?", "How is %s treated?"},
        {"Which medicines help with %s?", "What therapy do doctors use for %s?"}
    };

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    @Test
    void twoSitesTuningMiniLmLowerTheirHeldOutLoss() throws Exception {
        // arrange: two sites that phrase their questions differently (heterogeneous data)
        Path data = dir.resolve("questions.jsonl");
        Files.write(data, questions());
        SiteTrainers sites = new SiteTrainers();
        sites.model = SiteTrainers.MINILM;
        sites.data = data;
        sites.siteField = "source";
        sites.labelField = "category";
        sites.trainCap = 24;
        sites.testPerSite = 8;
        sites.loraRank = 4;
        sites.loraAlpha = 8;
        sites.loraDropout = 0;
        sites.loraTargets = "query,value";
        sites.maxTokens = 16;
        sites.batchSize = 8;
        sites.localEpochs = 2;
        sites.learningRate = 5e-3;
        long seed = 5;
        FederationSpec spec = sites.spec("medical", seed);
        Map<String, Map<Long, Double>> losses = new ConcurrentHashMap<>();
        WorkerListener listener =
                new WorkerListener() {
                    @Override
                    public void onGlobalVersion(
                            String site, GlobalModel m, SiteTrainer.EvalResult e) {
                        losses.computeIfAbsent(site, s -> new ConcurrentSkipListMap<>())
                                .put(m.getVersion(), e.loss());
                    }
                };

        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            LocalFederation.createTopics(kafka);
            Configuration conf = new Configuration();
            conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            conf.set(FedStreamOptions.ROUND_QUORUM, 2);
            conf.set(FedStreamOptions.ROUND_TIMEOUT, Duration.ofMinutes(2));
            conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
            conf.set(FedStreamOptions.PARALLELISM, 2);
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            AggregationJob.configureEnvironment(env, conf);
            AggregationJob.build(env, conf, List.of(spec), AggregationJob.Io.kafka(conf));
            JobClient job = env.executeAsync("minilm-federation");
            List<Worker> workers = new ArrayList<>();
            List<SiteTrainer> trainers = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    SiteTrainers.SiteData site = sites.site(i, seed);
                    SiteTrainer trainer = sites.trainer(site, seed);
                    trainers.add(trainer);
                    Worker w =
                            new Worker(
                                    WorkerConfig.defaults(
                                            kafka.bootstrapServers(),
                                            spec.id(),
                                            SiteTrainers.siteId(site.name())),
                                    trainer,
                                    listener,
                                    seed);
                    workers.add(w);
                    Thread t = new Thread(w, "worker-" + i);
                    t.start();
                    threads.add(t);
                }

                // act: three rounds
                long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
                while (System.nanoTime() < deadline && !reached(losses, 3)) {
                    for (Worker w : workers) {
                        assertThat(w.failure()).isNull();
                    }
                    Thread.sleep(200);
                }
            } finally {
                workers.forEach(Worker::close);
                for (Thread t : threads) {
                    t.join(30_000);
                }
                trainers.forEach(SiteTrainer::close);
                job.cancel().get();
            }
        }

        // assert
        assertThat(losses).containsOnlyKeys("north", "south");
        for (Map.Entry<String, Map<Long, Double>> site : losses.entrySet()) {
            Map<Long, Double> byVersion = site.getValue();
            System.out.println(site.getKey() + " held-out loss by version: " + byVersion);
            assertThat(byVersion).containsKeys(0L, 3L);
            assertThat(byVersion.get(3L))
                    .as("held-out loss of %s at version 3 vs 0", site.getKey())
                    .isLessThan(0.8 * byVersion.get(0L));
        }
    }

    private static boolean reached(Map<String, Map<Long, Double>> losses, long version) {
        return losses.size() == 2 && losses.values().stream().allMatch(m -> m.containsKey(version));
    }

    /** North asks in the first phrasings, south in the second; the labels are the same. */
    private static List<String> questions() {
        List<String> lines = new ArrayList<>();
        String[] sites = {"north", "south"};
        for (int s = 0; s < 2; s++) {
            for (String d : DISEASES) {
                for (String q : SYMPTOMS[s]) {
                    lines.add(line(String.format(q, d), "symptoms", sites[s]));
                }
                for (String q : TREATMENTS[s]) {
                    lines.add(line(String.format(q, d), "treatment", sites[s]));
                }
            }
        }
        return lines;
    }

    private static String line(String instruction, String category, String source) {
        return String.format(
                "{\"instruction\": \"%s\", \"output\": \"\", \"category\": \"%s\", \"source\":"
                        + " \"%s\"}",
                instruction, category, source);
    }
}
