package io.fedstream.lab.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PythonBenchTest {
    private static final String PYTHON = "/usr/bin/python3";

    @Test
    void ratiosAreTheSmallestOverKOfJavaOverTheBetterPythonVariant() {
        // per k: {best Flower, best arrays, Java 1 thread, Java 2 threads, Java x4}
        List<double[]> perK =
                List.of(
                        new double[] {50, 400, 400, 700, 600},
                        new double[] {40, 350, 380, 800, 900});

        double[] vsFlower = PythonBench.minRatios(perK, 0);
        double[] vsArrays = PythonBench.minRatios(perK, 1);

        assertThat(vsFlower).containsExactly(8.0, 14.0, 12.0);
        assertThat(vsArrays).containsExactly(1.0, 1.75, 1.5);
    }

    @Test
    void everyBaselineVariantIsTheWeightedMean() throws Exception {
        assumeTrue(PythonBench.probe(PYTHON) != null, "no /usr/bin/python3 with numpy");
        Path script = PythonBench.writeScript();
        try {
            String out = PythonBench.exec(List.of(PYTHON, script.toString(), "check"));

            assertThat(out.strip())
                    .isEqualTo(
                            "check ok: flower_inplace flower_inplace_again flower_aggregate"
                                    + " arrays_aggregate arrays_inplace");
        } finally {
            Files.deleteIfExists(script);
        }
    }

    @Test
    void eachVariantReportsItsRateOnTheLoraLayout() throws Exception {
        assumeTrue(PythonBench.probe(PYTHON) != null, "no /usr/bin/python3 with numpy");
        Path script = PythonBench.writeScript();
        try {
            for (String v : PythonBench.VARIANTS) {
                Map<String, String> r =
                        PythonBench.parse(
                                PythonBench.exec(
                                        List.of(
                                                PYTHON,
                                                script.toString(),
                                                "3",
                                                "2",
                                                "64",
                                                "4",
                                                v,
                                                "1")));

                assertThat(r).containsEntry("variant", v).containsEntry("k", "3");
                assertThat(r).containsEntry("tensors", "8").containsEntry("values", "2048");
                assertThat(Double.parseDouble(r.get("updates_per_s"))).isPositive();
                assertThat(Double.parseDouble(r.get("peak_rss_mb"))).isPositive();
                assertThat(r).containsEntry("out_dtype", "float32");
            }
        } finally {
            Files.deleteIfExists(script);
        }
    }
}
