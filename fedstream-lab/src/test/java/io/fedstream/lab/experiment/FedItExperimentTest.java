package io.fedstream.lab.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.data.ByField;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.MedQuad;
import io.fedstream.worker.data.Partition;
import io.fedstream.worker.data.Site;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Smoke test of {@code ./fedstream experiment fedit}'s core at {@code --quick}-like sizes. */
class FedItExperimentTest {

    private static FedItExperiment.Settings quick(long seed) {
        return quick(seed, 0, false);
    }

    private static FedItExperiment.Settings quick(long seed, int fromLayer, boolean fast) {
        return new FedItExperiment.Settings(
                2,
                1,
                8,
                24,
                3e-3,
                4,
                8,
                0.05,
                "query,value",
                0,
                0,
                0.5,
                seed,
                FedItExperiment.METHODS,
                fromLayer,
                fast);
    }

    @Test
    void theTestSetIsFixedWhateverTheTrainingCap() {
        Partition all = new Partition(List.of(site("a", 30), site("b", 12)));

        Partition[] small = FedItExperiment.split(all, 5, 4, 1);
        Partition[] large = FedItExperiment.split(all, 5, 20, 1);

        assertThat(small[1]).isEqualTo(large[1]);
        assertThat(small[0].sizes()).containsExactly(4, 4);
        assertThat(large[0].sizes()).containsExactly(20, 7);
        for (int s = 0; s < 2; s++) {
            List<InstructionExample> test = large[1].sites().get(s).examples();
            assertThat(large[0].sites().get(s).examples()).doesNotContainAnyElementsOf(test);
        }
    }

    @Test
    void asyncTicksMatchTheSynchronousBudget() {
        // 9 sites: 3 take 1 tick, 3 take 2, 3 take 3 -> 5.5 local rounds per tick
        assertThat(quick(1).ticksFor(9)).isEqualTo(Math.round(2 * 9 / 5.5));
        assertThat(quick(1).quorumFor(9)).isEqualTo(5);
        assertThat(FedItExperiment.period(4)).isEqualTo(2);
    }

    @Test
    void aQuickRunOnSampledMedQuadReportsEveryMethodAndSite(@TempDir Path dir) throws Exception {
        Optional<Path> file = MedQuad.find();
        Assumptions.assumeTrue(file.isPresent(), "MedQuAD not found");
        Partition sites = ByField.of("source").partition(MedQuad.readAll(file.get()));
        Partition three = new Partition(sites.sites().subList(0, 3));
        Partition[] split = FedItExperiment.split(three, 6, 12, 7);
        ByteArrayOutputStream log = new ByteArrayOutputStream();

        FedItExperiment.Result r =
                FedItExperiment.run(
                        // adapters on layers 3-5, frozen-prefix cache and bucketing
                        quick(7, 3, true),
                        split[0],
                        split[1],
                        "category",
                        new PrintStream(log, true, StandardCharsets.UTF_8));

        assertThat(r.sites()).isEqualTo(three.names());
        assertThat(r.methods())
                .extracting(FedItExperiment.MethodResult::method)
                .containsExactlyElementsOf(FedItExperiment.METHODS);
        for (FedItExperiment.MethodResult m : r.methods()) {
            assertThat(m.sites()).hasSize(3);
            for (FedItExperiment.SiteScore s : m.sites()) {
                assertThat(s.testExamples()).isEqualTo(6);
                assertThat(s.trainExamples()).isEqualTo(12);
                assertThat(s.accuracy()).isBetween(0.0, 1.0);
                assertThat(s.loss()).isFinite().isPositive();
            }
            assertThat(m.steps()).isPositive();
        }
        // local and fedavg: 2 rounds x 3 sites x 1 epoch of 12 examples in batches of 8
        assertThat(r.methods().get(0).steps()).isEqualTo(12);
        assertThat(r.methods().get(1).steps()).isEqualTo(12);
        assertThat(r.curve()).isNotEmpty();
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("== async ==");
        // the LoRA aggregation methods: factor-mean is the same arithmetic as fedavg on full
        // values and misses the product mean; FFA-LoRA hits it exactly; SVD reports its truncation
        assertThat(result(r, "factor-mean").loraGap()).isFinite().isPositive();
        assertThat(result(r, "ffa").loraGap()).isEqualTo(0.0);
        assertThat(result(r, "product").loraGap()).isFinite().isNotNegative();
        assertThat(result(r, "fedavg").loraGap()).isNaN();

        String md = FedItReport.markdown(r, quick(7), "cmd", 1.0);
        assertThat(md).contains("| **mean** |").contains(three.names().get(0));
        FedItReport.writeCsv(dir.resolve("f.csv"), r);
        FedItReport.writeCurveCsv(dir.resolve("c.csv"), r);
        FedItReport.writeChart(dir.resolve("f.png"), r, "t");
        assertThat(Files.readAllLines(dir.resolve("f.csv")))
                .hasSize(1 + 3 + FedItExperiment.METHODS.size() * 3);
        assertThat(Files.size(dir.resolve("f.png"))).isGreaterThan(1000);
        var plot = FedItReport.chart(r, "t").getCategoryPlot();
        assertThat(plot.getDataset().getRowKeys())
                .containsExactlyElementsOf(FedItExperiment.METHODS);
        assertThat(plot.getDataset().getColumnCount()).isEqualTo(3 + 1); // three sites and the mean
        assertThat(plot.getDataset().getValue("fedavg", "mean"))
                .isEqualTo(result(r, "fedavg").meanAccuracy());
        assertThat(plot.getRangeAxis().getLabel()).isEqualTo("held-out accuracy");
        assertThat(FedItReport.chart(r, "t").getLegend()).isNotNull();
    }

    private static FedItExperiment.MethodResult result(FedItExperiment.Result r, String method) {
        return r.methods().stream()
                .filter(m -> m.method().equals(method))
                .findFirst()
                .orElseThrow();
    }

    private static Site site(String name, int n) {
        List<InstructionExample> xs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            xs.add(new InstructionExample(name + i, "q" + i, "", "a", "c" + (i % 2), name));
        }
        return new Site(name, xs);
    }
}
