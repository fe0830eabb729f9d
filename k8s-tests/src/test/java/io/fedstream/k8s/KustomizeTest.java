package io.fedstream.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The renderer's few features behave like Kustomize's, and everything else is refused. */
class KustomizeTest {
    @TempDir Path dir;

    private void write(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text);
    }

    private static final String KUSTOMIZATION =
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";

    private void base() throws Exception {
        write("base/kustomization.yaml", KUSTOMIZATION + "resources:\n  - cm.yaml\n");
        write(
                "base/cm.yaml",
                """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: a
                data:
                  x: "1"
                  y: "2"
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: b
                data:
                  list: "l"
                """);
    }

    @Test
    void strategicMergeOnMapsMergesAndNullDeletes() throws Exception {
        base();
        write(
                "o/kustomization.yaml",
                KUSTOMIZATION + "resources:\n  - ../base\npatches:\n  - path: p.yaml\n");
        write(
                "o/p.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"9\"\n  y: null\n  z: \"3\"\n");
        List<Map<String, Object>> out = Kustomize.render(dir.resolve("o"));
        assertThat(out).hasSize(2);
        assertThat(out.get(0).get("data")).isEqualTo(Map.of("x", "9", "z", "3"));
        assertThat(out.get(1).get("data")).isEqualTo(Map.of("list", "l"));
    }

    @Test
    void json6902AppliesToEveryTargetAndTestsGuardIt() throws Exception {
        base();
        write(
                "o/kustomization.yaml",
                KUSTOMIZATION
                        + "resources:\n  - ../base\npatches:\n  - path: p.yaml\n    target:\n      version: v1\n      kind: ConfigMap\n");
        write("o/p.yaml", "- op: add\n  path: /data/new\n  value: n\n");
        List<Map<String, Object>> out = Kustomize.render(dir.resolve("o"));
        assertThat(out)
                .allSatisfy(
                        r -> assertThat(((Map<?, ?>) r.get("data")).containsKey("new")).isTrue());

        write(
                "o/p.yaml",
                "- op: test\n  path: /data/x\n  value: \"1\"\n- op: remove\n  path: /data/x\n");
        assertThatThrownBy(() -> Kustomize.render(dir.resolve("o")))
                .hasMessageContaining("no such path element x"); // b has no x
        write(
                "o/kustomization.yaml",
                KUSTOMIZATION
                        + "resources:\n  - ../base\npatches:\n  - path: p.yaml\n    target:\n      kind: ConfigMap\n      name: a\n");
        assertThat(Kustomize.render(dir.resolve("o")).get(0).get("data"))
                .isEqualTo(Map.of("y", "2"));
        write("o/p.yaml", "- op: test\n  path: /data/x\n  value: \"2\"\n");
        assertThatThrownBy(() -> Kustomize.render(dir.resolve("o")))
                .hasMessageContaining("test failed");
    }

    @Test
    void refusesWhatItDoesNotModel() throws Exception {
        base();
        write("o/kustomization.yaml", KUSTOMIZATION + "resources:\n  - ../base\nnamePrefix: x-\n");
        assertThatThrownBy(() -> Kustomize.render(dir.resolve("o")))
                .hasMessageContaining("namePrefix");

        write(
                "o/kustomization.yaml",
                KUSTOMIZATION + "resources:\n  - ../base\npatches:\n  - path: p.yaml\n");
        write(
                "o/p.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: [1]\n");
        assertThatThrownBy(() -> Kustomize.render(dir.resolve("o"))).hasMessageContaining("list");

        write("o/p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nope\ndata: {}\n");
        assertThatThrownBy(() -> Kustomize.render(dir.resolve("o")))
                .hasMessageContaining("matches no resource");

        write("o/p.yaml", "- op: add\n  path: /data/q\n  value: 1\n");
        assertThatThrownBy(() -> Kustomize.render(dir.resolve("o")))
                .hasMessageContaining("needs a target");

        write(
                "o/kustomization.yaml",
                KUSTOMIZATION + "resources:\n  - ../base\n  - ../base/cm.yaml\n");
        assertThatThrownBy(() -> Kustomize.render(dir.resolve("o")))
                .hasMessageContaining("duplicate resource");
    }
}
