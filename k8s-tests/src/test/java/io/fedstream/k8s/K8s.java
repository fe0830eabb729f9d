package io.fedstream.k8s;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Where the manifests are, and small helpers to read rendered resources. */
final class K8s {
    private K8s() {}

    static final List<String> OVERLAYS = List.of("dev", "production");

    static Path dir() {
        return Path.of(
                        Objects.requireNonNull(
                                System.getProperty("fedstream.k8s.dir"),
                                "system property fedstream.k8s.dir (set by the pom)"))
                .toAbsolutePath()
                .normalize();
    }

    static String projectVersion() {
        return Objects.requireNonNull(System.getProperty("fedstream.project.version"));
    }

    static List<Map<String, Object>> render(String overlay) {
        return Kustomize.render(dir().resolve("overlays").resolve(overlay));
    }

    static <T> List<T> bound(List<Map<String, Object>> rendered, Class<T> type) {
        return rendered.stream()
                .filter(r -> Manifests.modelClass(r) == type)
                .map(r -> Manifests.bind(r, type))
                .toList();
    }

    static <T> T one(List<Map<String, Object>> rendered, Class<T> type) {
        List<T> all = bound(rendered, type);
        if (all.size() != 1) {
            throw new AssertionError(
                    "expected one " + type.getSimpleName() + ", got " + all.size());
        }
        return all.get(0);
    }
}
