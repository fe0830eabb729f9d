package io.fedstream.aggregation.robust;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** Builds {@link RobustRule}s from configuration and parses back what they describe. */
public final class RobustRules {
    private RobustRules() {}

    /**
     * The rule called {@code name} (case-insensitive) with its parameters:
     *
     * <ul>
     *   <li>{@code fedavg}: plain weighted mean, no parameters ({@link WeightedMean});
     *   <li>{@code norm-clipping}: {@code maxNorm} ({@link NormClipping});
     *   <li>{@code median}: no parameters ({@link CoordinateMedian});
     *   <li>{@code trimmed-mean}: {@code beta} ({@link TrimmedMean});
     *   <li>{@code multi-krum}: {@code f} and {@code m} ({@link MultiKrum}).
     * </ul>
     *
     * Unknown names, missing, unknown or malformed parameters fail with an {@link
     * IllegalArgumentException} that says what is expected. {@code params} may be null for none.
     */
    public static RobustRule of(String name, Map<String, String> params) {
        if (name == null) {
            throw new IllegalArgumentException("no aggregation rule named");
        }
        Map<String, String> p = params == null ? Map.of() : params;
        String n = name.strip().toLowerCase(Locale.ROOT);
        return switch (n) {
            case WeightedMean.NAME -> {
                expect(n, p, Set.of());
                yield new WeightedMean();
            }
            case NormClipping.NAME -> {
                expect(n, p, Set.of("maxNorm"));
                yield new NormClipping(number(n, p, "maxNorm"));
            }
            case CoordinateMedian.NAME -> {
                expect(n, p, Set.of());
                yield new CoordinateMedian();
            }
            case TrimmedMean.NAME -> {
                expect(n, p, Set.of("beta"));
                yield new TrimmedMean(number(n, p, "beta"));
            }
            case MultiKrum.NAME -> {
                expect(n, p, Set.of("f", "m"));
                yield new MultiKrum(integer(n, p, "f"), integer(n, p, "m"));
            }
            default ->
                    throw new IllegalArgumentException(
                            "unknown aggregation rule '"
                                    + name
                                    + "' (fedavg, norm-clipping, median, trimmed-mean,"
                                    + " multi-krum)");
        };
    }

    /** Parses what {@link RobustRule#describe()} wrote, e.g. {@code multi-krum(f=2,m=6)}. */
    public static RobustRule parse(String description) {
        String d = description.strip();
        int open = d.indexOf('(');
        Map<String, String> params = new TreeMap<>();
        if (open >= 0) {
            if (!d.endsWith(")")) {
                throw new IllegalArgumentException("not an aggregation rule: " + description);
            }
            String inner = d.substring(open + 1, d.length() - 1);
            for (String kv : inner.split(",")) {
                String[] parts = kv.split("=", 2);
                if (parts.length != 2 || params.put(parts[0].strip(), parts[1].strip()) != null) {
                    throw new IllegalArgumentException("not an aggregation rule: " + description);
                }
            }
        }
        return of(open < 0 ? d : d.substring(0, open), params);
    }

    private static void expect(String rule, Map<String, String> p, Set<String> keys) {
        for (String k : p.keySet()) {
            if (!keys.contains(k)) {
                throw new IllegalArgumentException(
                        rule
                                + " has no parameter '"
                                + k
                                + "'"
                                + (keys.isEmpty()
                                        ? " (it takes none)"
                                        : " (expected " + new TreeSet<>(keys) + ")"));
            }
        }
        for (String k : new TreeSet<>(keys)) {
            if (p.get(k) == null) {
                throw new IllegalArgumentException(rule + " needs parameter '" + k + "'");
            }
        }
    }

    private static double number(String rule, Map<String, String> p, String key) {
        String v = p.get(key).strip();
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    rule + " parameter '" + key + "' must be a number, not '" + v + "'");
        }
    }

    private static int integer(String rule, Map<String, String> p, String key) {
        String v = p.get(key).strip();
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    rule + " parameter '" + key + "' must be an integer, not '" + v + "'");
        }
    }
}
