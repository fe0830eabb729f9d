package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report page as a person sees it: rendered by headless Chromium (skipped where there is none),
 * its charts are drawn, not blank.
 */
class ReportPageTest {
    @TempDir Path dir;

    static ReportPage.Data sample() {
        List<ReportPage.Version> vs = new ArrayList<>();
        vs.add(new ReportPage.Version(0, "GENESIS", 0, 0, List.of(), 0.16));
        String[] sites = {"site-1", "site-2", "site-3"};
        for (int v = 1; v <= 12; v++) {
            List<ReportPage.Contribution> cs = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                cs.add(new ReportPage.Contribution(sites[(v + k) % 3], (v + k) % 3, 100));
            }
            vs.add(
                    new ReportPage.Version(
                            v,
                            v % 5 == 0 ? "DEADLINE" : "QUORUM",
                            v * 10_000L,
                            v * 10_000L + 800 + (v % 5 == 0 ? 5_000 : 0),
                            cs,
                            0.5 + 0.3 * (1 - Math.exp(-v / 3.0))));
        }
        List<ReportPage.Rejection> rs =
                List.of(
                        new ReportPage.Rejection("site-2", "TOO_STALE"),
                        new ReportPage.Rejection("site-2", "TOO_STALE"),
                        new ReportPage.Rejection(null, "NOT_AVRO"),
                        new ReportPage.Rejection("site-3", "MISSING_SIGNATURE"));
        return new ReportPage.Data(
                "FedStream report: demo", "demo", "held-out accuracy", vs, rs, Instant.now(), 0);
    }

    static ReportPage.Data empty() {
        return new ReportPage.Data(
                "FedStream report: demo",
                "demo",
                "held-out accuracy",
                List.of(),
                List.of(),
                Instant.now(),
                0);
    }

    @Test
    void thePageIsSelfContainedAndNamesWhatItShows() {
        String html = ReportPage.html(sample());
        assertThat(html)
                .contains("<svg", "held-out accuracy per version", "updates per version, by site")
                .contains("staleness", "rejections by reason", "TOO_STALE", "round latency")
                .doesNotContain("<script", "http://", "https://cdn", "src=\"http");
        assertThat(
                        ReportPage.html(
                                new ReportPage.Data(
                                        "t", "f<x>", null, List.of(), List.of(), Instant.now(), 5)))
                .contains("f&lt;x&gt;")
                .contains("http-equiv=\"refresh\" content=\"5\"");
    }

    static Path chromium() {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        return null;
    }

    static BufferedImage screenshot(Path chromium, Path html, Path png, Path profile)
            throws Exception {
        Process p =
                new ProcessBuilder(
                                chromium.toString(),
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--no-first-run",
                                "--hide-scrollbars",
                                "--user-data-dir=" + profile,
                                "--screenshot=" + png,
                                "--window-size=1200,900",
                                html.toUri().toString())
                        .redirectErrorStream(true)
                        .redirectOutput(
                                profile.resolveSibling(profile.getFileName() + ".log").toFile())
                        .start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        assertThat(png).exists();
        return ImageIO.read(png.toFile());
    }

    /** Pixels of a chart colour (saturated), not text, grid lines or background. */
    static int colouredPixels(BufferedImage img) {
        int n = 0;
        for (int y = 60; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                int r = (rgb >> 16) & 255;
                int g = (rgb >> 8) & 255;
                int b = rgb & 255;
                if (Math.max(r, Math.max(g, b)) - Math.min(r, Math.min(g, b)) > 60) {
                    n++;
                }
            }
        }
        return n;
    }

    @Test
    void chromiumShowsTheCharts() throws Exception {
        Path chromium = chromium();
        assumeTrue(chromium != null, "no chromium on this machine (apt-get install chromium)");
        Path page = ReportPage.write(dir.resolve("full"), sample());
        BufferedImage full =
                screenshot(chromium, page, dir.resolve("full.png"), dir.resolve("profile1"));
        Path blank = ReportPage.write(dir.resolve("empty"), empty());
        BufferedImage none =
                screenshot(chromium, blank, dir.resolve("empty.png"), dir.resolve("profile2"));
        Files.copy(
                dir.resolve("full.png"),
                Path.of("target", "report-screenshot.png"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        int drawn = colouredPixels(full);
        assertThat(none.getWidth()).isEqualTo(1200);
        assertThat(colouredPixels(none)).as("an empty report draws no chart").isLessThan(500);
        assertThat(drawn).as("coloured chart pixels").isGreaterThan(20_000);
    }
}
