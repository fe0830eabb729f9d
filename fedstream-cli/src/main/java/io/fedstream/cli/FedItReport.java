package io.fedstream.cli;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** The report of {@link FedItExperiment}: Markdown table, CSVs and a grouped bar chart. */
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
        List<String> groups = new ArrayList<>(r.sites());
        groups.add("mean");
        List<String> series = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        for (FedItExperiment.MethodResult m : r.methods()) {
            series.add(m.method());
            double[] v = new double[groups.size()];
            for (int i = 0; i < r.sites().size(); i++) {
                v[i] = m.sites().get(i).accuracy();
            }
            v[groups.size() - 1] = m.meanAccuracy();
            values.add(v);
        }
        int w = Math.max(900, 90 * groups.size() + 120);
        int h = 520;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.drawString(title.length() > 140 ? title.substring(0, 140) + "…" : title, 20, 24);
            int x0 = 60;
            int y0 = 60;
            int pw = w - 90;
            int ph = h - 160;
            g.setColor(new Color(0xF4F4F4));
            g.fillRect(x0, y0, pw, ph);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (int i = 0; i <= 5; i++) {
                double v = i / 5.0;
                int py = y0 + ph - (int) (v * ph);
                g.setColor(new Color(0xDDDDDD));
                g.drawLine(x0, py, x0 + pw, py);
                g.setColor(Color.DARK_GRAY);
                g.drawString(String.format(Locale.ROOT, "%.1f", v), x0 - 30, py + 4);
            }
            g.drawString("held-out accuracy", x0 + 4, y0 - 6);
            double groupW = (double) pw / groups.size();
            double barW = groupW * 0.8 / Math.max(1, series.size());
            for (int gi = 0; gi < groups.size(); gi++) {
                double gx = x0 + gi * groupW + groupW * 0.1;
                for (int si = 0; si < series.size(); si++) {
                    double v = values.get(si)[gi];
                    int bh = (int) (Math.max(0, Math.min(1, v)) * ph);
                    g.setColor(COLORS[(si + 1) % COLORS.length]);
                    g.fillRect((int) (gx + si * barW), y0 + ph - bh, (int) Math.ceil(barW) - 1, bh);
                }
                g.setColor(Color.BLACK);
                String label = groups.get(gi);
                if (label.length() > 14) {
                    label = label.substring(0, 13) + "…";
                }
                g.drawString(label, (int) (gx), y0 + ph + 16);
            }
            g.setColor(Color.GRAY);
            g.drawRect(x0, y0, pw, ph);
            int lx = x0;
            for (int si = 0; si < series.size(); si++) {
                g.setColor(COLORS[(si + 1) % COLORS.length]);
                g.fillRect(lx, h - 50, 14, 14);
                g.setColor(Color.BLACK);
                g.drawString(series.get(si), lx + 20, h - 39);
                lx += 120;
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }
}
