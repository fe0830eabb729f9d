package io.fedstream.cli;

import java.awt.BasicStroke;
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
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/** Writes a run's versions as CSV and as a PNG chart of held-out accuracy and loss per version. */
final class Report {
    private Report() {}

    static void writeCsv(Path file, List<VersionRow> rows) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(VersionRow.csvHeader());
        rows.forEach(r -> lines.add(r.csv()));
        Files.write(file, lines);
    }

    /** Two panels: accuracy (top) and loss (bottom) of every version on the held-out set. */
    static void writeChart(Path file, List<VersionRow> rows, String title) throws IOException {
        int w = 900;
        int h = 600;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            g.drawString(title, 70, 28);
            panel(
                    g,
                    rows,
                    VersionRow::evalAccuracy,
                    "held-out accuracy",
                    70,
                    50,
                    w - 100,
                    220,
                    new Color(0x1f77b4));
            panel(
                    g,
                    rows,
                    VersionRow::evalLoss,
                    "held-out loss",
                    70,
                    330,
                    w - 100,
                    220,
                    new Color(0xd62728));
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            g.setColor(Color.DARK_GRAY);
            g.drawString("global version", w / 2 - 40, h - 12);
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static void panel(
            Graphics2D g,
            List<VersionRow> rows,
            ToDoubleFunction<VersionRow> y,
            String label,
            int x0,
            int y0,
            int pw,
            int ph,
            Color color) {
        g.setColor(new Color(0xF4F4F4));
        g.fillRect(x0, y0, pw, ph);
        g.setColor(Color.GRAY);
        g.drawRect(x0, y0, pw, ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(Color.BLACK);
        g.drawString(label, x0 + 6, y0 + 16);
        if (rows.isEmpty()) {
            return;
        }
        double minY = rows.stream().mapToDouble(y).min().orElse(0);
        double maxY = rows.stream().mapToDouble(y).max().orElse(1);
        if (maxY - minY < 1e-9) {
            maxY = minY + 1;
        }
        double pad = (maxY - minY) * 0.08;
        minY -= pad;
        maxY += pad;
        long maxV = rows.get(rows.size() - 1).version();
        long minV = rows.get(0).version();
        long spanV = Math.max(1, maxV - minV);
        g.setColor(Color.DARK_GRAY);
        for (int i = 0; i <= 4; i++) {
            double v = minY + (maxY - minY) * i / 4;
            int py = y0 + ph - (int) ((v - minY) / (maxY - minY) * ph);
            g.drawString(String.format(Locale.ROOT, "%.3f", v), x0 - 48, py + 4);
        }
        for (int i = 0; i <= 5; i++) {
            long v = minV + spanV * i / 5;
            int px = x0 + (int) ((double) (v - minV) / spanV * pw);
            g.drawString(Long.toString(v), px - 4, y0 + ph + 14);
        }
        g.setColor(color);
        g.setStroke(new BasicStroke(2f));
        int prevX = -1;
        int prevY = -1;
        for (VersionRow r : rows) {
            int px = x0 + (int) ((double) (r.version() - minV) / spanV * pw);
            int py = y0 + ph - (int) ((y.applyAsDouble(r) - minY) / (maxY - minY) * ph);
            if (prevX >= 0) {
                g.drawLine(prevX, prevY, px, py);
            }
            g.fillOval(px - 3, py - 3, 6, 6);
            prevX = px;
            prevY = py;
        }
    }
}
