package io.fedstream.worker.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Sizes and per-site label histograms of a {@link Partition} over one field, printable as a small
 * table. Labels are ordered by overall frequency, most frequent first, ties by name; a missing
 * label counts as {@value ByField#MISSING}.
 */
public final class PartitionStats {
    /** Label columns shown by {@link #table()}; the rest are summed into an "other" column. */
    public static final int DEFAULT_LABEL_COLUMNS = 8;

    private final String labelField;
    private final List<String> siteNames;
    private final int[] sizes;
    private final List<String> labels;
    private final int[][] counts;

    private PartitionStats(
            String labelField,
            List<String> siteNames,
            int[] sizes,
            List<String> labels,
            int[][] counts) {
        this.labelField = labelField;
        this.siteNames = siteNames;
        this.sizes = sizes;
        this.labels = labels;
        this.counts = counts;
    }

    /** The statistics of a partition over a label field. */
    public static PartitionStats of(Partition partition, String labelField) {
        String field = InstructionExample.canonicalField(labelField);
        Map<String, Integer> total = new HashMap<>();
        for (Site s : partition.sites()) {
            for (InstructionExample e : s.examples()) {
                total.merge(labelOf(e, field), 1, Integer::sum);
            }
        }
        List<String> labels = new ArrayList<>(total.keySet());
        labels.sort(
                Comparator.<String>comparingInt(l -> -total.get(l))
                        .thenComparing(Comparator.naturalOrder()));
        Map<String, Integer> index = new HashMap<>();
        for (String l : labels) {
            index.put(l, index.size());
        }
        int k = partition.numSites();
        int[][] counts = new int[k][labels.size()];
        for (int s = 0; s < k; s++) {
            for (InstructionExample e : partition.sites().get(s).examples()) {
                counts[s][index.get(labelOf(e, field))]++;
            }
        }
        return new PartitionStats(
                field, partition.names(), partition.sizes(), List.copyOf(labels), counts);
    }

    private static String labelOf(InstructionExample e, String field) {
        String v = e.label(field);
        return v == null ? ByField.MISSING : v;
    }

    /** The label field (canonical name). */
    public String labelField() {
        return labelField;
    }

    /** The site names, in the partition's order. */
    public List<String> siteNames() {
        return siteNames;
    }

    /** The site sizes. */
    public int[] sizes() {
        return sizes.clone();
    }

    /** The distinct labels, most frequent first. */
    public List<String> labels() {
        return labels;
    }

    /** {@code counts()[site][label]}: label histograms, labels indexed as in {@link #labels()}. */
    public int[][] counts() {
        int[][] c = new int[counts.length][];
        for (int i = 0; i < c.length; i++) {
            c[i] = counts[i].clone();
        }
        return c;
    }

    /** The total number of examples. */
    public int total() {
        int n = 0;
        for (int s : sizes) {
            n += s;
        }
        return n;
    }

    /** How many distinct labels the site has. */
    public int distinctLabels(int site) {
        int d = 0;
        for (int c : counts[site]) {
            d += c > 0 ? 1 : 0;
        }
        return d;
    }

    /** The share of the site's most frequent label (0 for an empty site). */
    public double topLabelShare(int site) {
        int max = 0;
        for (int c : counts[site]) {
            max = Math.max(max, c);
        }
        return sizes[site] == 0 ? 0 : (double) max / sizes[site];
    }

    /** The mean over non-empty sites of {@link #topLabelShare}: 1 means one label per site. */
    public double meanTopLabelShare() {
        double sum = 0;
        int n = 0;
        for (int s = 0; s < sizes.length; s++) {
            if (sizes[s] > 0) {
                sum += topLabelShare(s);
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }

    /** The table with {@value #DEFAULT_LABEL_COLUMNS} label columns. */
    public String table() {
        return table(DEFAULT_LABEL_COLUMNS);
    }

    /**
     * A printable table: one row per site with its size, share of all examples, number of distinct
     * labels, share of its top label, and counts of the {@code maxLabelColumns} most frequent
     * labels (the rest summed in an "other" column); a total row at the end.
     */
    public String table(int maxLabelColumns) {
        int shown = Math.min(Math.max(0, maxLabelColumns), labels.size());
        boolean other = shown < labels.size();
        int total = total();

        List<String> header = new ArrayList<>(List.of("site", "n", "share", "labels", "top"));
        header.addAll(labels.subList(0, shown));
        if (other) {
            header.add("other");
        }
        List<List<String>> rows = new ArrayList<>();
        int[] colTotals = new int[labels.size()];
        for (int s = 0; s < sizes.length; s++) {
            List<String> row = new ArrayList<>();
            row.add(siteNames.get(s));
            row.add(Integer.toString(sizes[s]));
            row.add(percent(sizes[s], total));
            row.add(Integer.toString(distinctLabels(s)));
            row.add(String.format(Locale.ROOT, "%.0f%%", 100 * topLabelShare(s)));
            int rest = 0;
            for (int l = 0; l < labels.size(); l++) {
                colTotals[l] += counts[s][l];
                if (l < shown) {
                    row.add(Integer.toString(counts[s][l]));
                } else {
                    rest += counts[s][l];
                }
            }
            if (other) {
                row.add(Integer.toString(rest));
            }
            rows.add(row);
        }
        List<String> last = new ArrayList<>();
        last.add("total");
        last.add(Integer.toString(total));
        last.add(percent(total, total));
        last.add(Integer.toString(labels.size()));
        int maxLabel = 0;
        for (int c : colTotals) {
            maxLabel = Math.max(maxLabel, c);
        }
        last.add(String.format(Locale.ROOT, "%.0f%%", total == 0 ? 0.0 : 100.0 * maxLabel / total));
        int rest = 0;
        for (int l = 0; l < labels.size(); l++) {
            if (l < shown) {
                last.add(Integer.toString(colTotals[l]));
            } else {
                rest += colTotals[l];
            }
        }
        if (other) {
            last.add(Integer.toString(rest));
        }

        int[] width = new int[header.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = header.get(c).length();
            for (List<String> r : rows) {
                width[c] = Math.max(width[c], r.get(c).length());
            }
            width[c] = Math.max(width[c], last.get(c).length());
        }
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "%d examples in %d sites; labels: %s (%d values); top: share of the site's"
                                + " most frequent label%n",
                        total,
                        sizes.length,
                        labelField,
                        labels.size()));
        appendRow(sb, header, width);
        int lineWidth = 0;
        for (int w : width) {
            lineWidth += w + 2;
        }
        sb.append("-".repeat(lineWidth - 2)).append(System.lineSeparator());
        for (List<String> r : rows) {
            appendRow(sb, r, width);
        }
        sb.append("-".repeat(lineWidth - 2)).append(System.lineSeparator());
        appendRow(sb, last, width);
        return sb.toString();
    }

    private static String percent(int part, int whole) {
        return String.format(Locale.ROOT, "%.1f%%", whole == 0 ? 0.0 : 100.0 * part / whole);
    }

    private static void appendRow(StringBuilder sb, List<String> cells, int[] width) {
        for (int c = 0; c < cells.size(); c++) {
            if (c > 0) {
                sb.append("  ");
            }
            String cell = cells.get(c);
            String pad = " ".repeat(width[c] - cell.length());
            sb.append(c == 0 ? cell + pad : pad + cell); // names left, numbers right
        }
        int end = sb.length();
        while (end > 0 && sb.charAt(end - 1) == ' ') {
            end--;
        }
        sb.setLength(end);
        sb.append(System.lineSeparator());
    }

    @Override
    public String toString() {
        return table();
    }
}
