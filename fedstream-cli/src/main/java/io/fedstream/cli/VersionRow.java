package io.fedstream.cli;

import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One line of the local run's report: a global version, how good it is on held-out data, and the
 * site-alone baseline it is compared with.
 *
 * @param metric the version's held-out metric, mean over sites (higher is better)
 * @param baseline the site-alone baseline's metric, the same for every row of a run
 * @param perSite the version's metric per site, in the task's site order
 * @param seenAtMs when the monitor read the version from Kafka (epoch milliseconds)
 * @param epsilon with central DP, the largest ε at the run's δ that any site has spent up to and
 *     including this version (from the privacy ledger; 0 at version 0); NaN without DP
 */
public record VersionRow(
        long version,
        long closedAtMs,
        String closeReason,
        int contributors,
        String sites,
        double meanStaleness,
        long maxStaleness,
        double evalLoss,
        double metric,
        double baseline,
        List<Double> perSite,
        long seenAtMs,
        double epsilon) {

    public VersionRow {
        perSite = List.copyOf(perSite);
    }

    /**
     * {@code seenAtMs}: when the version was read from Kafka (readable to every site); {@code
     * epsilon}: the spend of the version's privacy ledger record (NaN without DP).
     */
    static VersionRow of(
            GlobalModel g, LocalTask.Score score, double baseline, long seenAtMs, double epsilon) {
        List<Contribution> cs = g.getManifest().getContributions();
        return new VersionRow(
                g.getVersion(),
                g.getManifest().getRoundClosedAtMs().toEpochMilli(),
                g.getManifest().getCloseReason().name(),
                cs.size(),
                cs.stream().map(Contribution::getSiteId).collect(Collectors.joining(" ")),
                cs.stream().mapToLong(Contribution::getStaleness).average().orElse(0),
                cs.stream().mapToLong(Contribution::getStaleness).max().orElse(0),
                score.loss(),
                score.metric(),
                baseline,
                score.perSite(),
                seenAtMs,
                epsilon);
    }

    /**
     * The header; {@code siteIds} name the per-site metric columns, and the last column is {@code
     * epsilon} (empty without DP).
     */
    static String csvHeader(List<String> siteIds) {
        StringBuilder sb =
                new StringBuilder(
                        "version,closed_at_ms,close_reason,contributors,sites,mean_staleness,"
                                + "max_staleness,metric,baseline,loss");
        for (String s : siteIds) {
            sb.append(",metric_").append(s);
        }
        return sb.append(",epsilon").toString();
    }

    String csv() {
        StringBuilder sb =
                new StringBuilder(
                        String.format(
                                Locale.ROOT,
                                "%d,%d,%s,%d,%s,%.3f,%d,%.6f,%.6f,%.6f",
                                version,
                                closedAtMs,
                                closeReason,
                                contributors,
                                sites,
                                meanStaleness,
                                maxStaleness,
                                metric,
                                baseline,
                                evalLoss));
        for (double v : perSite) {
            sb.append(String.format(Locale.ROOT, ",%.6f", v));
        }
        sb.append(',');
        if (!Double.isNaN(epsilon)) {
            sb.append(String.format(Locale.ROOT, "%.6f", epsilon));
        }
        return sb.toString();
    }

    /**
     * The console line, e.g. {@code version 3 QUORUM 5 updates [...] ... recall@1 0.712}, with DP
     * followed by the largest ε a site has spent.
     */
    public String console(String metricName) {
        String line =
                String.format(
                        Locale.ROOT,
                        "version %3d  %-8s %d updates [%s]  staleness mean %.2f max %d  %s %.3f"
                                + "  (site-alone %.3f, %+.1f points)",
                        version,
                        closeReason,
                        contributors,
                        sites,
                        meanStaleness,
                        maxStaleness,
                        metricName,
                        metric,
                        baseline,
                        100 * (metric - baseline));
        return Double.isNaN(epsilon)
                ? line
                : line + String.format(Locale.ROOT, "  epsilon %.4f (largest site)", epsilon);
    }
}
