package io.fedstream.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The small subset of Kustomize the manifests under {@code k8s/} use, rendered the way {@code
 * kubectl kustomize} does, and nothing else: any other kustomization field is an error, so the
 * manifests cannot silently start to depend on a feature this renderer gets wrong.
 *
 * <ul>
 *   <li>{@code resources}: files (one or more YAML documents) and directories holding a {@code
 *       kustomization.yaml}, in order.
 *   <li>{@code patches} with {@code path} and an optional {@code target} ({@code group}, {@code
 *       version}, {@code kind}, {@code name}; exact matches). A patch file that is a YAML list is a
 *       JSON 6902 patch ({@code add}, {@code replace}, {@code remove}, {@code test}) and needs a
 *       target; otherwise it is a strategic-merge patch, targeting the resource with its own
 *       apiVersion, kind and name unless a target is given. Strategic-merge patches may not contain
 *       lists: on maps Kustomize's strategic merge is a plain recursive merge (null deletes), but
 *       its list semantics depend on the kind's schema (merge keys, or kyaml's guesses for custom
 *       resources), which this renderer does not model. Use a JSON 6902 patch to change a list.
 * </ul>
 */
public final class Kustomize {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> SUPPORTED_FIELDS =
            Set.of("apiVersion", "kind", "resources", "patches");

    private Kustomize() {}

    /** The resources of the kustomization in {@code dir}, patched, in output order. */
    public static List<Map<String, Object>> render(Path dir) {
        Path file = dir.resolve("kustomization.yaml");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no kustomization.yaml in " + dir);
        }
        Map<String, Object> k = asMap(readDocuments(file).get(0), file.toString());
        if (!"kustomize.config.k8s.io/v1beta1".equals(k.get("apiVersion"))
                || !"Kustomization".equals(k.get("kind"))) {
            throw new IllegalArgumentException(
                    file + ": not a kustomize.config.k8s.io/v1beta1 Kustomization");
        }
        for (String field : k.keySet()) {
            if (!SUPPORTED_FIELDS.contains(field)) {
                throw new IllegalArgumentException(
                        file + ": kustomization field '" + field + "' is not supported here");
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object r : list(k.get("resources"))) {
            Path p = dir.resolve((String) r).normalize();
            if (Files.isDirectory(p)) {
                out.addAll(render(p));
            } else {
                for (Object doc : readDocuments(p)) {
                    out.add(asMap(doc, p.toString()));
                }
            }
        }
        Set<String> ids = new HashSet<>();
        for (Map<String, Object> r : out) {
            if (!ids.add(id(r))) {
                throw new IllegalArgumentException(dir + ": duplicate resource " + id(r));
            }
        }
        for (Object entry : list(k.get("patches"))) {
            Map<String, Object> patch = asMap(entry, file + " patches");
            for (String field : patch.keySet()) {
                if (!field.equals("path") && !field.equals("target")) {
                    throw new IllegalArgumentException(
                            file + ": patch field '" + field + "' is not supported here");
                }
            }
            Path p = dir.resolve((String) patch.get("path")).normalize();
            Object body = readDocuments(p).get(0);
            Map<String, Object> target =
                    patch.get("target") == null ? null : asMap(patch.get("target"), p.toString());
            if (body instanceof List<?> ops) {
                if (target == null) {
                    throw new IllegalArgumentException(p + ": a JSON 6902 patch needs a target");
                }
                int applied = 0;
                for (int i = 0; i < out.size(); i++) {
                    if (matches(out.get(i), target)) {
                        out.set(i, Json6902.apply(out.get(i), ops));
                        applied++;
                    }
                }
                requireApplied(applied, p);
            } else {
                Map<String, Object> smp = asMap(body, p.toString());
                rejectLists(smp, p.toString(), "");
                Map<String, Object> t = target != null ? target : targetOf(smp);
                int applied = 0;
                for (int i = 0; i < out.size(); i++) {
                    if (matches(out.get(i), t)) {
                        Map<String, Object> patchBody = new LinkedHashMap<>(smp);
                        if (target != null) {
                            // a targeted patch's own identity does not rename the resource
                            patchBody.remove("metadata");
                            patchBody.remove("apiVersion");
                            patchBody.remove("kind");
                        }
                        out.set(i, merge(out.get(i), patchBody));
                        applied++;
                    }
                }
                requireApplied(applied, p);
            }
        }
        return out;
    }

    /** {@code group/version/Kind/name}. */
    public static String id(Map<String, Object> r) {
        return r.get("apiVersion") + "/" + r.get("kind") + "/" + name(r);
    }

    public static String name(Map<String, Object> r) {
        Object meta = r.get("metadata");
        return meta instanceof Map<?, ?> m ? (String) m.get("name") : null;
    }

    /** Every YAML document of a file (empty documents skipped). */
    public static List<Object> readDocuments(Path file) {
        try (YAMLParser parser = ((YAMLFactory) YAML.getFactory()).createParser(file.toFile())) {
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
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    static void requireApplied(int applied, Path patch) {
        if (applied == 0) {
            throw new IllegalArgumentException(patch + ": the patch matches no resource");
        }
    }

    private static Map<String, Object> targetOf(Map<String, Object> smp) {
        String apiVersion = (String) smp.get("apiVersion");
        Map<String, Object> t = new LinkedHashMap<>();
        int slash = apiVersion.indexOf('/');
        t.put("group", slash < 0 ? "" : apiVersion.substring(0, slash));
        t.put("version", apiVersion.substring(slash + 1));
        t.put("kind", smp.get("kind"));
        t.put("name", name(smp));
        return t;
    }

    static boolean matches(Map<String, Object> r, Map<String, Object> target) {
        for (String field : target.keySet()) {
            if (!Set.of("group", "version", "kind", "name").contains(field)) {
                throw new IllegalArgumentException("target field '" + field + "' is not supported");
            }
        }
        String apiVersion = (String) r.get("apiVersion");
        int slash = apiVersion.indexOf('/');
        String group = slash < 0 ? "" : apiVersion.substring(0, slash);
        String version = apiVersion.substring(slash + 1);
        return eqIfSet(target.get("group"), group)
                && eqIfSet(target.get("version"), version)
                && eqIfSet(target.get("kind"), r.get("kind"))
                && eqIfSet(target.get("name"), name(r));
    }

    private static boolean eqIfSet(Object wanted, Object actual) {
        return wanted == null || Objects.equals(wanted, actual);
    }

    private static void rejectLists(Object node, String file, String path) {
        if (node instanceof List<?>) {
            throw new IllegalArgumentException(
                    file
                            + ": strategic-merge patch has a list at "
                            + path
                            + "; use a JSON 6902 patch for lists");
        }
        if (node instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) {
                rejectLists(e.getValue(), file, path + "/" + e.getKey());
            }
        }
    }

    /** Recursive merge of maps; a null value in the patch deletes the key. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> merge(Map<String, Object> base, Map<String, Object> patch) {
        Map<String, Object> out = new LinkedHashMap<>(base);
        for (var e : patch.entrySet()) {
            Object v = e.getValue();
            Object old = out.get(e.getKey());
            if (v == null) {
                out.remove(e.getKey());
            } else if (v instanceof Map<?, ?> pm && old instanceof Map<?, ?> om) {
                out.put(e.getKey(), merge((Map<String, Object>) om, (Map<String, Object>) pm));
            } else {
                out.put(e.getKey(), Json6902.deepCopy(v));
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Object o, String where) {
        if (!(o instanceof Map<?, ?>)) {
            throw new IllegalArgumentException(where + ": expected a mapping");
        }
        return (Map<String, Object>) o;
    }

    private static List<?> list(Object o) {
        return o == null ? List.of() : (List<?>) o;
    }
}
