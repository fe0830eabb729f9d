package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.prompt.PromptOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.junit.jupiter.api.Test;

/**
 * The README's configuration reference is the options classes, row for row: every job option is
 * documented with its real default and description, and the README lists no option the job does not
 * have (as the Flink Kubernetes Operator's {@code ConfigOptionsDocsCompletenessITCase} does for its
 * docs). On a failure, paste {@code ./fedstream job --help-config} (or {@code prompt-job
 * --help-config}) into the README.
 */
class ConfigDocsCompletenessTest {

    @Test
    void theReadmesAdapterJobTableIsFedStreamOptions() throws IOException {
        assertThat(readmeTable("| `fedstream.kafka.bootstrap-servers`"))
                .containsExactlyElementsOf(rows(FedStreamOptions.all()));
    }

    @Test
    void theReadmesPromptJobTableIsPromptOptions() throws IOException {
        assertThat(readmeTable("| `fedstream.prompt."))
                .containsExactlyElementsOf(rows(PromptOptions.all()));
    }

    @Test
    void everyDocumentedKeyStartsAFedStreamRowOnlyOnce() throws IOException {
        List<String> keys = new ArrayList<>();
        for (String line : readme()) {
            if (line.startsWith("| `fedstream.")) {
                keys.add(line.substring(3, line.indexOf('`', 3)));
            }
        }
        List<String> options = new ArrayList<>();
        FedStreamOptions.all().forEach(o -> options.add(o.key()));
        PromptOptions.all().forEach(o -> options.add(o.key()));
        assertThat(keys).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(options);
    }

    /** The rows of {@code --help-config}'s table (without its header). */
    private static List<String> rows(List<ConfigOption<?>> options) {
        List<String> lines = new ArrayList<>(LocalJobCommand.configTable(options).lines().toList());
        assertThat(lines.subList(0, 2))
                .containsExactly("| key | default | description |", "|---|---|---|");
        return lines.subList(2, lines.size());
    }

    /** The README's table whose first row starts with {@code firstRowPrefix}, up to its end. */
    private static List<String> readmeTable(String firstRowPrefix) throws IOException {
        List<String> lines = readme();
        int start = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(firstRowPrefix)) {
                start = i;
                break;
            }
        }
        assertThat(start).as("README row starting %s", firstRowPrefix).isNotNegative();
        assertThat(lines.subList(start - 2, start))
                .as("the table's header")
                .containsExactly("| key | default | description |", "|---|---|---|");
        int end = start;
        while (end < lines.size() && lines.get(end).startsWith("|")) {
            end++;
        }
        return lines.subList(start, end);
    }

    private static List<String> readme() throws IOException {
        Path readme = Path.of("..", "README.md");
        assertThat(readme).exists();
        return Files.readAllLines(readme);
    }
}
