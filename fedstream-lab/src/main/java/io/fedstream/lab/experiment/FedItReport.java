package io.fedstream.lab.experiment;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * The report of {@link FedItExperiment}: Markdown table, CSVs and a grouped bar chart (JFreeChart,
 * as every chart the CLI draws).
 */
final class FedItReport {
    private static final Color[] COLORS = {
        new Color(0x7f7f7f),
        new Color(0x1f77b4),
        new Color(0xff7f0e),
        new Color(0x2ca02c),
        new Color(0xd62728),
        new Color(0x9467bd)
    };

    private FedItReport() {}

    static String markdown(
            FedItExperiment.Result r, FedItExperiment.Settings s, String command, double seconds) {
        StringBuilder sb = new StringBuilder();
        sb.append("# FedIT on MedQuAD: held-out accuracy / loss per site\n\n");
        sb.append("`").append(command).append("`\n\n");
        sb.append(
                String.format(
                        Locale.ROOT,
                        "Question-type classification (%d classes) with all-MiniLM-L6-v2 + LoRA"
                                + " (rank %d, alpha %s, targets %s) + linear head; %d rounds ×"
                                + " %d local epochs, batch %d, Adam lr %s, seed %d. Wall time"
                                + " %.1f s.%n%n",
                        r.labels().size(),
                        s.rank(),
                        s.alpha(),
                        s.targets(),
                        s.rounds(),
                        s.localEpochs(),
                        s.batchSize(),
                        s.learningRate(),
                        s.seed(),
                        seconds));
        sb.append("| site | train | test |");
        for (FedItExperiment.MethodResult m : r.methods()) {
            sb.append(' ')
                    .append(m.method())
                    .append(" acc | ")
                    .append(m.method())
                    .append(" loss |");
        }
        sb.append('\n').append("|---|---:|---:|");
        r.methods().forEach(m -> sb.append("---:|---:|"));
        sb.append('\n');
        for (int i = 0; i < r.sites().size(); i++) {
            FedItExperiment.SiteScore first = r.initial().get(i);
            sb.append("| ")
                    .append(first.site())
                    .append(" | ")
                    .append(first.trainExamples())
                    .append(" | ")
                    .append(first.testExamples())
                    .append(" |");
            for (FedItExperiment.MethodResult m : r.methods()) {
                FedItExperiment.SiteScore x = m.sites().get(i);
                sb.append(String.format(Locale.ROOT, " %.3f | %.3f |", x.accuracy(), x.loss()));
            }
            sb.append('\n');
        }
        sb.append("| **mean** | | |");
        for (FedItExperiment.MethodResult m : r.methods()) {
            sb.append(
                    String.format(
                            Locale.ROOT, " **%.3f** | **%.3f** |", m.meanAccuracy(), m.meanLoss()));
        }
        sb.append("\n\n");
        sb.append(
                String.format(
                        Locale.ROOT,
                        "Version 0 (pretrained encoder, untrained head): mean accuracy %.3f, loss"
                                + " %.3f.%n%n",
                        FedItExperiment.mean(r.initial(), true),
                        FedItExperiment.mean(r.initial(), false)));
        sb.append(
                "| method | local rounds | optimizer steps | time (s) | LoRA gap |\n"
                        + "|---|---:|---:|---:|---:|\n");
        for (FedItExperiment.MethodResult m : r.methods()) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %d | %d | %.1f | %s |%n",
                            m.method(),
                            m.siteRounds(),
                            m.steps(),
                            m.millis() / 1000.0,
                            Double.isNaN(m.loraGap())
                                    ? "-"
                                    : String.format(Locale.ROOT, "%.3g", m.loraGap())));
        }
        int n = r.sites().size();
        sb.append('\n')
                .append("Methods (all from the same version 0: LoRA B = 0, head N(0, 0.02)):\n\n");
        sb.append(
                String.format(
                        Locale.ROOT,
                        "- local: each site alone, %d rounds x %d epochs on its own examples"
                                + " (fresh Adam moments each round, like a one-site"
                                + " federation).%n"
                                + "- fedavg: %d synchronous rounds; every site trains %d epochs"
                                + " from the global adapter; global += sum(n_i delta_i) / sum(n_i)"
                                + " (WeightedAccumulator, eta = 1).%n"
                                + "- async: site i (0-based, in table order) needs 1 + i %% 3"
                                + " ticks per local round of %d epochs, trained from the global"
                                + " version current when it started; %d ticks; when %d updates"
                                + " are buffered they are aggregated with weights n_i * (1 +"
                                + " s_i)^-%s, s_i = current version - base version, eta = 1;"
                                + " within a tick sites are handled in index order and a site"
                                + " restarts from the newest version; updates left in the buffer"
                                + " at the end are dropped.%n"
                                + "- central: one model on the union of the sites' training"
                                + " examples, %d rounds x %d epochs.%n"
                                + "- factor-mean, ffa, product: synchronous rounds like fedavg,"
                                + " aggregated per LoRA pair on the sites' full adapters"
                                + " (LoraRound): factor-mean averages A and B separately (the"
                                + " common behaviour), ffa trains with A frozen at version 0's"
                                + " value and averages B (FFA-LoRA, exact), product averages"
                                + " the products B_i A_i and re-factorises them to the same rank"
                                + " by SVD. LoRA gap: mean over rounds and layers of |B'A' -"
                                + " mean(B_i A_i)| / |mean(B_i A_i)|.%n",
                        s.rounds(),
                        s.localEpochs(),
                        s.rounds(),
                        s.localEpochs(),
                        s.localEpochs(),
                        s.ticksFor(n),
                        s.quorumFor(n),
                        s.stalenessExponent(),
                        s.rounds(),
                        s.localEpochs()));
        sb.append('\n').append(r.notes()).append('\n');
        return sb.toString();
    }

    static void writeCsv(Path file, FedItExperiment.Result r) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("method,site,train_examples,test_examples,accuracy,loss");
        for (FedItExperiment.SiteScore x : r.initial()) {
            lines.add(row("version0", x));
        }
        for (FedItExperiment.MethodResult m : r.methods()) {
            for (FedItExperiment.SiteScore x : m.sites()) {
                lines.add(row(m.method(), x));
            }
        }
        Files.write(file, lines);
    }

    private static String row(String method, FedItExperiment.SiteScore x) {
        return String.format(
                Locale.ROOT,
                "%s,%s,%d,%d,%.6f,%.6f",
                method,
                x.site(),
                x.trainExamples(),
                x.testExamples(),
                x.accuracy(),
                x.loss());
    }

    static void writeCurveCsv(Path file, FedItExperiment.Result r) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("method,step,local_rounds,mean_accuracy,mean_loss");
        for (FedItExperiment.CurvePoint p : r.curve()) {
            lines.add(
                    String.format(
                            Locale.ROOT,
                            "%s,%d,%d,%.6f,%.6f",
                            p.method(),
                            p.step(),
                            p.siteRounds(),
                            p.accuracy(),
                            p.loss()));
        }
        Files.write(file, lines);
    }

    /** Grouped bars: held-out accuracy per site (and the mean), one bar per method. */
    static void writeChart(Path file, FedItExperiment.Result r, String title) throws IOException {
        int width = Math.max(900, 90 * (r.sites().size() + 1) + 120);
        ChartUtils.saveChartAsPNG(file.toFile(), chart(r, title), width, 520);
    }

    /**
     * The chart of {@link #writeChart}: a category per site and one for the mean, a series (bar
     * colour, legend entry) per method, accuracy on a 0 to 1 axis.
     */
    static JFreeChart chart(FedItExperiment.Result r, String title) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (FedItExperiment.MethodResult m : r.methods()) {
            for (int i = 0; i < r.sites().size(); i++) {
                data.addValue(m.sites().get(i).accuracy(), m.method(), r.sites().get(i));
            }
            data.addValue(m.meanAccuracy(), m.method(), "mean");
        }
        CategoryAxis sites = new CategoryAxis("site");
        sites.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        sites.setMaximumCategoryLabelWidthRatio(2f);
        NumberAxis accuracy = new NumberAxis("held-out accuracy");
        accuracy.setRange(0, 1);
        BarRenderer bars = new BarRenderer();
        bars.setBarPainter(new StandardBarPainter());
        bars.setShadowVisible(false);
        bars.setItemMargin(0.02);
        for (int i = 0; i < r.methods().size(); i++) {
            bars.setSeriesPaint(i, COLORS[(i + 1) % COLORS.length]);
        }
        CategoryPlot plot = new CategoryPlot(data, sites, accuracy, bars);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart =
                new JFreeChart(
                        title.length() > 140 ? title.substring(0, 140) + "…" : title,
                        new Font(Font.SANS_SERIF, Font.BOLD, 13),
                        plot,
                        true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}
