package io.fedstream.lab.bench;

import io.fedstream.schemas.FederationSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./fedstream bench python}: Flower's FedAvg as its server runs it (script {@code
 * bench/numpy_baseline.py}: k client results held as .npy bytes per tensor, decoded and averaged by
 * {@code aggregate_fit} in its two modes) and the same two averages on pre-decoded NumPy arrays
 * (NumPy's best case), against FedStream's streaming {@link StreamingAggregate} on one thread, on
 * two threads ({@link SplitFold}) and batched by 4; every row in a fresh process per k so that peak
 * memory is per run. Ends with {@code ratio: X}: the smallest over k of Java's one-thread updates/s
 * over the better of Flower's two modes.
 */
public final class PythonBench {
    /** The Python rows, in the script's variant names. */
    static final List<String> VARIANTS =
            List.of("flower_inplace", "flower_aggregate", "arrays_inplace", "arrays_aggregate");

    private static final Map<String, String> LABELS =
            Map.of(
                    "flower_inplace", "Flower aggregate_fit, inplace=True (default)",
                    "flower_aggregate", "Flower aggregate_fit, inplace=False",
                    "arrays_inplace", "NumPy arrays, aggregate_inplace",
                    "arrays_aggregate", "NumPy arrays, aggregate");

    /** The Java rows' -Xmx: room for the update buffers, sums and result with slack for G1. */
    static final String JAVA_HEAP = "384m";

    private PythonBench() {}

    public static int run(boolean quick, int n, String python) throws Exception {
        int[] ks = quick ? new int[] {8} : new int[] {8, 32, 64};
        int repeats = quick ? 1 : 5;
        int layers = BenchSites.layersFor(n);
        Path script = writeScript();
        try {
            String probe = null;
            // Debian's python3 (python3-numpy) first, then python3 on the PATH
            List<String> candidates =
                    python != null ? List.of(python) : List.of("/usr/bin/python3", "python3");
            for (String c : candidates) {
                probe = probe(c);
                if (probe != null) {
                    python = c;
                    break;
                }
            }
            if (probe == null) {
                System.out.println(
                        "python bench skipped: no python3 with numpy ("
                                + String.join(", ", candidates)
                                + "; Debian: apt-get install python3-numpy)");
                return 0;
            }
            FederationSpec spec = BenchSites.loraSpec("bench", layers);
            long values = spec.parameterCount();
            System.out.printf(
                    Locale.ROOT,
                    "update: rank-%d LoRA on q_proj, v_proj of %d layers (hidden %d): %d tensors,"
                            + " %d float32 (%.1f MB); best of %d rounds after warm-up; one process"
                            + " per row; %s%n",
                    BenchSites.RANK,
                    layers,
                    BenchSites.HIDDEN,
                    spec.tensors().size(),
                    values,
                    values * 4 / 1e6,
                    repeats,
                    probe);
            System.out.println(
                    "Flower: each result a FitRes with one .npy bytes per tensor; aggregate_fit"
                            + " decodes (np.load) and averages: inplace=True decodes inside"
                            + " aggregate_inplace (x *= s_i, acc += x), inplace=False decodes all"
                            + " then aggregate (list of x*n_i, reduce(np.add), / total); the result"
                            + " encoded back to .npy");
            System.out.println(
                    "NumPy arrays: the same two averages on updates held as decoded float32"
                            + " arrays (no decode, no encode); peak = ru_maxrss");
            System.out.println(
                    "Java: WeightedAccumulator.add per update from the little-endian bytes (decode"
                            + " fused), float64 sums, 4 reused update buffers, then applyTo and"
                            + " the result encoded to bytes; 2 threads: each folds half of the"
                            + " tensors (as 2 subtasks fold different chunks; same bits); x4:"
                            + " addAll of 4 buffered updates per pass (same bits); peak = VmHWM,"
                            + " JVM -Xmx"
                            + JAVA_HEAP
                            + "; live = heap in use after a full GC at the end");
            System.out.printf(
                    Locale.ROOT,
                    "%4s | %-44s | %9s %6s | %8s %8s | %9s%n",
                    "k",
                    "row",
                    "updates/s",
                    "GB/s",
                    "peak MB",
                    "live MB",
                    "Java 1t /");
            List<double[]> perK = new ArrayList<>(); // {flowerBest, arraysBest, j1, j2, j4}
            String kernel = null;
            Set<String> dtypes = new TreeSet<>();
            for (int k : ks) {
                Map<String, Map<String, String>> py = new LinkedHashMap<>();
                for (String v : VARIANTS) {
                    py.put(
                            v,
                            parse(
                                    exec(
                                            List.of(
                                                    python,
                                                    script.toString(),
                                                    "" + k,
                                                    "" + layers,
                                                    "" + BenchSites.HIDDEN,
                                                    "" + BenchSites.RANK,
                                                    v,
                                                    "" + repeats))));
                }
                Map<String, String> j1 = parse(exec(javaCommand(k, layers, repeats, 1, 1)));
                Map<String, String> j2 = parse(exec(javaCommand(k, layers, repeats, 1, 2)));
                Map<String, String> j4 = parse(exec(javaCommand(k, layers, repeats, 4, 1)));
                kernel = j1.get("kernel");
                py.values().forEach(r -> dtypes.add(r.get("out_dtype")));
                double java1 = rate(j1);
                for (String v : VARIANTS) {
                    Map<String, String> r = py.get(v);
                    row(
                            k,
                            LABELS.get(v),
                            r,
                            "-",
                            String.format(Locale.ROOT, "%9.2f", java1 / rate(r)));
                }
                row(k, "Java add per update, 1 thread", j1, j1.get("live_heap_mb"), "");
                row(k, "Java add per update, 2 threads", j2, j2.get("live_heap_mb"), "");
                row(k, "Java addAll x4, 1 thread", j4, j4.get("live_heap_mb"), "");
                perK.add(
                        new double[] {
                            better(py.get("flower_inplace"), py.get("flower_aggregate")),
                            better(py.get("arrays_inplace"), py.get("arrays_aggregate")),
                            java1,
                            rate(j2),
                            rate(j4)
                        });
            }
            System.out.printf(
                    Locale.ROOT,
                    "(Java kernel %s; NumPy result dtype %s)%n",
                    kernel,
                    String.join(", ", dtypes));
            double[] vsFlower = minRatios(perK, 0);
            double[] vsArrays = minRatios(perK, 1);
            System.out.printf(
                    Locale.ROOT,
                    "vs Flower as it runs (FedAvg.aggregate_fit, the better of its two modes, from"
                            + " the FitRes bytes): min over k %.2f (2 threads %.2f, x4 %.2f)%n",
                    vsFlower[0],
                    vsFlower[1],
                    vsFlower[2]);
            System.out.printf(
                    Locale.ROOT,
                    "vs NumPy on pre-decoded arrays (best case for Python): min over k %.2f"
                            + " (2 threads %.2f, x4 %.2f)%n",
                    vsArrays[0],
                    vsArrays[1],
                    vsArrays[2]);
            System.out.println(
                    "ratio = min over k of Java updates/s (add per update, 1 thread, as the job's"
                            + " subtask) / the better of Flower's two aggregate_fit modes");
            System.out.printf(Locale.ROOT, "ratio: %.2f%n", vsFlower[0]);
            return 0;
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /** The baseline script, written to a temp file. */
    static Path writeScript() throws IOException {
        Path script = Files.createTempFile("fedstream-numpy-baseline", ".py");
        try (InputStream in = PythonBench.class.getResourceAsStream("/bench/numpy_baseline.py")) {
            Files.write(script, in.readAllBytes());
        }
        return script;
    }

    private static void row(int k, String label, Map<String, String> r, String heap, String vs) {
        System.out.printf(
                Locale.ROOT,
                "%4d | %-44s | %9.1f %6.2f | %8s %8s | %9s%n",
                k,
                label,
                rate(r),
                Double.parseDouble(r.get("gb_per_s")),
                r.get("peak_rss_mb"),
                heap,
                vs);
    }

    private static double rate(Map<String, String> r) {
        return Double.parseDouble(r.get("updates_per_s"));
    }

    private static double better(Map<String, String> a, Map<String, String> b) {
        return Math.max(rate(a), rate(b));
    }

    /**
     * For rows {pythonA, pythonB, java1, java2, java4} per k: the smallest over k of java1, java2
     * and java4 over column {@code python}.
     */
    static double[] minRatios(List<double[]> perK, int python) {
        double[] min = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
        for (double[] r : perK) {
            for (int j = 0; j < 3; j++) {
                min[j] = Math.min(min[j], r[2 + j] / r[python]);
            }
        }
        return min;
    }

    /** "python 3.x, numpy y" or null when python3 or numpy is missing. */
    static String probe(String python) {
        try {
            String out =
                    exec(
                            List.of(
                                    python,
                                    "-c",
                                    "import sys, numpy; print('%s: python %d.%d.%d, numpy %s' %"
                                            + " ((sys.executable,) + sys.version_info[:3]"
                                            + " + (numpy.__version__,)))"));
            return out.strip();
        } catch (Exception e) {
            return null;
        }
    }

    private static List<String> javaCommand(
            int k, int layers, int repeats, int batch, int threads) {
        String java =
                ProcessHandle.current()
                        .info()
                        .command()
                        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("-XX:+UseG1GC");
        cmd.add("-Xmx" + JAVA_HEAP);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(StreamingAggregate.class.getName());
        cmd.add("" + k);
        cmd.add("" + layers);
        cmd.add("" + repeats);
        cmd.add("" + batch);
        cmd.add("" + threads);
        return cmd;
    }

    static String exec(List<String> cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException e) {
            throw new IOException("cannot run " + cmd.get(0), e);
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("failed: " + String.join(" ", cmd.subList(0, 2)));
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    static Map<String, String> parse(String line) {
        Map<String, String> m = new HashMap<>();
        for (String kv : line.strip().split("\\s+")) {
            int i = kv.indexOf('=');
            if (i > 0) {
                m.put(kv.substring(0, i), kv.substring(i + 1));
            }
        }
        return m;
    }
}
