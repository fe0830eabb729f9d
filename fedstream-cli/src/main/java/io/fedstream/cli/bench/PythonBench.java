package io.fedstream.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./fedstream bench python}: the usual Python approach (all k updates held as NumPy arrays,
 * then Flower's weighted average, script {@code bench/numpy_baseline.py}) against FedStream's
 * streaming {@link StreamingAggregate}, each run in a fresh process per k so that peak memory is
 * per run. Ends with {@code ratio: X}: the smallest over k of Java updates/s over the best NumPy
 * variant's updates/s.
 */
public final class PythonBench {
    private PythonBench() {}

    public static int run(boolean quick, int n, String python) throws Exception {
        int[] ks = quick ? new int[] {8} : new int[] {8, 32, 64};
        int repeats = quick ? 1 : 5;
        Path script = Files.createTempFile("fedstream-numpy-baseline", ".py");
        try (InputStream in = PythonBench.class.getResourceAsStream("/bench/numpy_baseline.py")) {
            Files.write(script, in.readAllBytes());
        }
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
            System.out.printf(
                    Locale.ROOT,
                    "update: %d float32 (%.1f MB); best of %d rounds after warm-up; one process per"
                            + " row; %s%n",
                    n,
                    n * 4 / 1e6,
                    repeats,
                    probe);
            System.out.println(
                    "NumPy: all k updates held as arrays, then Flower's aggregate (list of w*x,"
                            + " reduce(np.add)) / aggregate_inplace (s_i*x added in place);"
                            + " peak = ru_maxrss");
            System.out.println(
                    "Java: WeightedAccumulator.add per update, as the job does (float64 sums,"
                            + " 1 thread, 4 reused 16.8 MB byte[]) + applyTo; x4: addAll of 4"
                            + " buffered updates per pass (same bits); peak = VmHWM, JVM -Xmx1g");
            System.out.printf(
                    Locale.ROOT,
                    "%4s | %11s %8s | %11s %8s | %11s %8s %8s | %11s %8s | %7s %7s%n",
                    "k",
                    "np.agg up/s",
                    "peak MB",
                    "np.inp up/s",
                    "peak MB",
                    "Java up/s",
                    "RSS MB",
                    "heap MB",
                    "Java x4",
                    "RSS MB",
                    "Java/np",
                    "x4/np");
            double minRatio = Double.MAX_VALUE;
            double minRatio4 = Double.MAX_VALUE;
            for (int k : ks) {
                Map<String, String> agg =
                        parse(
                                exec(
                                        List.of(
                                                python,
                                                script.toString(),
                                                "" + k,
                                                "" + n,
                                                "aggregate",
                                                "" + repeats)));
                Map<String, String> inpl =
                        parse(
                                exec(
                                        List.of(
                                                python,
                                                script.toString(),
                                                "" + k,
                                                "" + n,
                                                "aggregate_inplace",
                                                "" + repeats)));
                Map<String, String> java = parse(exec(javaCommand(k, n, repeats, 1)));
                Map<String, String> java4 = parse(exec(javaCommand(k, n, repeats, 4)));
                double a = Double.parseDouble(agg.get("updates_per_s"));
                double b = Double.parseDouble(inpl.get("updates_per_s"));
                double j = Double.parseDouble(java.get("updates_per_s"));
                double j4 = Double.parseDouble(java4.get("updates_per_s"));
                double ratio = j / Math.max(a, b);
                double ratio4 = j4 / Math.max(a, b);
                minRatio = Math.min(minRatio, ratio);
                minRatio4 = Math.min(minRatio4, ratio4);
                System.out.printf(
                        Locale.ROOT,
                        "%4d | %11.1f %8s | %11.1f %8s | %11.1f %8s %8s | %11.1f %8s | %7.2f %7.2f%n",
                        k,
                        a,
                        agg.get("peak_rss_mb"),
                        b,
                        inpl.get("peak_rss_mb"),
                        j,
                        java.get("peak_rss_mb"),
                        java.get("peak_heap_mb"),
                        j4,
                        java4.get("peak_rss_mb"),
                        ratio,
                        ratio4);
                if (k == ks[0]) {
                    System.out.printf(
                            Locale.ROOT,
                            "     (NumPy result dtype: aggregate %s, aggregate_inplace %s;"
                                    + " Java kernel %s)%n",
                            agg.get("out_dtype"),
                            inpl.get("out_dtype"),
                            java.get("kernel"));
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "x4 (addAll, not yet used by the job): min over k %.2f%n",
                    minRatio4);
            System.out.println(
                    "ratio = min over k of Java updates/s (add per update, as the job) / best"
                            + " NumPy variant's updates/s");
            System.out.printf(Locale.ROOT, "ratio: %.2f%n", minRatio);
            return 0;
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /** "python 3.x, numpy y" or null when python3 or numpy is missing. */
    private static String probe(String python) {
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

    private static List<String> javaCommand(int k, int n, int repeats, int batch) {
        String java =
                ProcessHandle.current()
                        .info()
                        .command()
                        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("-XX:+UseG1GC");
        cmd.add("-Xmx1g");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(StreamingAggregate.class.getName());
        cmd.add("" + k);
        cmd.add("" + n);
        cmd.add("" + repeats);
        cmd.add("" + batch);
        return cmd;
    }

    private static String exec(List<String> cmd) throws IOException, InterruptedException {
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

    private static Map<String, String> parse(String line) {
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
