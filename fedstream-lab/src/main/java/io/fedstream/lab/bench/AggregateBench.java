package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * {@code ./fedstream bench aggregate}: runs {@link AggregateBenchmark} with JMH (one fork per row)
 * and prints GB/s of update input, GB/s of memory traffic and ns/element, ending with {@code ratio:
 * X}.
 *
 * <p>Bytes convention (STREAM's: every array element read or written counts once, write-allocate
 * reads not counted). Triad: 24 bytes per element (read b, c; write a). Accumulate: the update's
 * bytes (4 for float32, 2 for bfloat16) + 8 read + 8 written of the float64 accumulator. The ratio
 * is the best float32 kernel's traffic GB/s over the best triad GB/s (either thread count).
 */
public final class AggregateBench {
    private AggregateBench() {}

    /** One JMH run; {@code div}: an operation covers n / div / threads elements. */
    private record Row(
            String label, String method, int threads, int inputBytes, int trafficBytes, int div) {
        Row(String label, String method, int threads, int inputBytes, int trafficBytes) {
            this(label, method, threads, inputBytes, trafficBytes, 1);
        }
    }

    /**
     * Runs one JMH benchmark as every bench here does: one silent fork with the vector module, the
     * given warm-up and measured iterations.
     */
    static RunResult jmh(
            ChainedOptionsBuilder o, int warmups, TimeValue warmup, int measured, TimeValue time)
            throws org.openjdk.jmh.runner.RunnerException {
        o.forks(1)
                .jvmArgsAppend("--add-modules=jdk.incubator.vector", "-XX:+UseG1GC", "-Xmx2g")
                .verbosity(VerboseMode.SILENT)
                .warmupIterations(warmups)
                .warmupTime(warmup)
                .measurementIterations(measured)
                .measurementTime(time);
        return new Runner(o.build()).runSingle();
    }

    /** The best measured iteration's score (other load only ever slows an iteration down). */
    static double best(RunResult result) {
        double best = 0;
        for (BenchmarkResult br : result.getBenchmarkResults()) {
            for (IterationResult ir : br.getIterationResults()) {
                best = Math.max(best, ir.getPrimaryResult().getScore());
            }
        }
        return best;
    }

    public static int run(boolean quick, int n) throws Exception {
        List<Row> rows =
                List.of(
                        new Row("triad a=b+s*c (double)", "triad", 1, 0, 24),
                        new Row("triad a=b+s*c (double)", "triad", 2, 0, 24),
                        new Row("triad, n/2 (same 50 MB)", "triadSameFootprint", 1, 0, 24, 2),
                        new Row("triad, n/2 (same 50 MB)", "triadSameFootprint", 2, 0, 24, 2),
                        new Row("scalar float32 -> f64 acc", "scalarFloat32", 1, 4, 20),
                        new Row("scalar float32 -> f64 acc", "scalarFloat32", 2, 4, 20),
                        new Row("vector float32 -> f64 acc", "vectorFloat32", 1, 4, 20),
                        new Row("vector float32 -> f64 acc", "vectorFloat32", 2, 4, 20),
                        new Row("scalar 4 x float32 batch", "scalarFloat32Batch4", 1, 16, 32),
                        new Row("vector 4 x float32 batch", "vectorFloat32Batch4", 1, 16, 32),
                        new Row("vector 4 x float32 batch", "vectorFloat32Batch4", 2, 16, 32),
                        new Row("scalar bfloat16 -> f64 acc", "scalarBfloat16", 1, 2, 18),
                        new Row("vector bfloat16 -> f64 acc", "vectorBfloat16", 1, 2, 18),
                        new Row("ref: float[] += w*float[]", "plainFloatAccReference", 1, 4, 12),
                        new Row("ref: float[] += w*float[]", "plainFloatAccReference", 2, 4, 12));
        System.out.printf(
                Locale.ROOT,
                "update: %d elements (%.1f MB float32); accumulator float64 (%.1f MB); JMH %s, best iteration;"
                        + " kernel in this JVM: %s%n",
                n,
                n * 4 / 1e6,
                n * 8 / 1e6,
                quick
                        ? "1 fork, 1x0.3 s warm-up, 2x0.3 s measured"
                        : "1 fork, 3x0.5 s warm-up, 10x0.5 s measured",
                LittleEndianFloats.kernel());
        System.out.println(
                "bytes/element (STREAM convention, each array read or written counts once):"
                        + " triad 24; accumulate = input 4 (bf16 2) + 8 read + 8 written of the"
                        + " sums; batch of 4 = 4 x 4 + 16; ref float acc 12");
        System.out.printf(
                Locale.ROOT,
                "%-28s %3s %12s %12s %10s %8s%n",
                "kernel",
                "thr",
                "input GB/s",
                "traffic GB/s",
                "ns/elem",
                "mean %");
        double bestTriad = 0;
        double bestKernelTraffic = 0;
        double bestKernelInput = 0;
        double bestSingleInput = 0;
        double bestBatchInput = 0;
        String bestKernel = "";
        for (Row r : rows) {
            ChainedOptionsBuilder o =
                    new OptionsBuilder()
                            .include(AggregateBenchmark.class.getName() + "." + r.method() + "$")
                            .param("n", Integer.toString(n))
                            .threads(r.threads());
            RunResult result =
                    quick
                            ? jmh(o, 1, TimeValue.milliseconds(300), 2, TimeValue.milliseconds(300))
                            : jmh(
                                    o,
                                    3,
                                    TimeValue.milliseconds(500),
                                    10,
                                    TimeValue.milliseconds(500));
            // the best measured iteration (as the other benches: best of the runs, since other
            // load only slows a run down); the mean is printed next to it
            double mean = result.getPrimaryResult().getScore();
            double opsPerS = best(result);
            // one op = n / threads elements; JMH sums the threads' throughput
            double elemsPerS = opsPerS * n / r.div() / r.threads();
            double input = elemsPerS * r.inputBytes() / 1e9;
            double traffic = elemsPerS * r.trafficBytes() / 1e9;
            double meanPct = 100 * mean / opsPerS;
            System.out.printf(
                    Locale.ROOT,
                    "%-28s %3d %12s %12.2f %10.3f %8.0f%n",
                    r.label(),
                    r.threads(),
                    r.inputBytes() == 0 ? "-" : String.format(Locale.ROOT, "%.2f", input),
                    traffic,
                    1e9 / elemsPerS,
                    meanPct);
            if (r.method().endsWith("Float32")) {
                bestSingleInput = Math.max(bestSingleInput, input);
            } else if (r.method().endsWith("Float32Batch4")) {
                bestBatchInput = Math.max(bestBatchInput, input);
            }
            if (r.method().startsWith("triad")) {
                bestTriad = Math.max(bestTriad, traffic);
            } else if (r.method().contains("Float32") && traffic > bestKernelTraffic) {
                bestKernelTraffic = traffic;
                bestKernelInput = input;
                bestKernel = r.label() + ", " + r.threads() + " thread(s)";
            }
        }
        System.out.printf(
                Locale.ROOT,
                "best float32 kernel: %s: %.2f GB/s of update input = %.2f GB/s of traffic;"
                        + " best triad %.2f GB/s%n",
                bestKernel,
                bestKernelInput,
                bestKernelTraffic,
                bestTriad);
        System.out.printf(
                Locale.ROOT,
                "update input GB/s / triad GB/s: one update per pass %.2f (a float64 sum moves 16"
                        + " of its 20 bytes), batch of 4 %.2f%n",
                bestSingleInput / bestTriad,
                bestBatchInput / bestTriad);
        System.out.println(
                "ratio = best float32 kernel traffic GB/s / best triad traffic GB/s (any size,"
                        + " threads; STREAM bytes as above)");
        System.out.printf(Locale.ROOT, "ratio: %.2f%n", bestKernelTraffic / bestTriad);
        return 0;
    }
}
