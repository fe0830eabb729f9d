package io.fedstream.lab.experiment;

import io.fedstream.lab.experiment.AsyncExperimentCommand.Point;
import io.fedstream.lab.experiment.AsyncExperimentCommand.Run;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The asynchronous experiment's numbers: per seed, the synchronous run's final metric is the
 * target; each method's time to reach it; the speedup of the best asynchronous method over the
 * synchronous one; the metric at the end of the budget. Written as Markdown, CSV and a chart.
 */
final class AsyncReport {
    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)
    };

    private AsyncReport() {}

    /** Per seed: the target, and each method's time to it (NaN: not reached) and final metric. */
    record SeedResult(
            long seed, double target, Map<String, Double> timeTo, Map<String, Double> last) {
        /** Synchronous time to target over the best asynchronous method's; NaN if none reached. */
        double speedup() {
            double sync = timeTo.getOrDefault("sync", Double.NaN);
            double best = Double.NaN;
            for (Map.Entry<String, Double> e : timeTo.entrySet()) {
                if (!e.getKey().equals("sync") && !Double.isNaN(e.getValue())) {
                    best = Double.isNaN(best) ? e.getValue() : Math.min(best, e.getValue());
                }
            }
            return sync / best;
        }
    }

    static List<SeedResult> bySeed(List<Run> runs) {
        Map<Long, List<Run>> seeds = new LinkedHashMap<>();
        for (Run r : runs) {
            seeds.computeIfAbsent(r.seed(), s -> new ArrayList<>()).add(r);
        }
        List<SeedResult> out = new ArrayList<>();
        for (Map.Entry<Long, List<Run>> e : seeds.entrySet()) {
            double target = Double.NaN;
            for (Run r : e.getValue()) {
                if (r.method().name().equals("sync")) {
                    target = r.finalMetric();
                }
            }
            Map<String, Double> timeTo = new LinkedHashMap<>();
            Map<String, Double> last = new LinkedHashMap<>();
            for (Run r : e.getValue()) {
                timeTo.put(r.method().name(), r.timeTo(target));
                last.put(r.method().name(), r.finalMetric());
            }
            out.add(new SeedResult(e.getKey(), target, timeTo, last));
        }
        return out;
    }

    /** The console summary; its last line is {@code speedup: X} (median over seeds). */
    static String summary(List<Run> runs, String metric) {
        List<SeedResult> seeds = bySeed(runs);
        StringBuilder sb = new StringBuilder();
        sb.append(table(seeds, metric));
        double[] speedups = seeds.stream().mapToDouble(SeedResult::speedup).toArray();
        double median = median(speedups);
        sb.append(
                String.format(
                        Locale.ROOT,
                        "speedup per seed: %s (synchronous time to its own final %s over the best"
                                + " asynchronous method's; NaN: no asynchronous method reached it)%n",
                        Arrays.toString(round(speedups)),
                        metric));
        // the last line, always: NaN when no asynchronous method reached the target on any seed
        sb.append(String.format(Locale.ROOT, "speedup: %.2f%n", median));
        return sb.toString();
    }

    static String table(List<SeedResult> seeds, String metric) {
        StringBuilder sb = new StringBuilder();
        sb.append("| seed | target (sync final ")
                .append(metric)
                .append(") | method | time to target (s) | final ")
                .append(metric)
                .append(" |\n|---:|---:|---|---:|---:|\n");
        for (SeedResult s : seeds) {
            for (String m : s.timeTo().keySet()) {
                sb.append(
                        String.format(
                                Locale.ROOT,
                                "| %d | %.3f | %s | %s | %.3f |%n",
                                s.seed(),
                                s.target(),
                                m,
                                Double.isNaN(s.timeTo().get(m))
                                        ? "not reached"
                                        : String.format(Locale.ROOT, "%.1f", s.timeTo().get(m)),
                                s.last().get(m)));
            }
        }
        return sb.toString();
    }

    static void write(Path out, List<Run> runs, String metric, Duration budget, String command)
            throws IOException {
        List<String> csv = new ArrayList<>();
        csv.add("method,seed,seconds,version,metric,mean_staleness");
        for (Run r : runs) {
            for (Point p : r.points()) {
                csv.add(
                        String.format(
                                Locale.ROOT,
                                "%s,%d,%.3f,%d,%.6f,%.3f",
                                r.method().name(),
                                r.seed(),
                                p.seconds(),
                                p.version(),
                                p.metric(),
                                p.meanStaleness()));
            }
        }
        Files.write(out.resolve("async.csv"), csv);
        StringBuilder md = new StringBuilder();
        md.append("# Asynchronous rounds against synchronous FedAvg\n\n```\n")
                .append(command)
                .append("\n```\n\n");
        md.append("Methods: ");
        for (Run r : runs) {
            if (r.seed() == runs.get(0).seed()) {
                md.append(
                        String.format(
                                Locale.ROOT,
                                "%s (quorum %d, server lr %s, staleness %s, normalization %s) ",
                                r.method().name(),
                                r.method().quorum(),
                                r.method().serverLr(),
                                r.method().staleness(),
                                r.method().normalization()));
            }
        }
        md.append("\n\n").append(summary(runs, metric).replace("speedup:", "\nspeedup:"));
        Files.writeString(out.resolve("async.md"), md.toString());
        chart(out.resolve("async.png"), runs, metric, budget);
    }

    private static void chart(Path file, List<Run> runs, String metric, Duration budget)
            throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        XYStepRenderer renderer = new XYStepRenderer();
        List<String> methods = new ArrayList<>();
        int i = 0;
        for (Run r : runs) {
            if (!methods.contains(r.method().name())) {
                methods.add(r.method().name());
            }
            XYSeries s = new XYSeries(r.method().name() + " seed " + r.seed());
            for (Point p : r.points()) {
                s.add(p.seconds(), p.metric());
            }
            data.addSeries(s);
            renderer.setSeriesPaint(i, COLORS[methods.indexOf(r.method().name()) % COLORS.length]);
            renderer.setSeriesStroke(i, new BasicStroke(1.5f));
            i++;
        }
        NumberAxis x = new NumberAxis("wall-clock seconds since the workers started");
        x.setRange(0, budget.toMillis() / 1000.0);
        NumberAxis y = new NumberAxis("held-out " + metric + " of the global adapter");
        y.setAutoRangeIncludesZero(false);
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart =
                new JFreeChart(
                        "Asynchronous vs synchronous rounds (real job, delayed sites)",
                        JFreeChart.DEFAULT_TITLE_FONT,
                        plot,
                        true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 1000, 650);
    }

    static double median(double[] xs) {
        double[] s = Arrays.stream(xs).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (s.length == 0) {
            return Double.NaN;
        }
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double[] round(double[] xs) {
        double[] o = new double[xs.length];
        for (int i = 0; i < xs.length; i++) {
            o[i] = Double.isNaN(xs[i]) ? Double.NaN : Math.round(xs[i] * 100) / 100.0;
        }
        return o;
    }
}
