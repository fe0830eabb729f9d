package io.fedstream.job.adapter;

import io.fedstream.job.Decision;

/**
 * At most {@code perWindow} lines per window of time; the lines beyond are counted and reported
 * once when the next window opens. Plain Java (no Flink), one instance per thread. Own code rather
 * than a logging filter: the count of what was left out must itself be logged.
 */
final class RateLimitedLog {
    private final int perWindow;
    private final long windowMillis;
    private long windowStart = Long.MIN_VALUE;
    private int written;
    private long suppressed;

    RateLimitedLog(int perWindow, long windowMillis) {
        this.perWindow = perWindow;
        this.windowMillis = windowMillis;
    }

    /** What to do with one line at {@code nowMillis}. */
    record Decision(boolean write, long suppressedBefore) {}

    /**
     * Whether to write the line at {@code nowMillis}, and how many lines were left out in the
     * windows before it (to report now; counted only once).
     */
    Decision offer(long nowMillis) {
        long reported = 0;
        if (windowStart == Long.MIN_VALUE || nowMillis - windowStart >= windowMillis) {
            windowStart = nowMillis;
            written = 0;
            reported = suppressed;
            suppressed = 0;
        }
        if (written < perWindow) {
            written++;
            return new Decision(true, reported);
        }
        suppressed++;
        return new Decision(false, reported);
    }
}
