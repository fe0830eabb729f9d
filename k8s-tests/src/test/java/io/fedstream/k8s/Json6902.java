package io.fedstream.k8s;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** JSON Patch (RFC 6902) operations add, replace, remove and test on YAML trees. */
final class Json6902 {
    private Json6902() {}

    @SuppressWarnings("unchecked")
    static Map<String, Object> apply(Map<String, Object> doc, List<?> ops) {
        Map<String, Object> out = (Map<String, Object>) deepCopy(doc);
        for (Object o : ops) {
            Map<String, Object> op = Kustomize.asMap(o, "JSON 6902 operation");
            String kind = (String) op.get("op");
            List<String> path = pointer((String) op.get("path"));
            String last = path.get(path.size() - 1);
            Object parent = resolve(out, path.subList(0, path.size() - 1));
            switch (kind) {
                case "test" -> {
                    Object actual = get(parent, last);
                    if (!Objects.equals(actual, op.get("value"))) {
                        throw new IllegalArgumentException(
                                "test failed at " + op.get("path") + ": " + actual);
                    }
                }
                case "replace" -> {
                    get(parent, last); // must exist
                    set(parent, last, deepCopy(op.get("value")), false);
                }
                case "add" -> set(parent, last, deepCopy(op.get("value")), true);
                case "remove" -> {
                    get(parent, last);
                    if (parent instanceof Map<?, ?> m) {
                        m.remove(last);
                    } else {
                        ((List<Object>) parent).remove(Integer.parseInt(last));
                    }
                }
                default -> throw new IllegalArgumentException("unsupported op " + kind);
            }
        }
        return out;
    }

    private static List<String> pointer(String p) {
        if (p == null || !p.startsWith("/")) {
            throw new IllegalArgumentException("bad JSON pointer " + p);
        }
        List<String> parts = new ArrayList<>();
        for (String s : p.substring(1).split("/", -1)) {
            parts.add(s.replace("~1", "/").replace("~0", "~"));
        }
        return parts;
    }

    private static Object resolve(Object node, List<String> path) {
        for (String s : path) {
            node = get(node, s);
        }
        return node;
    }

    private static Object get(Object node, String key) {
        if (node instanceof Map<?, ?> m) {
            if (!m.containsKey(key)) {
                throw new IllegalArgumentException("no such path element " + key);
            }
            return m.get(key);
        }
        if (node instanceof List<?> l) {
            int i = Integer.parseInt(key);
            if (i < 0 || i >= l.size()) {
                throw new IllegalArgumentException("index out of range " + key);
            }
            return l.get(i);
        }
        throw new IllegalArgumentException("cannot descend into a scalar at " + key);
    }

    @SuppressWarnings("unchecked")
    private static void set(Object parent, String key, Object value, boolean insert) {
        if (parent instanceof Map<?, ?> m) {
            ((Map<String, Object>) m).put(key, value);
        } else if (parent instanceof List<?> l) {
            List<Object> list = (List<Object>) l;
            if (insert) {
                list.add(key.equals("-") ? list.size() : Integer.parseInt(key), value);
            } else {
                list.set(Integer.parseInt(key), value);
            }
        } else {
            throw new IllegalArgumentException("cannot set " + key + " on a scalar");
        }
    }

    @SuppressWarnings("unchecked")
    static Object deepCopy(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> c = new LinkedHashMap<>();
            m.forEach((k, v) -> c.put((String) k, deepCopy(v)));
            return c;
        }
        if (o instanceof List<?> l) {
            List<Object> c = new ArrayList<>();
            l.forEach(v -> c.add(deepCopy(v)));
            return c;
        }
        return o;
    }
}
