package io.fedstream.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard is valid JSON and queries exactly the metrics the job registers, under the
 * names Flink's Prometheus reporter gives them.
 */
class DashboardTest {
    private static final String OPERATOR_PREFIX = "flink_taskmanager_job_task_operator_";
    private static final Pattern METRIC = Pattern.compile("\\b(flink_[A-Za-z0-9_]+)");
    private static final Pattern REGISTERED =
            Pattern.compile("\\.(?:counter|gauge|histogram)\\(\"([A-Za-z]+)\"");
    private static final Pattern GROUPED =
            Pattern.compile(
                    "addGroup\\(\"([a-z]+)\",[^;{}]*?\\)\\.(?:counter|gauge|histogram)\\(\"([A-Za-z]+)\"");

    @Test
    void queriesOnlyMetricsTheJobRegisters() throws Exception {
        JsonNode d =
                new ObjectMapper()
                        .readTree(
                                K8s.dir().resolve("monitoring/fedstream-dashboard.json").toFile());
        assertThat(d.path("title").asText()).isNotBlank();
        assertThat(d.path("uid").asText()).isNotBlank();
        Set<String> ids = new HashSet<>();
        Set<String> used = new HashSet<>();
        for (JsonNode panel : d.path("panels")) {
            assertThat(ids.add(panel.path("id").asText())).as("unique panel ids").isTrue();
            assertThat(panel.path("title").asText()).isNotBlank();
            assertThat(panel.path("targets").size()).as(panel.path("title").asText()).isPositive();
            for (JsonNode t : panel.path("targets")) {
                Matcher m = METRIC.matcher(t.path("expr").asText());
                boolean any = false;
                while (m.find()) {
                    used.add(m.group(1));
                    any = true;
                }
                assertThat(any).as(t.path("expr").asText()).isTrue();
            }
        }

        Set<String> registered = registeredOperatorMetrics();
        assertThat(registered)
                .contains(
                        "updatesReceived",
                        "updatesAccepted",
                        "reason_updatesRejected",
                        "versionsPublished",
                        "federation_currentVersion",
                        "staleness",
                        "roundDurationMs",
                        "contributorsPerRound");
        Set<String> operatorMetricsUsed = new HashSet<>();
        for (String name : used) {
            if (name.startsWith(OPERATOR_PREFIX)) {
                operatorMetricsUsed.add(name.substring(OPERATOR_PREFIX.length()));
            } else {
                // Flink's own job metrics (checkpoints, restarts)
                assertThat(name)
                        .isIn(
                                "flink_jobmanager_job_lastCheckpointDuration",
                                "flink_jobmanager_job_numberOfFailedCheckpoints",
                                "flink_jobmanager_job_numberOfCompletedCheckpoints",
                                "flink_jobmanager_job_numRestarts",
                                "flink_jobmanager_job_uptime");
            }
        }
        assertThat(operatorMetricsUsed).isEqualTo(registered);
        assertThat(used).contains("flink_jobmanager_job_lastCheckpointDuration");
        assertThat(used).contains("flink_jobmanager_job_numberOfFailedCheckpoints");
    }

    /**
     * The job's metric names as the Prometheus reporter spells them: {@code name}, or {@code
     * key_name} for a metric in a {@code addGroup(key, value)} group (the value becomes a label).
     */
    static Set<String> registeredOperatorMetrics() throws Exception {
        Path src = K8s.dir().resolve("../flink-jobs/src/main/java").normalize();
        Set<String> names = new HashSet<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(src)) {
            files = s.filter(p -> p.toString().endsWith(".java")).toList();
        }
        for (Path f : files) {
            String code = Files.readString(f).replaceAll("\\s+", "");
            Set<String> grouped = new HashSet<>();
            Matcher g = GROUPED.matcher(code);
            while (g.find()) {
                names.add(g.group(1) + "_" + g.group(2));
                grouped.add(g.group(2));
            }
            Matcher m = REGISTERED.matcher(code);
            while (m.find()) {
                if (!grouped.contains(m.group(1))) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }
}
