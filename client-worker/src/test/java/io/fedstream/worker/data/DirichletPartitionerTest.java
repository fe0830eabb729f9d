package io.fedstream.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DirichletPartitionerTest {
    private static final int CLASSES = 8;

    private static int[] labels(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rnd.nextInt(CLASSES);
        }
        return y;
    }

    @Test
    void everyExampleIsAssignedToExactlyOneSite() {
        int[] y = labels(5000, 1);
        int[][] parts = DirichletPartitioner.partition(y, CLASSES, 7, 0.3, 20, 42);
        int[] seen = new int[y.length];
        for (int[] part : parts) {
            assertThat(part).isSorted();
            for (int i : part) {
                seen[i]++;
            }
        }
        assertThat(seen).containsOnly(1);
        assertThat(Arrays.stream(parts).mapToInt(p -> p.length).sum()).isEqualTo(y.length);
    }

    @Test
    void theSameSeedGivesTheSamePartition() {
        int[] y = labels(3000, 2);
        int[][] a = DirichletPartitioner.partition(y, CLASSES, 5, 0.5, 10, 7);
        int[][] b = DirichletPartitioner.partition(y, CLASSES, 5, 0.5, 10, 7);
        int[][] c = DirichletPartitioner.partition(y, CLASSES, 5, 0.5, 10, 8);
        assertThat(a).isDeepEqualTo(b);
        assertThat(Arrays.deepEquals(a, c)).isFalse();
    }

    @Test
    void smallAlphaSkewsLabelsAndSizesWhileLargeAlphaIsNearlyIid() {
        int[] y = labels(8000, 3);
        int[][] skewed = DirichletPartitioner.partition(y, CLASSES, 8, 0.1, 10, 1);
        int[][] iid = DirichletPartitioner.partition(y, CLASSES, 8, 1000, 10, 1);

        // share of a site's most frequent label: 1/8 for a perfectly balanced site
        assertThat(meanTopLabelShare(skewed, y)).isGreaterThan(0.4);
        assertThat(meanTopLabelShare(iid, y)).isLessThan(0.2);

        // label-skewed sites also differ a lot in size
        int[] sizes = Arrays.stream(skewed).mapToInt(p -> p.length).sorted().toArray();
        assertThat(sizes[sizes.length - 1]).isGreaterThan(3 * sizes[0]);
        int[] iidSizes = Arrays.stream(iid).mapToInt(p -> p.length).sorted().toArray();
        assertThat(iidSizes[iidSizes.length - 1]).isLessThan((int) (1.2 * iidSizes[0]));
    }

    @Test
    void everySiteGetsAtLeastTheMinimum() {
        int[] y = labels(2000, 4);
        int[][] parts = DirichletPartitioner.partition(y, CLASSES, 10, 0.2, 50, 3);
        for (int[] part : parts) {
            assertThat(part.length).isGreaterThanOrEqualTo(50);
        }
    }

    @Test
    void rejectsImpossibleRequests() {
        int[] y = labels(100, 5);
        assertThatThrownBy(() -> DirichletPartitioner.partition(y, CLASSES, 10, 0.5, 20, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DirichletPartitioner.partition(y, CLASSES, 2, 0, 1, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DirichletPartitioner.partition(new int[] {9}, CLASSES, 1, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static double meanTopLabelShare(int[][] parts, int[] y) {
        int[][] counts = DirichletPartitioner.labelCounts(parts, y, CLASSES);
        double sum = 0;
        for (int s = 0; s < parts.length; s++) {
            int top = Arrays.stream(counts[s]).max().orElse(0);
            sum += (double) top / parts[s].length;
        }
        return sum / parts.length;
    }
}
