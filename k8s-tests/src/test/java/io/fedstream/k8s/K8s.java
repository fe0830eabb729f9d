package io.fedstream.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * Where the manifests are, their rendering by the real {@code kubectl kustomize}, and small helpers
 * to read rendered resources.
 *
 * <p>Rendering needs {@code kubectl} on the PATH with Kustomize v4 or later (kubectl 1.21+; the
 * overlays list directories under {@code resources} and use {@code patches}). Where it is missing
 * or older, the tests that render are skipped with a message saying so: Debian 12's own {@code
 * kubernetes-client} package is kubectl 1.20 with Kustomize v2.0.3, which cannot render them
 * (docs/operations.md#kubernetes).
 */
final class K8s {
    private K8s() {}

    static final List<String> OVERLAYS = List.of("dev", "production");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern KUSTOMIZE_VERSION =
            Pattern.compile("Kustomize Version: v(\\d+)\\.");
    private static final Map<Path, List<Map<String, Object>>> RENDERED = new ConcurrentHashMap<>();
    private static volatile String unusableKubectl;

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

    /** {@code kubectl kustomize k8s/overlays/<overlay>}, parsed. */
    static List<Map<String, Object>> render(String overlay) {
        return kustomize(dir().resolve("overlays").resolve(overlay));
    }

    /**
     * {@code kubectl kustomize dir}, parsed (cached: the manifests do not change during a run);
     * skips the calling test where no usable kubectl is installed.
     */
    static List<Map<String, Object>> kustomize(Path dir) {
        String why = unusableKubectl();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        return RENDERED.computeIfAbsent(
                dir.normalize(),
                d -> {
                    List<Map<String, Object>> out = new ArrayList<>();
                    for (Object doc : documents(run("kubectl", "kustomize", d.toString()))) {
                        out.add(asMap(doc, d.toString()));
                    }
                    return List.copyOf(out);
                });
    }

    /** Why kubectl cannot render the overlays here, or null where it can. */
    static synchronized String unusableKubectl() {
        if (unusableKubectl == null) {
            String version;
            try {
                version = run("kubectl", "version", "--client");
            } catch (IllegalStateException e) {
                return unusableKubectl =
                        "no usable kubectl on the PATH ("
                                + e.getMessage()
                                + "): install kubectl 1.21 or later to check the Kubernetes"
                                + " manifests";
            }
            Matcher m = KUSTOMIZE_VERSION.matcher(version);
            unusableKubectl =
                    m.find() && Integer.parseInt(m.group(1)) >= 4
                            ? ""
                            : "kubectl's Kustomize is older than v4 ("
                                    + version.strip().replace('\n', ' ')
                                    + "): it cannot render the overlays (Debian 12's"
                                    + " kubernetes-client is kubectl 1.20); install kubectl 1.21"
                                    + " or later";
        }
        return unusableKubectl.isEmpty() ? null : unusableKubectl;
    }

    private static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
            byte[] out;
            byte[] err;
            try (InputStream o = p.getInputStream();
                    InputStream e = p.getErrorStream()) {
                ByteArrayOutputStream errBuf = new ByteArrayOutputStream();
                Thread drain = new Thread(() -> copy(e, errBuf));
                drain.start();
                out = o.readAllBytes();
                drain.join();
                err = errBuf.toByteArray();
            }
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(
                        String.join(" ", command)
                                + " failed: "
                                + new String(err, StandardCharsets.UTF_8).strip());
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(String.join(" ", command) + " interrupted", e);
        }
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try {
            in.transferTo(out);
        } catch (IOException ignored) {
            // the process ended; what was read is the message
        }
    }

    /** Every YAML document of a file (empty documents skipped). */
    static List<Object> readDocuments(Path file) {
        try {
            return documents(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    private static List<Object> documents(String yaml) {
        try (YAMLParser parser = ((YAMLFactory) YAML.getFactory()).createParser(yaml)) {
            List<Object> docs = new ArrayList<>();
            var it = YAML.readValues(parser, Object.class);
            while (it.hasNext()) {
                Object doc = it.next();
                if (doc != null) {
                    docs.add(doc);
                }
            }
            return docs;
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /** {@code apiVersion/kind/name}. */
    static String id(Map<String, Object> r) {
        return r.get("apiVersion") + "/" + r.get("kind") + "/" + name(r);
    }

    static String name(Map<String, Object> r) {
        return r.get("metadata") instanceof Map<?, ?> m ? (String) m.get("name") : null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o, String where) {
        if (!(o instanceof Map<?, ?>)) {
            throw new IllegalArgumentException(where + ": expected a mapping");
        }
        return (Map<String, Object>) o;
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
