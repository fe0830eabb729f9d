package io.fedstream.aggregation.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Dbscan}, {@link Elbow} and {@link KMeans} against scikit-learn on the same points. The
 * committed fixture {@code sklearn-clusters.txt} is what {@code sklearn_clusters.py} (beside it in
 * the test resources) printed, so the comparison always runs; where python3 with scikit-learn is
 * installed (Debian: python3-sklearn) the script is also run live and its answers compared. Cluster
 * labels are compared as partitions (a label is only a name), noise exactly.
 */
class SklearnClustersTest {

    private static final String DIR = "/io/fedstream/aggregation/prompt/";

    @Test
    void dbscanFindsScikitLearnsClustersAndNoise() throws IOException {
        List<PointSet> sets = parse(resource("sklearn-clusters.txt"));
        assertThat(sets).hasSize(3);
        assertThat(sets).allSatisfy(s -> assertThat(s.dbscans).isNotEmpty());
        sets.forEach(SklearnClustersTest::checkDbscan);
    }

    @Test
    void kDistancesAreScikitLearnsNearestNeighbourDistances() throws IOException {
        parse(resource("sklearn-clusters.txt")).forEach(SklearnClustersTest::checkKDistances);
    }

    @Test
    void kMeansFindsScikitLearnsPartitionForEverySeed() throws IOException {
        parse(resource("sklearn-clusters.txt")).forEach(SklearnClustersTest::checkKMeans);
    }

    @Test
    void theFixtureAgreesWithScikitLearnRunNow(@TempDir Path tmp)
            throws IOException, InterruptedException {
        String python = pythonWithSklearn();
        assumeTrue(python != null, "python3 with scikit-learn is not installed");
        Path script = tmp.resolve("sklearn_clusters.py");
        Files.writeString(script, resource("sklearn_clusters.py"));
        Path out = tmp.resolve("live.txt");
        Process p =
                new ProcessBuilder(python, script.toString(), out.toString())
                        .redirectErrorStream(true)
                        .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(log).isZero();

        List<PointSet> live = parse(Files.readString(out));
        List<PointSet> fixture = parse(resource("sklearn-clusters.txt"));
        assertThat(live).hasSameSizeAs(fixture);
        for (int s = 0; s < live.size(); s++) {
            // the same generated points, so the fixture is this script's output
            assertThat(live.get(s).points).hasSameSizeAs(fixture.get(s).points);
            for (int i = 0; i < live.get(s).points.size(); i++) {
                assertThat(live.get(s).points.get(i)).containsExactly(fixture.get(s).points.get(i));
            }
            checkDbscan(live.get(s));
            checkKDistances(live.get(s));
            checkKMeans(live.get(s));
        }
    }

    private static void checkDbscan(PointSet set) {
        for (DbscanCase c : set.dbscans) {
            int[] ours = Dbscan.cluster(set.points, c.eps, c.minSamples);
            String what = set.name + " eps=" + c.eps + " minPts=" + c.minSamples;
            for (int i = 0; i < ours.length; i++) {
                assertThat(ours[i] == Dbscan.NOISE)
                        .as(what + " noise " + i)
                        .isEqualTo(c.labels[i] == -1);
            }
            assertSamePartition(ours, c.labels, what);
        }
    }

    private static void checkKDistances(PointSet set) {
        for (Map.Entry<Integer, double[]> e : set.kDistances.entrySet()) {
            double[] ours = Elbow.sortedKDistances(set.points, e.getKey());
            assertThat(ours)
                    .as(set.name + " k=" + e.getKey())
                    .containsExactly(e.getValue(), within(1e-9));
        }
    }

    /**
     * scikit-learn's k-means is Euclidean on the unit vectors (mean centroids), ours spherical
     * (normalised centroids): the objectives agree on points drawn around a direction but may send
     * an outlier to different clusters. So the partitions must be equal on the drawn points, and
     * the inertia (within-cluster sum of squares of the unit points) equal when sklearn's labels
     * for the outliers are put in ours: the same clusters, not merely the same members.
     */
    private static void checkKMeans(PointSet set) {
        for (KMeansCase c : set.kMeans) {
            for (long seed = 1; seed <= 5; seed++) {
                int[] ours = KMeans.cluster(set.points, c.k, seed, 100);
                String what = set.name + " k=" + c.k + " seed=" + seed;
                List<Integer> drawn = new ArrayList<>();
                for (int i = 0; i < ours.length; i++) {
                    if (set.groups[i] >= 0) {
                        drawn.add(i);
                    }
                }
                assertSamePartition(
                        drawn.stream().mapToInt(i -> ours[i]).toArray(),
                        drawn.stream().mapToInt(i -> c.labels[i]).toArray(),
                        what + " on the drawn points");
                int[] oursWithTheirOutliers = c.labels.clone();
                Map<Integer, Integer> rename = new HashMap<>();
                drawn.forEach(i -> rename.put(c.labels[i], ours[i]));
                for (int i = 0; i < ours.length; i++) {
                    oursWithTheirOutliers[i] =
                            set.groups[i] >= 0 ? ours[i] : rename.getOrDefault(c.labels[i], -2);
                }
                assertThat(inertia(set.points, oursWithTheirOutliers))
                        .as(what)
                        .isCloseTo(c.inertia, within(1e-9));
            }
        }
    }

    @Test
    void kMeansPartitionsEqualTheDrawnGroupsWhereKIsTheirNumber() throws IOException {
        for (PointSet set : parse(resource("sklearn-clusters.txt"))) {
            int groups = Arrays.stream(set.groups).max().getAsInt() + 1;
            for (KMeansCase c : set.kMeans) {
                if (c.k == groups) {
                    int[] sk = c.labels;
                    List<Integer> drawn = new ArrayList<>();
                    for (int i = 0; i < sk.length; i++) {
                        if (set.groups[i] >= 0) {
                            drawn.add(i);
                        }
                    }
                    assertSamePartition(
                            drawn.stream().mapToInt(i -> sk[i]).toArray(),
                            drawn.stream().mapToInt(i -> set.groups[i]).toArray(),
                            set.name + ": scikit-learn's k-means finds the drawn groups");
                }
            }
        }
    }

    /** Labels a and b name the same groups: a consistent one-to-one renaming maps a onto b. */
    private static void assertSamePartition(int[] a, int[] b, String what) {
        assertThat(a).as(what).hasSameSizeAs(b);
        what += ": " + Arrays.toString(a) + " vs scikit-learn's " + Arrays.toString(b);
        Map<Integer, Integer> ab = new HashMap<>();
        Map<Integer, Integer> ba = new HashMap<>();
        for (int i = 0; i < a.length; i++) {
            int bi = b[i];
            int ai = a[i];
            assertThat(ab.computeIfAbsent(ai, x -> bi)).as(what + ", point " + i).isEqualTo(b[i]);
            assertThat(ba.computeIfAbsent(bi, x -> ai)).as(what + ", point " + i).isEqualTo(a[i]);
        }
    }

    /** Sum of squared Euclidean distances of the L2-normalised points to their cluster's mean. */
    private static double inertia(List<float[]> points, int[] labels) {
        int dim = points.get(0).length;
        Map<Integer, double[]> sum = new HashMap<>();
        Map<Integer, Integer> count = new HashMap<>();
        List<double[]> unit = new ArrayList<>();
        for (int i = 0; i < points.size(); i++) {
            double norm = Vectors.norm(points.get(i));
            double[] u = new double[dim];
            for (int d = 0; d < dim; d++) {
                u[d] = points.get(i)[d] / norm;
            }
            unit.add(u);
            double[] s = sum.computeIfAbsent(labels[i], l -> new double[dim]);
            for (int d = 0; d < dim; d++) {
                s[d] += u[d];
            }
            count.merge(labels[i], 1, Integer::sum);
        }
        double total = 0;
        for (int i = 0; i < points.size(); i++) {
            double[] s = sum.get(labels[i]);
            int c = count.get(labels[i]);
            for (int d = 0; d < dim; d++) {
                double diff = unit.get(i)[d] - s[d] / c;
                total += diff * diff;
            }
        }
        return total;
    }

    private static String pythonWithSklearn() throws InterruptedException {
        for (String python : List.of("python3", "/usr/bin/python3")) {
            try {
                Process p =
                        new ProcessBuilder(python, "-c", "import sklearn")
                                .redirectErrorStream(true)
                                .start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(2, TimeUnit.MINUTES) && p.exitValue() == 0) {
                    return python;
                }
            } catch (IOException notThere) {
                // try the next
            }
        }
        return null;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = SklearnClustersTest.class.getResourceAsStream(DIR + name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private record DbscanCase(double eps, int minSamples, int[] labels) {}

    private record KMeansCase(int k, double inertia, int[] labels) {}

    private static final class PointSet {
        final String name;
        final List<float[]> points = new ArrayList<>();
        int[] groups;
        final Map<Integer, double[]> kDistances = new HashMap<>();
        final List<DbscanCase> dbscans = new ArrayList<>();
        final List<KMeansCase> kMeans = new ArrayList<>();

        PointSet(String name) {
            this.name = name;
        }
    }

    private static List<PointSet> parse(String text) {
        List<PointSet> sets = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.trim().split(" ");
            PointSet set = sets.isEmpty() ? null : sets.get(sets.size() - 1);
            switch (f[0]) {
                case "set" -> sets.add(new PointSet(f[1]));
                case "p" -> {
                    float[] p = new float[f.length - 1];
                    for (int i = 1; i < f.length; i++) {
                        p[i - 1] = Float.parseFloat(f[i]);
                    }
                    set.points.add(p);
                }
                case "groups" -> set.groups = ints(f, 1);
                case "kdist" -> set.kDistances.put(Integer.parseInt(f[1]), doubles(f, 2));
                case "dbscan" ->
                        set.dbscans.add(
                                new DbscanCase(
                                        Double.parseDouble(f[1]),
                                        Integer.parseInt(f[2]),
                                        ints(f, 3)));
                case "kmeans" ->
                        set.kMeans.add(
                                new KMeansCase(
                                        Integer.parseInt(f[1]),
                                        Double.parseDouble(f[2]),
                                        ints(f, 3)));
                default -> throw new IllegalArgumentException("unknown record: " + line);
            }
        }
        return sets;
    }

    private static double[] doubles(String[] f, int from) {
        double[] out = new double[f.length - from];
        for (int i = from; i < f.length; i++) {
            out[i - from] = Double.parseDouble(f[i]);
        }
        return out;
    }

    private static int[] ints(String[] f, int from) {
        int[] out = new int[f.length - from];
        for (int i = from; i < f.length; i++) {
            out[i - from] = Integer.parseInt(f[i]);
        }
        return out;
    }
}
