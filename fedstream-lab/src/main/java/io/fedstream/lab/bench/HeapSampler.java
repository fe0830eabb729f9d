package io.fedstream.lab.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/**
 * Used heap after a full GC, sampled in this JVM at a fixed interval by a thread: each sample runs
 * {@code System.gc()} (a full collection with G1, so only reachable objects remain) and then reads
 * {@link MemoryMXBean#getHeapMemoryUsage()}. The forced collections slow the run down, so rows
 * measured with it report heap only.
 */
final class HeapSampler implements AutoCloseable {
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    private final long intervalMs;
    private Thread thread;
    private volatile boolean running;
    private volatile long max;
    private volatile long sum;
    private volatile int samples;

    HeapSampler(long intervalMs) {
        this.intervalMs = intervalMs;
    }

    /** Used heap right after a full GC, in bytes. */
    long sampleNow() {
        System.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    void start() {
        running = true;
        thread =
                new Thread(
                        () -> {
                            while (running) {
                                long used = sampleNow();
                                synchronized (this) {
                                    max = Math.max(max, used);
                                    sum += used;
                                    samples++;
                                }
                                try {
                                    Thread.sleep(intervalMs);
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        },
                        "bench-heap-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    synchronized long max() {
        return max;
    }

    synchronized long mean() {
        return samples == 0 ? 0 : sum / samples;
    }

    synchronized int samples() {
        return samples;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.interrupt();
            thread.join(10_000);
        }
    }
}
