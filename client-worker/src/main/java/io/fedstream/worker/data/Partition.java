package io.fedstream.worker.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Examples split among named federated sites, as made by {@link ByField} or {@link DirichletSplit}.
 * Immutable; {@link #sample} and {@link #trainTestSplit} return new partitions.
 *
 * <p>Randomised operations seed each site's stream from the base seed and the site's name, so a
 * site's result does not depend on which other sites are present.
 */
public record Partition(List<Site> sites) {

    public Partition {
        sites = List.copyOf(sites);
        Set<String> names = new HashSet<>();
        for (Site s : sites) {
            if (!names.add(s.name())) {
                throw new IllegalArgumentException("duplicate site name '" + s.name() + "'");
            }
        }
    }

    /** The train and test partitions made by {@link #trainTestSplit}; same sites, same order. */
    public record TrainTest(Partition train, Partition test) {}

    /** The number of sites. */
    public int numSites() {
        return sites.size();
    }

    /** The site names, in order. */
    public List<String> names() {
        return sites.stream().map(Site::name).toList();
    }

    /** The site with the given name. */
    public Site site(String name) {
        for (Site s : sites) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no site '" + name + "'; sites are " + names());
    }

    /** Every site's size, in order. */
    public int[] sizes() {
        return sites.stream().mapToInt(Site::size).toArray();
    }

    /** The total number of examples over all sites. */
    public int totalSize() {
        return Arrays.stream(sizes()).sum();
    }

    /**
     * Caps every site at {@code maxPerSite} examples, drawn uniformly without replacement; sites at
     * or under the cap are kept whole. Kept examples stay in their original order.
     */
    public Partition sample(int maxPerSite, long seed) {
        if (maxPerSite < 0) {
            throw new IllegalArgumentException("maxPerSite must be >= 0: " + maxPerSite);
        }
        List<Site> out = new ArrayList<>(sites.size());
        for (Site s : sites) {
            if (s.size() <= maxPerSite) {
                out.add(s);
            } else {
                int[] chosen = Arrays.copyOf(shuffledPrefix(s, maxPerSite, seed, 1), maxPerSite);
                Arrays.sort(chosen);
                out.add(new Site(s.name(), pick(s.examples(), chosen, 0, chosen.length)));
            }
        }
        return new Partition(out);
    }

    /**
     * Splits every site into train and test: {@code round(testFraction * n)} test examples drawn
     * uniformly without replacement, the rest train, both kept in their original order. For a
     * fraction strictly between 0 and 1, a site of at least 2 examples gets at least one of each.
     */
    public TrainTest trainTestSplit(double testFraction, long seed) {
        if (!(testFraction >= 0 && testFraction <= 1)) {
            throw new IllegalArgumentException("testFraction must be in [0, 1]: " + testFraction);
        }
        List<Site> train = new ArrayList<>(sites.size());
        List<Site> test = new ArrayList<>(sites.size());
        for (Site s : sites) {
            int n = s.size();
            int nTest = (int) Math.round(testFraction * n);
            if (testFraction > 0 && testFraction < 1 && n >= 2) {
                nTest = Math.min(Math.max(nTest, 1), n - 1);
            }
            int[] order = shuffledPrefix(s, nTest, seed, 2);
            Arrays.sort(order, 0, nTest);
            Arrays.sort(order, nTest, n);
            test.add(new Site(s.name(), pick(s.examples(), order, 0, nTest)));
            train.add(new Site(s.name(), pick(s.examples(), order, nTest, n)));
        }
        return new TrainTest(new Partition(train), new Partition(test));
    }

    /** Label statistics of this partition over a field of the examples. */
    public PartitionStats stats(String labelField) {
        return PartitionStats.of(this, labelField);
    }

    /** A printable table of site sizes and label histograms over a field. */
    public String table(String labelField) {
        return stats(labelField).table();
    }

    /**
     * The site's indices after a seeded partial Fisher-Yates shuffle: the first {@code k} are a
     * uniformly drawn subset of size {@code k}, the rest are the others.
     */
    private static int[] shuffledPrefix(Site s, int k, long seed, long purpose) {
        int n = s.size();
        SplittableRandom rnd =
                new SplittableRandom(Sampling.streamSeed(seed, purpose, s.name().hashCode(), n));
        int[] idx = Sampling.range(n);
        for (int i = 0; i < k && i < n - 1; i++) {
            int j = i + rnd.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return idx;
    }

    private static List<InstructionExample> pick(
            List<InstructionExample> xs, int[] idx, int from, int to) {
        List<InstructionExample> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            out.add(xs.get(idx[i]));
        }
        return out;
    }
}
