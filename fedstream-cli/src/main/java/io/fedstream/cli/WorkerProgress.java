package io.fedstream.cli;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.WorkerListener;
import java.io.PrintStream;
import java.time.Instant;
import java.util.Locale;

/**
 * What {@code ./fedstream worker} prints, each line with its time: every global version it reads
 * (with the held-out result), every update it sends, every rejection of its own updates the job
 * reports back (reason and detail), and its end.
 */
final class WorkerProgress implements WorkerListener {
    private final PrintStream out;

    WorkerProgress(PrintStream out) {
        this.out = out;
    }

    private String now() {
        return JobProgress.TIME.format(Instant.now());
    }

    @Override
    public void onGlobalVersion(String site, GlobalModel m, SiteTrainer.EvalResult e) {
        out.printf(
                Locale.ROOT,
                "%s %s: version %d, held-out loss %.4f, accuracy %.3f%n",
                now(),
                site,
                m.getVersion(),
                e.loss(),
                e.accuracy());
    }

    @Override
    public void onUpdatePublished(AdapterUpdate u, SiteTrainer.TrainResult result) {
        out.printf(
                Locale.ROOT,
                "%s %s: sent update %s (from version %d, %d examples)%n",
                now(),
                u.getSiteId(),
                u.getUpdateId(),
                u.getBaseVersion(),
                u.getNumExamples());
    }

    @Override
    public void onRejected(String site, RejectedUpdate r) {
        out.printf(
                Locale.ROOT,
                "%s %s: REJECTED %s: %s: %s%n",
                now(),
                site,
                r.getUpdateId() == null
                        ? "a record sent as this site"
                        : "update " + r.getUpdateId(),
                r.getReason(),
                r.getDetail());
    }

    @Override
    public void onStopped(String site, int published, Throwable failure) {
        out.printf(
                Locale.ROOT,
                "%s %s: stopped after sending %d update%s%s%n",
                now(),
                site,
                published,
                published == 1 ? "" : "s",
                failure == null ? "" : " (" + Errors.oneLine(failure) + ")");
    }
}
