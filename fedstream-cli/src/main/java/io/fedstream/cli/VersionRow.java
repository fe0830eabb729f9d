package io.fedstream.cli;

import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import java.util.List;
import java.util.stream.Collectors;

/** One line of the local run's report: a global version and how good it is. */
record VersionRow(
        long version,
        long closedAtMs,
        String closeReason,
        int contributors,
        String sites,
        double meanStaleness,
        long maxStaleness,
        double evalLoss,
        double evalAccuracy) {

    static VersionRow of(GlobalModel g, double evalLoss, double evalAccuracy) {
        List<Contribution> cs = g.getManifest().getContributions();
        return new VersionRow(
                g.getVersion(),
                g.getManifest().getRoundClosedAtMs().toEpochMilli(),
                g.getManifest().getCloseReason().name(),
                cs.size(),
                cs.stream().map(Contribution::getSiteId).collect(Collectors.joining(" ")),
                cs.stream().mapToLong(Contribution::getStaleness).average().orElse(0),
                cs.stream().mapToLong(Contribution::getStaleness).max().orElse(0),
                evalLoss,
                evalAccuracy);
    }

    static String csvHeader() {
        return "version,closed_at_ms,close_reason,contributors,sites,mean_staleness,max_staleness,eval_loss,eval_accuracy";
    }

    String csv() {
        return String.format(
                java.util.Locale.ROOT,
                "%d,%d,%s,%d,%s,%.3f,%d,%.6f,%.6f",
                version,
                closedAtMs,
                closeReason,
                contributors,
                sites,
                meanStaleness,
                maxStaleness,
                evalLoss,
                evalAccuracy);
    }

    String console() {
        return String.format(
                java.util.Locale.ROOT,
                "version %3d  %-8s %d updates [%s]  staleness mean %.2f max %d  held-out loss %.4f accuracy %.3f",
                version,
                closeReason,
                contributors,
                sites,
                meanStaleness,
                maxStaleness,
                evalLoss,
                evalAccuracy);
    }
}
