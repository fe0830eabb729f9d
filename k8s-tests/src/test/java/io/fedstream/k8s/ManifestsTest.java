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
            assertThat(K8s.readDocuments(f)).as(f.toString()).isNotEmpty();
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
        for (Map<String, Object> r : K8s.kustomize(K8s.dir().resolve("base"))) {
            Manifests.bind(r);
        }
    }

    private static Map<String, Object> manifest(
            String apiVersion, String kind, String name, Map<String, Object> spec) {
        return Map.of(
                "apiVersion",
                apiVersion,
                "kind",
                kind,
                "metadata",
                Map.of("name", name),
                "spec",
                spec);
    }

    @Test
    void bindingRejectsUnknownFields() {
        Map<String, Object> topic =
                manifest(
                        "kafka.strimzi.io/v1",
                        "KafkaTopic",
                        "t",
                        Map.of("partitions", 1, "replicationFactor", 3));
        assertThatThrownBy(() -> Manifests.bind(topic)).hasMessageContaining("replicationFactor");
        Map<String, Object> container = Map.of("name", "c", "livenesProbe", Map.of());
        Map<String, Object> podSpec = Map.of("containers", List.of(container));
        Map<String, Object> deployment =
                manifest("apps/v1", "Deployment", "d", Map.of("template", Map.of("spec", podSpec)));
        assertThatThrownBy(() -> Manifests.bind(deployment)).hasMessageContaining("livenesProbe");
        Map<String, Object> flink =
                manifest(
                        "flink.apache.org/v1beta1",
                        "FlinkDeployment",
                        "f",
                        Map.of("flinkVersion", "v2_2", "jobManger", Map.of()));
        assertThatThrownBy(() -> Manifests.bind(flink)).hasMessageContaining("jobManger");
        Map<String, Object> badVersion =
                manifest(
                        "flink.apache.org/v1beta1",
                        "FlinkDeployment",
                        "f",
                        Map.of("flinkVersion", "v2.2"));
        assertThatThrownBy(() -> Manifests.bind(badVersion)).hasMessageContaining("v2.2");
    }
}
