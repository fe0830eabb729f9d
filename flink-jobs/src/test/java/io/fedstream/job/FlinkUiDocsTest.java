package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.job.adapter.AggregationJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * The README's "Watching it in the Flink UI" lists the tasks the Flink UI shows: the vertices of
 * the job graph the production job ({@link AggregationJob.Io#kafka}) builds, named exactly so.
 */
class FlinkUiDocsTest {

    static List<String> vertexNames() {
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, "localhost:1");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(Fixtures.SPEC), AggregationJob.Io.kafka(conf));
        JobGraph graph = env.getStreamGraph().getJobGraph();
        List<String> names = new ArrayList<>();
        for (JobVertex v : graph.getVertices()) {
            names.add(v.getName());
        }
        return names;
    }

    static List<String> readmeTasks() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int start = readme.indexOf("## Watching it in the Flink UI");
        assertThat(start).as("README section").isNotNegative();
        int end = readme.indexOf("\n## ", start + 1);
        String section = readme.substring(start, end < 0 ? readme.length() : end);
        List<String> tasks = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\| `([^`]+)` \\|").matcher(section);
        while (m.find()) {
            tasks.add(m.group(1));
        }
        return tasks;
    }

    @Test
    void readmeListsTheTasksOfTheJobGraph() throws Exception {
        List<String> vertices = vertexNames();
        assertThat(readmeTasks())
                .as("README tasks vs job graph vertices %s", vertices)
                .containsExactlyInAnyOrderElementsOf(vertices);
    }
}
