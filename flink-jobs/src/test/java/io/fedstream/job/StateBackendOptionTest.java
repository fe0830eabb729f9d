package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.job.adapter.AggregationJob;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FedStreamOptions#STATE_BACKEND}: RocksDB whenever the rule holds a round's chunks (median,
 * trimmed-mean); the running sums of fedavg and norm-clipping stay on Flink's own choice.
 */
class StateBackendOptionTest {

    @ParameterizedTest(name = "backend {0}, rule {1} -> {2}")
    @CsvSource({
        "auto, fedavg, ",
        "auto, median, rocksdb",
        "auto, trimmed-mean, rocksdb",
        "auto, norm-clipping, ",
        "rocksdb, fedavg, rocksdb",
        "rocksdb, norm-clipping, rocksdb",
        "hashmap, trimmed-mean, hashmap",
        "hashmap, median, hashmap",
        "auto, multi-krum, rocksdb",
        "ROCKSDB, fedavg, rocksdb"
    })
    void choosesTheBackend(String backend, String rule, String expected) {
        Configuration conf =
                Configuration.fromMap(
                        Map.of(
                                "fedstream.state.backend", backend,
                                "fedstream.aggregation.rule", rule,
                                "fedstream.aggregation.rule-params", ruleParams(rule)));

        assertThat(FedStreamOptions.stateBackendType(conf))
                .isEqualTo(Optional.ofNullable(expected));
    }

    @Test
    void multiKrumRunsOnlyWhereAnUpdateIsOneChunk() {
        RoundPolicy krum =
                new RoundPolicy(
                        3,
                        java.time.Duration.ofSeconds(10),
                        1,
                        new io.fedstream.aggregation.StalenessFunction.Polynomial(0.5),
                        5,
                        1.0,
                        "multi-krum",
                        Map.of("f", "0", "m", "2"));
        io.fedstream.schemas.FederationSpec whole = Fixtures.SPEC; // 8 values, one chunk
        io.fedstream.schemas.FederationSpec chunked = Fixtures.SPEC.withChunkElements(4);

        AggregationJob.checkRuleFits(krum, java.util.List.of(whole));
        assertThatThrownBy(
                        () -> AggregationJob.checkRuleFits(krum, java.util.List.of(whole, chunked)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multi-krum needs distances between whole updates")
                .hasMessageContaining("federation " + chunked.id());
    }

    @Test
    void theDefaultIsAuto() {
        assertThat(new Configuration().get(FedStreamOptions.STATE_BACKEND))
                .isEqualTo(FedStreamOptions.StateBackend.AUTO);
        assertThat(FedStreamOptions.STATE_BACKEND.defaultValue()).hasToString("auto");
    }

    @Test
    void anUnknownBackendIsRefused() {
        Configuration conf = Configuration.fromMap(Map.of("fedstream.state.backend", "forst"));

        assertThatThrownBy(() -> conf.get(FedStreamOptions.STATE_BACKEND))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theEnvironmentOfARobustJobUsesRocksDb() {
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.AGGREGATION_RULE, "median");

        assertThat(configuredStateBackend(conf)).isEqualTo("rocksdb");
    }

    @Test
    void aNormClippingJobLeavesFlinksOwnChoiceAlone() {
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.AGGREGATION_RULE, "norm-clipping");
        conf.set(FedStreamOptions.AGGREGATION_RULE_PARAMS, Map.of("maxNorm", "1.0"));
        conf.set(StateBackendOptions.STATE_BACKEND, "hashmap"); // e.g. the cluster's

        assertThat(configuredStateBackend(conf)).isEqualTo("hashmap");
    }

    @Test
    void aFedAvgJobLeavesFlinksOwnChoiceAlone() {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb"); // e.g. the cluster's

        assertThat(configuredStateBackend(conf)).isEqualTo("rocksdb");
    }

    /** The state backend of an environment the job has configured from {@code conf}. */
    private static String configuredStateBackend(Configuration conf) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        return env.getConfiguration().get(StateBackendOptions.STATE_BACKEND);
    }

    private static String ruleParams(String rule) {
        return switch (rule) {
            case "trimmed-mean" -> "beta:0.2";
            case "multi-krum" -> "f:1,m:3";
            case "norm-clipping" -> "maxNorm:1.0";
            default -> "";
        };
    }
}
