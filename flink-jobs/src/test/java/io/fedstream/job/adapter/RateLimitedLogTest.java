package io.fedstream.job.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateLimitedLogTest {

    @Test
    void writesUpToTheLimitPerWindowThenReportsWhatItLeftOutOnce() {
        RateLimitedLog log = new RateLimitedLog(2, 60_000);
        assertThat(log.offer(0)).isEqualTo(new RateLimitedLog.Decision(true, 0));
        assertThat(log.offer(10)).isEqualTo(new RateLimitedLog.Decision(true, 0));
        assertThat(log.offer(20).write()).isFalse();
        assertThat(log.offer(59_999).write()).isFalse();
        // the next window: the two left out are reported with its first line, and only then
        assertThat(log.offer(60_000)).isEqualTo(new RateLimitedLog.Decision(true, 2));
        assertThat(log.offer(60_001)).isEqualTo(new RateLimitedLog.Decision(true, 0));
        assertThat(log.offer(60_002)).isEqualTo(new RateLimitedLog.Decision(false, 0));
        assertThat(log.offer(200_000)).isEqualTo(new RateLimitedLog.Decision(true, 1));
    }
}
