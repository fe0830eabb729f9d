package io.fedstream.worker.data;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Synthetic non-IID partitioning by label skew: the examples of every value of a label field (e.g.
 * {@code category}) are spread over {@code numSites} sites in proportions drawn from a symmetric
 * Dirichlet with concentration {@code alpha} (Hsu, Qi and Brown, 2019). Small alpha gives each site
 * few dominant labels; large alpha approaches an IID split. Delegates to {@link
 * DirichletPartitioner} after numbering the distinct labels in sorted order (a missing label is the
 * label {@value ByField#MISSING}).
 *
 * <p>Every example goes to exactly one site; the result is a function of the examples (in their
 * order), the settings and the seed. Sites are named {@code site-0}, {@code site-1}, ... (zero
 * padded to equal width), and keep their examples in input order.
 */
public final class DirichletSplit {
    private final String field;
    private final int numSites;
    private final double alpha;
    private final int minPerSite;

    private DirichletSplit(String field, int numSites, double alpha, int minPerSite) {
        if (numSites <= 0) {
            throw new IllegalArgumentException("numSites must be positive: " + numSites);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha must be positive and finite: " + alpha);
        }
        if (minPerSite < 0) {
            throw new IllegalArgumentException("minPerSite must be >= 0: " + minPerSite);
        }
        this.field = InstructionExample.canonicalField(field);
        this.numSites = numSites;
        this.alpha = alpha;
        this.minPerSite = minPerSite;
    }

    /** A split over {@code labelField} into {@code numSites} sites with concentration alpha. */
    public static DirichletSplit of(String labelField, int numSites, double alpha) {
        return new DirichletSplit(labelField, numSites, alpha, 1);
    }

    /**
     * Redraws (from the same seeded stream) until every site has at least this many examples;
     * default 1.
     */
    public DirichletSplit minPerSite(int n) {
        return new DirichletSplit(field, numSites, alpha, n);
    }

    /** The label field (canonical name). */
    public String field() {
        return field;
    }

    /** The sorted distinct values of a field, a missing value as {@value ByField#MISSING}. */
    public static List<String> labels(List<InstructionExample> examples, String field) {
        String f = InstructionExample.canonicalField(field);
        TreeSet<String> set = new TreeSet<>();
        for (InstructionExample e : examples) {
            set.add(labelOf(e, f));
        }
        return new ArrayList<>(set);
    }

    /** Splits the examples among the sites. */
    public Partition partition(List<InstructionExample> examples, long seed) {
        List<String> labels = labels(examples, field);
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("no examples to partition");
        }
        Map<String, Integer> index = new HashMap<>();
        for (String l : labels) {
            index.put(l, index.size());
        }
        int[] y = new int[examples.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = index.get(labelOf(examples.get(i), field));
        }
        int[][] parts =
                DirichletPartitioner.partition(y, labels.size(), numSites, alpha, minPerSite, seed);
        int width = String.valueOf(numSites - 1).length();
        List<Site> sites = new ArrayList<>(numSites);
        for (int s = 0; s < numSites; s++) {
            List<InstructionExample> members = new ArrayList<>(parts[s].length);
            for (int i : parts[s]) { // ascending: input order
                members.add(examples.get(i));
            }
            sites.add(new Site(String.format("site-%0" + width + "d", s), members));
        }
        return new Partition(sites);
    }

    private static String labelOf(InstructionExample e, String field) {
        String v = e.label(field);
        return v == null ? ByField.MISSING : v;
    }
}
