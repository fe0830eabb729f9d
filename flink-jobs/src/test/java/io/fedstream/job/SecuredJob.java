package io.fedstream.job;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.kafka.FederationAcls;
import io.fedstream.testing.TestTopics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.acl.AclBinding;

/**
 * The aggregation job on a broker with SASL/SCRAM and ACLs, for the ITs that check what each
 * principal may do: the super user {@code admin}, the job's principal {@code fedstream-job} with
 * {@link FederationAcls#forAggregationJob}, and sites with {@link FederationAcls#forSite}. Each
 * user's password is {@code <user>-pw}.
 */
final class SecuredJob {
    static final String ADMIN = "admin";
    static final String JOB_USER = "fedstream-job";

    private SecuredJob() {}

    /**
     * A secured broker with the users, the three topics ({@code adapter-updates} with 2 partitions)
     * and the ACLs of the job and of each site, plus {@code moreAcls}.
     */
    static EmbeddedKafka broker(List<String> sites, List<AclBinding> moreAcls) {
        Map<String, String> users = new HashMap<>();
        users.put(ADMIN, password(ADMIN));
        users.put(JOB_USER, password(JOB_USER));
        sites.forEach(s -> users.put(s, password(s)));
        EmbeddedKafka kafka = EmbeddedKafka.builder().scram(users, ADMIN).start();
        kafka.createTopic(Topics.ADAPTER_UPDATES, 2, Map.of());
        kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
        kafka.createTopic(Topics.REJECTED_UPDATES, 1, Map.of());
        List<AclBinding> acls = new ArrayList<>();
        acls.addAll(FederationAcls.forAggregationJob(JOB_USER, FederationAcls.Topics.DEFAULT));
        sites.forEach(s -> acls.addAll(FederationAcls.forSite(s, FederationAcls.Topics.DEFAULT)));
        acls.addAll(moreAcls);
        kafka.createAcls(acls);
        return kafka;
    }

    static String password(String user) {
        return user + "-pw";
    }

    /** {@code user}'s client properties (bootstrap servers included). */
    static Properties client(EmbeddedKafka kafka, String user) {
        return kafka.clientProperties(user, password(user));
    }

    /** A raw producer under {@code user}'s identity. */
    static KafkaProducer<byte[], byte[]> producer(EmbeddedKafka kafka, String user) {
        return TestTopics.producer(client(kafka, user));
    }

    /**
     * Starts the job at parallelism 2 as {@code fedstream-job} (its client properties in a file in
     * {@code dir}), closing rounds at {@code quorum}, with the site key registry {@code siteKeys}
     * (null: none), checkpointing every 300 ms and no restarts.
     */
    static JobClient start(EmbeddedKafka kafka, Path dir, int quorum, Path siteKeys, String name)
            throws Exception {
        Path jobProps =
                TestTopics.clientPropertiesFile(
                        kafka, JOB_USER, password(JOB_USER), dir.resolve("job.properties"));
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.CLIENT_PROPERTIES_FILE, jobProps.toString());
        if (siteKeys != null) {
            conf.set(FedStreamOptions.SITE_KEYS_FILE, siteKeys.toString());
        }
        conf.set(FedStreamOptions.ROUND_QUORUM, quorum);
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        conf.set(FedStreamOptions.PARALLELISM, 2);
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(Fixtures.SPEC), AggregationJob.Io.kafka(conf));
        return env.executeAsync(name);
    }
}
