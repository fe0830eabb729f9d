package io.fedstream.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PartitionTest {
    private static final String[] CATEGORIES = {
        "brainstorming",
        "classification",
        "closed_qa",
        "creative_writing",
        "general_qa",
        "information_extraction",
        "open_qa",
        "summarization"
    };
    private static final String[] SOURCES = {"A", "B", "C", "D", "E"};

    /** n examples with uneven source sizes and random categories. */
    private static List<InstructionExample> examples(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<InstructionExample> xs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            // source A is the most frequent, E the least
            int s =
                    Math.min(
                            SOURCES.length - 1,
                            (int) Math.floor(-Math.log(1 - rnd.nextDouble()) * 1.5));
            xs.add(
                    new InstructionExample(
                            "ex" + i,
                            "question " + i,
                            "",
                            "answer " + i,
                            CATEGORIES[rnd.nextInt(CATEGORIES.length)],
                            SOURCES[s]));
        }
        return xs;
    }

    /** Asserts that every example of xs is in exactly one site, and nothing else is. */
    private static void assertExactCover(Partition p, List<InstructionExample> xs) {
        Map<InstructionExample, Integer> seen = new IdentityHashMap<>();
        for (Site s : p.sites()) {
            for (InstructionExample e : s.examples()) {
                seen.merge(e, 1, Integer::sum);
            }
        }
        assertThat(seen).hasSize(xs.size());
        assertThat(seen.values()).containsOnly(1);
        assertThat(xs).allSatisfy(e -> assertThat(seen).containsKey(e));
        assertThat(p.totalSize()).isEqualTo(xs.size());
    }

    @Test
    void byFieldMakesOneSitePerValueLargestFirst() {
        List<InstructionExample> xs = examples(3000, 1);
        Partition p = ByField.of("source").partition(xs);
        assertExactCover(p, xs);
        assertThat(p.names()).containsExactlyInAnyOrder(SOURCES);
        assertThat(p.sizes()).isSortedAccordingTo((a, b) -> Integer.compare(b, a));
        for (Site s : p.sites()) {
            assertThat(s.examples()).allSatisfy(e -> assertThat(e.source()).isEqualTo(s.name()));
            // input order is kept
            assertThat(s.examples())
                    .isSortedAccordingTo(
                            (a, b) ->
                                    Integer.compare(
                                            Integer.parseInt(a.id().substring(2)),
                                            Integer.parseInt(b.id().substring(2))));
        }
        assertThat(ByField.of("source").partition(xs)).isEqualTo(p);
    }

    @Test
    void byFieldTopKeepsTheLargestAndCanGatherTheRest() {
        List<InstructionExample> xs = examples(3000, 2);
        Partition all = ByField.of("source").partition(xs);
        Partition top2 = ByField.of("source").top(2).partition(xs);
        assertThat(top2.names()).isEqualTo(all.names().subList(0, 2));
        assertThat(top2.totalSize()).isEqualTo(all.sizes()[0] + all.sizes()[1]);

        Partition gathered = ByField.of("source").top(2).othersInto("rest").partition(xs);
        assertExactCover(gathered, xs);
        assertThat(gathered.names())
                .containsExactly(all.names().get(0), all.names().get(1), "rest");
        assertThat(gathered.site("rest").size()).isEqualTo(xs.size() - top2.totalSize());
    }

    @Test
    void byFieldPutsMissingValuesInTheirOwnSite() {
        List<InstructionExample> xs =
                List.of(
                        new InstructionExample("1", "q", "", "a", "x", null),
                        new InstructionExample("2", "q", "", "a", null, null),
                        new InstructionExample("3", "q", "", "a", "x", null));
        Partition p = ByField.of("category").partition(xs);
        assertThat(p.names()).containsExactly("x", ByField.MISSING);
        assertThat(p.sizes()).containsExactly(2, 1);
    }

    @Test
    void dirichletSplitCoversEveryExampleOnceAndIsDeterministic() {
        List<InstructionExample> xs = examples(4000, 3);
        DirichletSplit split = DirichletSplit.of("category", 6, 0.5).minPerSite(20);
        Partition a = split.partition(xs, 42);
        assertExactCover(a, xs);
        assertThat(a.names())
                .containsExactly("site-0", "site-1", "site-2", "site-3", "site-4", "site-5");
        assertThat(Arrays.stream(a.sizes()).min().getAsInt()).isGreaterThanOrEqualTo(20);
        assertThat(split.partition(xs, 42)).isEqualTo(a);
        assertThat(split.partition(xs, 43)).isNotEqualTo(a);
        assertThat(DirichletSplit.of("category", 12, 1).partition(xs, 1).names())
                .startsWith("site-00", "site-01")
                .endsWith("site-11");
    }

    @Test
    void smallAlphaSkewsLabelsWhileLargeAlphaIsNearlyIid() {
        List<InstructionExample> xs = examples(8000, 4);
        PartitionStats skewed =
                DirichletSplit.of("category", 8, 0.1)
                        .minPerSite(10)
                        .partition(xs, 1)
                        .stats("category");
        PartitionStats iid =
                DirichletSplit.of("category", 8, 1000).partition(xs, 1).stats("category");
        // 1/8 for a perfectly balanced site
        assertThat(skewed.meanTopLabelShare()).isGreaterThan(0.4);
        assertThat(iid.meanTopLabelShare()).isLessThan(0.2);
        double meanDistinctSkewed = 0;
        for (int s = 0; s < 8; s++) {
            meanDistinctSkewed += skewed.distinctLabels(s) / 8.0;
            assertThat(iid.distinctLabels(s)).isEqualTo(CATEGORIES.length);
        }
        assertThat(meanDistinctSkewed).isLessThan(CATEGORIES.length - 1);
    }

    @Test
    void trainTestSplitIsDisjointCompleteAndSeeded() {
        List<InstructionExample> xs = examples(2000, 5);
        Partition p = ByField.of("source").partition(xs);
        Partition.TrainTest tt = p.trainTestSplit(0.2, 7);
        assertThat(tt.train().names()).isEqualTo(p.names());
        assertThat(tt.test().names()).isEqualTo(p.names());
        for (Site s : p.sites()) {
            Site train = tt.train().site(s.name());
            Site test = tt.test().site(s.name());
            assertThat(test.size()).isEqualTo((int) Math.round(0.2 * s.size()));
            assertThat(train.size() + test.size()).isEqualTo(s.size());
            List<InstructionExample> union = new ArrayList<>(train.examples());
            union.addAll(test.examples());
            assertThat(union).containsExactlyInAnyOrderElementsOf(s.examples());
            assertThat(train.examples()).doesNotContainAnyElementsOf(test.examples());
            // both halves keep the site's order
            assertThat(s.examples()).containsSubsequence(train.examples());
            assertThat(s.examples()).containsSubsequence(test.examples());
        }
        assertThat(p.trainTestSplit(0.2, 7)).isEqualTo(tt);
        assertThat(p.trainTestSplit(0.2, 8)).isNotEqualTo(tt);

        // a tiny site still gets one example on each side
        Partition tiny =
                new Partition(
                        List.of(new Site("t", xs.subList(0, 2)), new Site("u", xs.subList(2, 3))));
        Partition.TrainTest small = tiny.trainTestSplit(0.1, 1);
        assertThat(small.train().sizes()).containsExactly(1, 1);
        assertThat(small.test().sizes()).containsExactly(1, 0);
        assertThatThrownBy(() -> p.trainTestSplit(1.5, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSitesSplitDoesNotDependOnTheOtherSites() {
        List<InstructionExample> xs = examples(2000, 6);
        Partition all = ByField.of("source").partition(xs);
        Partition top1 = ByField.of("source").top(1).partition(xs);
        String first = all.names().get(0);
        assertThat(top1.trainTestSplit(0.3, 9).test().site(first))
                .isEqualTo(all.trainTestSplit(0.3, 9).test().site(first));
        assertThat(top1.sample(50, 9).site(first)).isEqualTo(all.sample(50, 9).site(first));
    }

    @Test
    void sampleCapsSitesDeterministically() {
        List<InstructionExample> xs = examples(3000, 7);
        Partition p = ByField.of("source").partition(xs);
        Partition capped = p.sample(100, 3);
        for (int s = 0; s < p.numSites(); s++) {
            Site orig = p.sites().get(s);
            Site cap = capped.sites().get(s);
            assertThat(cap.name()).isEqualTo(orig.name());
            assertThat(cap.size()).isEqualTo(Math.min(100, orig.size()));
            assertThat(orig.examples()).containsSubsequence(cap.examples());
            assertThat(cap.examples()).doesNotHaveDuplicates();
        }
        assertThat(p.sample(100, 3)).isEqualTo(capped);
        assertThat(p.sample(100, 4)).isNotEqualTo(capped);
        assertThat(p.sample(Integer.MAX_VALUE, 1)).isEqualTo(p);
    }

    @Test
    void statsTableShowsSizesAndLabelHistograms() {
        List<InstructionExample> xs = examples(1000, 8);
        Partition p = ByField.of("source").partition(xs);
        PartitionStats stats = p.stats("category");
        assertThat(stats.siteNames()).isEqualTo(p.names());
        assertThat(stats.sizes()).isEqualTo(p.sizes());
        assertThat(stats.labels()).hasSize(CATEGORIES.length);
        int[][] counts = stats.counts();
        for (int s = 0; s < counts.length; s++) {
            int sum = 0;
            for (int c : counts[s]) {
                sum += c;
            }
            assertThat(sum).isEqualTo(p.sizes()[s]);
        }
        String table = stats.table(3);
        System.out.println(table);
        assertThat(table)
                .contains("1000 examples in 5 sites")
                .contains("site")
                .contains("other")
                .contains(stats.labels().get(0))
                .contains("total");
        assertThat(table.lines()).hasSize(5 + 5); // title, header, rule, 5 sites, rule, total
        assertThat(stats.table()).doesNotContain("other"); // 8 labels fit
    }
}
