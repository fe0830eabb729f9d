package io.fedstream.cli;

import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.WorkerListener;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What every site of a local run is doing: updates sent, and the speed of its last local training
 * (training examples per second, every epoch counted). {@link #line()} is the console's progress
 * line.
 */
final class SiteProgress {
    private final List<String> siteIds;
    private final int epochs;
    private final AtomicLongArray updates;
    private final AtomicLongArray examplesPerSecond;

    SiteProgress(List<String> siteIds, int epochs) {
        this.siteIds = List.copyOf(siteIds);
        this.epochs = Math.max(1, epochs);
        this.updates = new AtomicLongArray(siteIds.size());
        this.examplesPerSecond = new AtomicLongArray(siteIds.size());
    }

    /** The listener of site {@code index}'s worker. */
    WorkerListener listener(int index) {
        return new WorkerListener() {
            @Override
            public void onUpdatePublished(AdapterUpdate update, SiteTrainer.TrainResult result) {
                Double seconds = update.getMetrics().get("train_seconds");
                if (seconds != null && seconds > 0) {
                    examplesPerSecond.set(
                            index, Math.round(result.numExamples() * epochs / seconds));
                }
                updates.incrementAndGet(index);
            }
        };
    }

    /** e.g. {@code sites: ghr 3 upd 410 ex/s | gard 2 upd 395 ex/s | ...}. */
    String line() {
        StringBuilder sb = new StringBuilder("sites:");
        for (int i = 0; i < siteIds.size(); i++) {
            sb.append(i == 0 ? " " : " | ")
                    .append(shortName(siteIds.get(i)))
                    .append(
                            String.format(
                                    Locale.ROOT,
                                    " %d upd %d ex/s",
                                    updates.get(i),
                                    examplesPerSecond.get(i)));
        }
        return sb.toString();
    }

    long totalUpdates() {
        long n = 0;
        for (int i = 0; i < updates.length(); i++) {
            n += updates.get(i);
        }
        return n;
    }

    private static String shortName(String id) {
        return id.length() <= 12 ? id : id.substring(0, 12);
    }
}
