package io.fedstream.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A federation's report as one self-contained HTML page: the metric per version (where known), each
 * site's contributions and staleness, rejections by reason, round latency, and the versions as a
 * table. Charts are inline SVG drawn here, no script and nothing fetched, so the page opens from a
 * file anywhere, offline. Own code rather than a charting library: the charting libraries for the
 * JVM draw bitmaps, and the JavaScript ones would need a CDN or a bundled script.
 *
 * <p>Takes plain data ({@link Data}), so {@code ./fedstream report} (from Kafka) and {@code
 * ./fedstream local} (from its own run) write the same page.
 */
public final class ReportPage {
    private ReportPage() {}

    /** One site's part of a version. */
    public record Contribution(String site, long staleness, long examples) {}

    /**
     * A global version.
     *
     * @param metric the federation's metric of this version (e.g. held-out accuracy), null if
     *     unknown
     */
    public record Version(
            long version,
            String closeReason,
            long openedAtMs,
            long closedAtMs,
            List<Contribution> contributions,
            Double metric) {
        double latencySeconds() {
            return Math.max(0, closedAtMs - openedAtMs) / 1000.0;
        }
    }

    /** A dead letter: whose, and why. */
    public record Rejection(String site, String reason) {}

    /**
     * The page's content.
     *
     * @param metricName what {@link Version#metric} is, e.g. "held-out accuracy"
     * @param refreshSeconds the page reloads itself this often while a run goes on; 0 never
     */
    public record Data(
            String title,
            String federation,
            String metricName,
            List<Version> versions,
            List<Rejection> rejections,
            Instant generatedAt,
            int refreshSeconds) {}

    static final String[] PALETTE = {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf"
    };

    /** Writes {@code report.html} into {@code dir} (replacing it atomically); returns its path. */
    public static Path write(Path dir, Data data) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve("report.html");
        Path tmp = dir.resolve(".report.html.tmp");
        Files.writeString(tmp, html(data), StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    /** The page. */
    public static String html(Data d) {
        List<Version> vs = d.versions().stream().filter(v -> v.version() > 0).toList();
        TreeSet<String> sites = new TreeSet<>();
        vs.forEach(v -> v.contributions().forEach(c -> sites.add(c.site())));
        TreeSet<String> everyone = new TreeSet<>(sites);
        d.rejections().forEach(r -> everyone.add(r.site() == null ? "(unknown)" : r.site()));
        Map<String, String> colour = new LinkedHashMap<>();
        int i = 0;
        for (String s : everyone) {
            colour.put(s, PALETTE[i++ % PALETTE.length]);
        }
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        if (d.refreshSeconds() > 0) {
            h.append("<meta http-equiv=\"refresh\" content=\"")
                    .append(d.refreshSeconds())
                    .append("\">\n");
        }
        h.append("<title>").append(esc(d.title())).append("</title>\n<style>\n");
        h.append(
                "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fff}\n"
                        + "h1{font-size:22px;margin:0 0 4px}.sub{color:#666;margin-bottom:16px}\n"
                        + ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:16px}\n"
                        + ".card{border:1px solid #ddd;border-radius:8px;padding:12px 14px}\n"
                        + ".card h2{font-size:15px;margin:0 0 8px}.none{color:#888;font-size:13px}\n"
                        + ".legend span{display:inline-block;margin-right:12px;font-size:12px}\n"
                        + ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}\n"
                        + "table{border-collapse:collapse;font-size:12px;margin-top:16px}\n"
                        + "td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:right}\n"
                        + "td:nth-child(2),td:nth-child(4),th{text-align:left}\n"
                        + "svg text{font-size:11px;fill:#444}\n");
        h.append("</style></head><body>\n");
        h.append("<h1>").append(esc(d.title())).append("</h1>\n");
        long updates = vs.stream().mapToLong(v -> v.contributions().size()).sum();
        h.append("<div class=\"sub\">federation <b>")
                .append(esc(d.federation()))
                .append("</b> · ")
                .append(vs.size())
                .append(" versions · ")
                .append(updates)
                .append(" updates from ")
                .append(sites.size())
                .append(" sites · ")
                .append(d.rejections().size())
                .append(" rejected · generated ")
                .append(JobProgress.TIME.format(d.generatedAt()))
                .append(
                        d.refreshSeconds() > 0
                                ? " (refreshes every " + d.refreshSeconds() + " s)"
                                : "")
                .append("</div>\n");
        h.append("<div class=\"legend\">");
        colour.forEach(
                (s, c) ->
                        h.append("<span><i style=\"background:")
                                .append(c)
                                .append("\"></i>")
                                .append(esc(s))
                                .append("</span>"));
        h.append("</div>\n<div class=\"grid\">\n");

        // 1. the metric per version
        h.append("<div class=\"card\" id=\"metric\"><h2>")
                .append(esc(d.metricName() == null ? "metric" : d.metricName()))
                .append(" per version</h2>\n");
        List<double[]> points = new ArrayList<>();
        for (Version v : d.versions()) {
            if (v.metric() != null) {
                points.add(new double[] {v.version(), v.metric()});
            }
        }
        h.append(
                points.isEmpty()
                        ? "<div class=\"none\">no metric in the versions (./fedstream local evaluates"
                                + " each version on held-out data)</div>"
                        : lineChart(points, "#1f77b4"));
        h.append("</div>\n");

        // 2. contributions per version, by site
        h.append(
                "<div class=\"card\" id=\"contributions\"><h2>updates per version, by site</h2>\n");
        List<Map<String, Double>> stacks = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (Version v : vs) {
            Map<String, Double> m = new TreeMap<>();
            v.contributions().forEach(c -> m.merge(c.site(), 1.0, Double::sum));
            stacks.add(m);
            labels.add(Long.toString(v.version()));
        }
        h.append(
                vs.isEmpty()
                        ? "<div class=\"none\">no version yet</div>"
                        : stacked(labels, stacks, colour));
        h.append("</div>\n");

        // 3. staleness by site
        h.append(
                "<div class=\"card\" id=\"staleness\"><h2>staleness of each site's accepted updates (mean, max)</h2>\n");
        Map<String, long[]> st = new TreeMap<>(); // sum, count, max
        for (Version v : vs) {
            for (Contribution c : v.contributions()) {
                long[] a = st.computeIfAbsent(c.site(), k -> new long[3]);
                a[0] += c.staleness();
                a[1]++;
                a[2] = Math.max(a[2], c.staleness());
            }
        }
        Map<String, double[]> stBars = new LinkedHashMap<>();
        st.forEach((s, a) -> stBars.put(s, new double[] {(double) a[0] / a[1], a[2]}));
        h.append(
                stBars.isEmpty()
                        ? "<div class=\"none\">no update accepted yet</div>"
                        : bars(stBars, colour, true));
        h.append("</div>\n");

        // 4. rejections by reason
        h.append("<div class=\"card\" id=\"rejections\"><h2>rejections by reason</h2>\n");
        Map<String, Map<String, Double>> byReason = new TreeMap<>();
        for (Rejection r : d.rejections()) {
            byReason.computeIfAbsent(r.reason(), k -> new TreeMap<>())
                    .merge(r.site() == null ? "(unknown)" : r.site(), 1.0, Double::sum);
        }
        h.append(
                byReason.isEmpty()
                        ? "<div class=\"none\">nothing rejected</div>"
                        : stacked(
                                new ArrayList<>(byReason.keySet()),
                                new ArrayList<>(byReason.values()),
                                colour));
        h.append("</div>\n");

        // 5. round latency
        h.append(
                "<div class=\"card\" id=\"latency\"><h2>round latency (s, round opened to closed)</h2>\n");
        List<Map<String, Double>> lat = new ArrayList<>();
        for (Version v : vs) {
            lat.add(
                    Map.of(
                            "DEADLINE".equals(v.closeReason()) ? "deadline" : "quorum",
                            v.latencySeconds()));
        }
        Map<String, String> latColour = Map.of("quorum", "#4c78a8", "deadline", "#e45756");
        h.append(
                vs.isEmpty()
                        ? "<div class=\"none\">no version yet</div>"
                        : stacked(labels, lat, latColour));
        h.append(
                "<div class=\"legend\"><span><i style=\"background:#4c78a8\"></i>closed at quorum</span>"
                        + "<span><i style=\"background:#e45756\"></i>closed at deadline</span></div>");
        h.append("</div>\n</div>\n");

        // the versions as a table
        h.append(
                        "<table><tr><th>version</th><th>closed</th><th>updates</th><th>sites</th>"
                                + "<th>mean staleness</th><th>round s</th><th>")
                .append(esc(d.metricName() == null ? "metric" : d.metricName()))
                .append("</th></tr>\n");
        for (int k = d.versions().size() - 1; k >= 0; k--) {
            Version v = d.versions().get(k);
            h.append("<tr><td>")
                    .append(v.version())
                    .append("</td><td>")
                    .append(esc(v.closeReason()))
                    .append("</td><td>")
                    .append(v.contributions().size())
                    .append("</td><td>")
                    .append(
                            esc(
                                    String.join(
                                            " ",
                                            v.contributions().stream()
                                                    .map(Contribution::site)
                                                    .toList())))
                    .append("</td><td>")
                    .append(
                            fmt(
                                    v.contributions().stream()
                                            .mapToLong(Contribution::staleness)
                                            .average()
                                            .orElse(0)))
                    .append("</td><td>")
                    .append(fmt(v.latencySeconds()))
                    .append("</td><td>")
                    .append(v.metric() == null ? "" : fmt(v.metric()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n</body></html>\n");
        return h.toString();
    }

    static final int W = 520;
    static final int H = 220;
    static final int L = 44;
    static final int B = 26;
    static final int T = 10;

    private static String svgOpen() {
        return "<svg width=\"" + W + "\" height=\"" + H + "\" viewBox=\"0 0 " + W + " " + H + "\">";
    }

    private static String axes(double maxY, double minY) {
        StringBuilder s = new StringBuilder();
        int ph = H - B - T;
        for (int k = 0; k <= 4; k++) {
            double v = minY + (maxY - minY) * k / 4;
            int y = T + ph - (int) Math.round(ph * k / 4.0);
            s.append("<line x1=\"")
                    .append(L)
                    .append("\" x2=\"")
                    .append(W - 6)
                    .append("\" y1=\"")
                    .append(y)
                    .append("\" y2=\"")
                    .append(y)
                    .append("\" stroke=\"#eee\"/>");
            s.append("<text x=\"")
                    .append(L - 4)
                    .append("\" y=\"")
                    .append(y + 4)
                    .append("\" text-anchor=\"end\">")
                    .append(fmt(v))
                    .append("</text>");
        }
        s.append("<line x1=\"")
                .append(L)
                .append("\" x2=\"")
                .append(L)
                .append("\" y1=\"")
                .append(T)
                .append("\" y2=\"")
                .append(H - B)
                .append("\" stroke=\"#999\"/>");
        return s.toString();
    }

    /** A line with dots: x = version, y = value. */
    static String lineChart(List<double[]> pts, String colour) {
        double minX = pts.get(0)[0];
        double maxX = pts.get(pts.size() - 1)[0];
        double minY = pts.stream().mapToDouble(p -> p[1]).min().orElse(0);
        double maxY = pts.stream().mapToDouble(p -> p[1]).max().orElse(1);
        if (maxY - minY < 1e-9) {
            maxY = minY + 1;
        }
        double pad = (maxY - minY) * 0.08;
        minY -= pad;
        maxY += pad;
        int pw = W - L - 12;
        int ph = H - B - T;
        StringBuilder s = new StringBuilder(svgOpen()).append(axes(maxY, minY));
        StringBuilder path = new StringBuilder();
        StringBuilder dots = new StringBuilder();
        double spanX = Math.max(1, maxX - minX);
        for (double[] p : pts) {
            double x = L + 6 + (p[0] - minX) / spanX * (pw - 6);
            double y = T + ph - (p[1] - minY) / (maxY - minY) * ph;
            path.append(path.length() == 0 ? "M" : "L").append(fmt(x)).append(' ').append(fmt(y));
            dots.append("<circle cx=\"")
                    .append(fmt(x))
                    .append("\" cy=\"")
                    .append(fmt(y))
                    .append("\" r=\"3\" fill=\"")
                    .append(colour)
                    .append("\"><title>version ")
                    .append((long) p[0])
                    .append(": ")
                    .append(fmt(p[1]))
                    .append("</title></circle>");
        }
        s.append("<path d=\"")
                .append(path)
                .append("\" fill=\"none\" stroke=\"")
                .append(colour)
                .append("\" stroke-width=\"2\"/>")
                .append(dots);
        for (int k = 0; k <= 5; k++) {
            long v = Math.round(minX + spanX * k / 5);
            double x = L + 6 + (v - minX) / spanX * (pw - 6);
            s.append("<text x=\"")
                    .append(fmt(x))
                    .append("\" y=\"")
                    .append(H - 8)
                    .append("\" text-anchor=\"middle\">")
                    .append(v)
                    .append("</text>");
        }
        return s.append("</svg>").toString();
    }

    /** Stacked bars, one per label, segments coloured by key. */
    static String stacked(
            List<String> labels, List<Map<String, Double>> stacks, Map<String, String> colour) {
        double max =
                stacks.stream()
                        .mapToDouble(
                                m -> m.values().stream().mapToDouble(Double::doubleValue).sum())
                        .max()
                        .orElse(1);
        if (max <= 0) {
            max = 1;
        }
        int pw = W - L - 12;
        int ph = H - B - T;
        int n = labels.size();
        double slot = (double) pw / Math.max(n, 1);
        double bw = Math.max(1, Math.min(40, slot * 0.75));
        StringBuilder s = new StringBuilder(svgOpen()).append(axes(max, 0));
        int every = Math.max(1, (int) Math.ceil(n / 12.0));
        for (int k = 0; k < n; k++) {
            double x = L + 6 + k * slot + (slot - bw) / 2;
            double y = T + ph;
            for (Map.Entry<String, Double> e : stacks.get(k).entrySet()) {
                double hgt = e.getValue() / max * ph;
                y -= hgt;
                s.append("<rect x=\"")
                        .append(fmt(x))
                        .append("\" y=\"")
                        .append(fmt(y))
                        .append("\" width=\"")
                        .append(fmt(bw))
                        .append("\" height=\"")
                        .append(fmt(hgt))
                        .append("\" fill=\"")
                        .append(colour.getOrDefault(e.getKey(), "#999"))
                        .append("\"><title>")
                        .append(esc(labels.get(k)))
                        .append(" ")
                        .append(esc(e.getKey()))
                        .append(": ")
                        .append(fmt(e.getValue()))
                        .append("</title></rect>");
            }
            if (k % every == 0) {
                String label = labels.get(k);
                s.append("<text x=\"")
                        .append(fmt(x + bw / 2))
                        .append("\" y=\"")
                        .append(H - 8)
                        .append("\" text-anchor=\"middle\">")
                        .append(esc(label.length() > 14 ? label.substring(0, 13) + "…" : label))
                        .append("</text>");
            }
        }
        return s.append("</svg>").toString();
    }

    /** One bar per key (value[0]), with a tick at value[1] when {@code withMax}. */
    static String bars(Map<String, double[]> values, Map<String, String> colour, boolean withMax) {
        double max =
                values.values().stream()
                        .mapToDouble(v -> Math.max(v[0], withMax ? v[1] : 0))
                        .max()
                        .orElse(1);
        if (max <= 0) {
            max = 1;
        }
        int pw = W - L - 12;
        int ph = H - B - T;
        int n = values.size();
        double slot = (double) pw / Math.max(n, 1);
        double bw = Math.max(2, Math.min(50, slot * 0.6));
        StringBuilder s = new StringBuilder(svgOpen()).append(axes(max, 0));
        int k = 0;
        for (Map.Entry<String, double[]> e : values.entrySet()) {
            double x = L + 6 + k * slot + (slot - bw) / 2;
            double hgt = e.getValue()[0] / max * ph;
            s.append("<rect x=\"")
                    .append(fmt(x))
                    .append("\" y=\"")
                    .append(fmt(T + ph - hgt))
                    .append("\" width=\"")
                    .append(fmt(bw))
                    .append("\" height=\"")
                    .append(fmt(hgt))
                    .append("\" fill=\"")
                    .append(colour.getOrDefault(e.getKey(), "#999"))
                    .append("\"><title>")
                    .append(esc(e.getKey()))
                    .append(": mean ")
                    .append(fmt(e.getValue()[0]))
                    .append(", max ")
                    .append(fmt(e.getValue()[1]))
                    .append("</title></rect>");
            if (withMax) {
                double y = T + ph - e.getValue()[1] / max * ph;
                s.append("<line x1=\"")
                        .append(fmt(x - 3))
                        .append("\" x2=\"")
                        .append(fmt(x + bw + 3))
                        .append("\" y1=\"")
                        .append(fmt(y))
                        .append("\" y2=\"")
                        .append(fmt(y))
                        .append("\" stroke=\"#333\" stroke-width=\"2\"/>");
            }
            s.append("<text x=\"")
                    .append(fmt(x + bw / 2))
                    .append("\" y=\"")
                    .append(H - 8)
                    .append("\" text-anchor=\"middle\">")
                    .append(esc(e.getKey()))
                    .append("</text>");
            k++;
        }
        return s.append("</svg>").toString();
    }

    static String fmt(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) {
            return Long.toString((long) v);
        }
        String f = String.format(Locale.ROOT, Math.abs(v) >= 10 ? "%.1f" : "%.3f", v);
        return f.contains(".") ? f.replaceAll("0+$", "").replaceAll("\\.$", "") : f;
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
