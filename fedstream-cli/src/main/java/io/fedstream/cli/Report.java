package io.fedstream.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Writes a local run's versions as CSV and as a PNG chart (JFreeChart): the global adapter's
 * held-out metric per version, each site's metric, and the site-alone baseline as a dashed line.
 */
public final class Report {
    private Report() {}

    static void writeCsv(Path file, List<String> siteIds, List<VersionRow> rows)
            throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(VersionRow.csvHeader(siteIds));
        rows.forEach(r -> lines.add(r.csv()));
        Files.write(file, lines);
    }

    static void writeChart(
            Path file,
            String title,
            String metricName,
            List<String> siteIds,
            List<VersionRow> rows,
            LocalTask.Score baseline)
            throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        XYSeries global = new XYSeries("global adapter (mean over sites)");
        for (VersionRow r : rows) {
            global.add(r.version(), r.metric());
        }
        data.addSeries(global);
        XYSeries alone = new XYSeries("site-alone baseline (mean)");
        if (baseline != null && !rows.isEmpty()) {
            alone.add(rows.get(0).version(), baseline.metric());
            alone.add(rows.get(rows.size() - 1).version(), baseline.metric());
            data.addSeries(alone);
        }
        for (int s = 0; s < siteIds.size(); s++) {
            XYSeries site = new XYSeries(siteIds.get(s));
            for (VersionRow r : rows) {
                if (s < r.perSite().size()) {
                    site.add(r.version(), r.perSite().get(s));
                }
            }
            data.addSeries(site);
        }
        NumberAxis x = new NumberAxis("global version");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        NumberAxis y = new NumberAxis("held-out " + metricName);
        y.setAutoRangeIncludesZero(false);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        renderer.setSeriesPaint(0, Color.BLACK);
        renderer.setSeriesStroke(0, new BasicStroke(3f));
        renderer.setSeriesShapesVisible(0, true);
        int first = 1;
        if (baseline != null && !rows.isEmpty()) {
            renderer.setSeriesPaint(1, new Color(0xd62728));
            renderer.setSeriesStroke(
                    1,
                    new BasicStroke(
                            2.5f,
                            BasicStroke.CAP_BUTT,
                            BasicStroke.JOIN_MITER,
                            10f,
                            new float[] {8f, 6f},
                            0f));
            first = 2;
        }
        for (int i = first; i < data.getSeriesCount(); i++) {
            renderer.setSeriesStroke(i, new BasicStroke(1f));
        }
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 1000, 650);
    }
}
