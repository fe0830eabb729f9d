package io.fedstream.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Every file under k8s/ parses; every overlay renders and binds to the published API classes. */
class ManifestsTest {

    static List<String> overlays = K8s.OVERLAYS;

    @Test
    void everyYamlAndJsonFileParses() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(K8s.dir())) {
            files =
                    s.filter(Files::isRegularFile)
                            .filter(p -> p.toString().matches(".*\\.(ya?ml|json)$"))
                            .toList();
        }
        assertThat(files).hasSizeGreaterThan(15);
        for (Path f : files) {
            assertThat(Kustomize.readDocuments(f)).as(f.toString()).isNotEmpty();
        }
    }

    @Test
    void theOverlaysAreTheOnlyEntryPoints() throws IOException {
        try (Stream<Path> s = Files.list(K8s.dir().resolve("overlays"))) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(K8s.OVERLAYS);
        }
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void everyRenderedResourceBindsWithoutUnknownFields(String overlay) {
        List<Map<String, Object>> rendered = K8s.render(overlay);
        assertThat(rendered).hasSizeGreaterThan(10);
        for (Map<String, Object> r : rendered) {
            Manifests.bind(r);
        }
    }

    @Test
    void theBaseAloneAlsoBinds() {
        for (Map<String, Object> r : Kustomize.render(K8s.dir().resolve("base"))) {
            Manifests.bind(r);
        }
    }

    @Test
    void bindingRejectsUnknownFields() {
        Map<String, Object> topic =
                Map.of(
                        "apiVersion",
                        "kafka.strimzi.io/v1",
                        "kind",
                        "KafkaTopic",
                        "metadata",
                        Map.of("name", "t"),
                        "spec",
                        Map.of("partitions", 1, "replicationFactor", 3));
        assertThatThrownBy(() -> Manifests.bind(topic)).hasMessageContaining("replicationFactor");
        Map<String, Object> container = Map.of("name", "c", "livenesProbe", Map.of());
        Map<String, Object> podSpec = Map.of("containers", List.of(container));
        Map<String, Object> deployment =
                Map.of(
                        "apiVersion",
                        "apps/v1",
                        "kind",
                        "Deployment",
                        "metadata",
                        Map.of("name", "d"),
                        "spec",
                        Map.of("template", Map.of("spec", podSpec)));
        assertThatThrownBy(() -> Manifests.bind(deployment)).hasMessageContaining("livenesProbe");
        Map<String, Object> flink =
                Map.of(
                        "apiVersion",
                        "flink.apache.org/v1beta1",
                        "kind",
                        "FlinkDeployment",
                        "metadata",
                        Map.of("name", "f"),
                        "spec",
                        Map.of("flinkVersion", "v2_2", "jobManger", Map.of()));
        assertThatThrownBy(() -> Manifests.bind(flink)).hasMessageContaining("jobManger");
        Map<String, Object> badVersion =
                Map.of(
                        "apiVersion",
                        "flink.apache.org/v1beta1",
                        "kind",
                        "FlinkDeployment",
                        "metadata",
                        Map.of("name", "f"),
                        "spec",
                        Map.of("flinkVersion", "v2.2"));
        assertThatThrownBy(() -> Manifests.bind(badVersion)).hasMessageContaining("v2.2");
    }
}
