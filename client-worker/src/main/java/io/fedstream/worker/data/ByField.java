package io.fedstream.worker.data;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Natural federated partitioning: one site per distinct value of a field (e.g. MedQuAD's {@code
 * source} website, or {@code category}), named after the value. Examples without a value go to a
 * site named {@value #MISSING}.
 *
 * <p>Sites are ordered by size, largest first, ties by name; within a site examples keep their
 * input order. The result is fully determined by the input (no randomness). With {@link #top(int)}
 * only the largest groups become sites; the examples of the others are dropped, or gathered into
 * one extra site with {@link #othersInto(String)}.
 */
public final class ByField {
    /** The site name for examples with no value in the field. */
    public static final String MISSING = "(none)";

    private final String field;
    private final int top;
    private final String others;

    private ByField(String field, int top, String others) {
        this.field = InstructionExample.canonicalField(field);
        this.top = top;
        this.others = others;
    }

    /**
     * One site per distinct value of {@code field} (any name {@link InstructionExample#label}
     * takes).
     */
    public static ByField of(String field) {
        return new ByField(field, Integer.MAX_VALUE, null);
    }

    /** Keeps only the {@code n} largest groups as sites. */
    public ByField top(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("top must be positive: " + n);
        }
        return new ByField(field, n, others);
    }

    /** Gathers the examples of groups beyond {@link #top(int)} into one site with this name. */
    public ByField othersInto(String siteName) {
        return new ByField(field, top, Objects.requireNonNull(siteName, "siteName"));
    }

    /** The field the sites are named after (canonical name). */
    public String field() {
        return field;
    }

    /** Splits the examples into sites. */
    public Partition partition(Collection<InstructionExample> examples) {
        Map<String, List<InstructionExample>> groups = new LinkedHashMap<>();
        for (InstructionExample e : examples) {
            String v = e.label(field);
            groups.computeIfAbsent(v == null ? MISSING : v, k -> new ArrayList<>()).add(e);
        }
        List<Map.Entry<String, List<InstructionExample>>> ordered =
                new ArrayList<>(groups.entrySet());
        ordered.sort(
                Comparator.<Map.Entry<String, List<InstructionExample>>>comparingInt(
                                g -> -g.getValue().size())
                        .thenComparing(Map.Entry::getKey));
        List<Site> sites = new ArrayList<>();
        Set<String> restKeys = new HashSet<>();
        for (int i = 0; i < ordered.size(); i++) {
            Map.Entry<String, List<InstructionExample>> g = ordered.get(i);
            if (i < top) {
                sites.add(new Site(g.getKey(), g.getValue()));
            } else {
                restKeys.add(g.getKey());
            }
        }
        if (others != null && !restKeys.isEmpty()) {
            if (groups.containsKey(others) && !restKeys.contains(others)) {
                throw new IllegalArgumentException(
                        "the others site name '"
                                + others
                                + "' is also a site (a value of "
                                + field
                                + ")");
            }
            List<InstructionExample> rest = new ArrayList<>();
            for (InstructionExample e : examples) { // input order
                String v = e.label(field);
                if (restKeys.contains(v == null ? MISSING : v)) {
                    rest.add(e);
                }
            }
            sites.add(new Site(others, rest));
        }
        return new Partition(sites);
    }
}
