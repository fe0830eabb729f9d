package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Measurement, not a benchmark gate: prints, for k = 3 and 8 sites with random non-IID factors at r
 * = 8 on a 384 × 384 weight (MiniLM's hidden size), each strategy's relative Frobenius distance to
 * the average product M = Σ wᵢBᵢAᵢ / Σ wᵢ and its median time per pair. Only the mathematics is
 * asserted, never a time. Run {@link #main} (or set {@code -Dlora.measure.large=true}) for larger
 * shapes too.
 */
class LoraAggregationMeasurementTest {
    private static final int R = 8;
    private static final int HIDDEN = 384;

    @Test
    void printsTheErrorAndTimeOfEachStrategy() {
        List<Row> rows = new ArrayList<>();
        for (int k : new int[] {3, 8}) {
            rows.addAll(measure(k, R, HIDDEN, HIDDEN, 30, true, true));
        }
        print(
                "k sites, r = 8, out = in = 384; Aᵢ = A₀ + 0.5·Nᵢ (shared init, large drift), Bᵢ"
                        + " independent",
                rows);
        List<Row> independent = new ArrayList<>();
        for (int k : new int[] {3, 8}) {
            independent.addAll(measure(k, R, HIDDEN, HIDDEN, 10, true, false));
        }
        print("the same with independent Aᵢ (no shared init): the worst case", independent);
        rows.addAll(independent);
        for (Row row : rows) {
            if (row.strategy.startsWith("factor")) {
                assertThat(row.error).isGreaterThan(0.1);
            }
            if (row.strategy.startsWith("product") && row.rank >= row.k * R) {
                assertThat(row.error).isLessThan(1e-12);
            }
            if (row.strategy.startsWith("product") && row.rank < row.k * R) {
                assertThat(row.error).isGreaterThan(0).isLessThan(1);
            }
        }
        if (Boolean.getBoolean("lora.measure.large")) {
            large();
        }
    }

    public static void main(String[] args) {
        new LoraAggregationMeasurementTest().printsTheErrorAndTimeOfEachStrategy();
        if (!Boolean.getBoolean("lora.measure.large")) {
            large();
        }
    }

    static void large() {
        List<Row> rows = new ArrayList<>();
        rows.addAll(measure(8, 16, 1024, 1024, 5, false, true));
        rows.addAll(measure(8, 16, 4096, 4096, 3, false, true));
        rows.addAll(measure(8, 64, 4096, 4096, 2, false, true));
        print("larger shapes (error from the reports; dense reference skipped)", rows);
    }

    record Row(int k, int r, int out, int in, String strategy, int rank, double error, double ms) {}

    static List<Row> measure(
            int k, int r, int out, int in, int reps, boolean dense, boolean sharedInit) {
        LoraPair pair = LoraPair.of("layer.query", r, in, out);
        Random rnd = new Random(1000 + k);
        List<LoraFactors> sites = LoraTestData.nonIid(rnd, pair, k, sharedInit);
        List<LoraFactors> frozen = LoraTestData.frozenA(rnd, pair, k);
        double[] m = dense ? LoraProducts.averageProduct(pair, sites) : null;
        List<Row> rows = new ArrayList<>();
        List<LoraAggregation> strategies = new ArrayList<>();
        strategies.add(new FactorAveraging());
        strategies.add(new ProductAveraging(r));
        strategies.add(new ProductAveraging(2 * r));
        if (k * r <= Math.min(out, in)) {
            strategies.add(new ProductAveraging(k * r));
        }
        strategies.add(new StackedLora());
        for (LoraAggregation s : strategies) {
            PairResult[] last = new PairResult[1];
            double ms = time(() -> last[0] = s.aggregate(pair, sites), reps);
            PairResult res = last[0];
            double error;
            if (dense) {
                error = LoraProducts.relativeDistance(res.product(pair), m);
            } else if (Double.isNaN(res.report().relativeError())) {
                error =
                        LoraProducts.relativeErrorToAverage(
                                pair, sites, res.a(), res.b(), res.rank());
            } else {
                error = res.report().relativeError();
            }
            if (dense && !Double.isNaN(res.report().relativeError())) {
                // The report's error (from the spectrum) agrees with the dense measurement.
                assertThat(res.report().relativeError())
                        .isCloseTo(error, org.assertj.core.api.Assertions.within(1e-9));
            }
            rows.add(new Row(k, r, out, in, s.describe(), res.rank(), error, ms));
        }
        // FFA-LoRA needs sites that kept A frozen: its own data set, exact by construction.
        FrozenAAveraging f = new FrozenAAveraging();
        PairResult[] last = new PairResult[1];
        double ms = time(() -> last[0] = f.aggregate(pair, frozen), reps);
        double error =
                dense
                        ? LoraProducts.relativeDistance(
                                last[0].product(pair), LoraProducts.averageProduct(pair, frozen))
                        : last[0].report().relativeError();
        rows.add(new Row(k, r, out, in, f.describe() + " (A frozen)", r, error, ms));
        // Factor averaging with the factored gap measurement switched on (what it costs).
        FactorAveraging measured = new FactorAveraging(true);
        double msMeasured = time(() -> last[0] = measured.aggregate(pair, sites), reps);
        rows.add(
                new Row(
                        k,
                        r,
                        out,
                        in,
                        measured.describe(),
                        r,
                        last[0].report().relativeError(),
                        msMeasured));
        if (dense && sharedInit && k == 3) {
            // Reference (once, its cost does not depend on k): form M densely and take its full
            // Jacobi SVD, O(k·r·out·in + out·in²·sweeps).
            double msDense =
                    time(
                            () -> {
                                double[] mm = LoraProducts.averageProduct(pair, sites);
                                Svd.ofColumnMajor(
                                        mm, in, out); // row-major out×in = col-major in×out
                                return null;
                            },
                            1);
            rows.add(
                    new Row(
                            k,
                            r,
                            out,
                            in,
                            "dense M + full SVD (reference)",
                            Math.min(out, in),
                            0,
                            msDense));
        }
        return rows;
    }

    /** Median wall time in ms over reps runs, after reps warm-up runs. */
    static double time(Supplier<?> run, int reps) {
        for (int i = 0; i < reps; i++) {
            run.get();
        }
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            run.get();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }

    static void print(String title, List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append('\n').append(title).append('\n');
        sb.append(
                String.format(
                        Locale.ROOT,
                        "| %2s | %3s | %-11s | %-42s | %5s | %-22s | %10s |%n",
                        "k",
                        "r",
                        "out × in",
                        "strategy",
                        "rank",
                        "‖B'A' − avg(BA)‖/‖avg(BA)‖",
                        "time (ms)"));
        for (Row row : rows) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %2d | %3d | %-11s | %-42s | %5d | %-22.3e | %10.3f |%n",
                            row.k,
                            row.r,
                            row.out + "×" + row.in,
                            row.strategy,
                            row.rank,
                            row.error,
                            row.ms));
        }
        System.out.println(sb);
    }
}
