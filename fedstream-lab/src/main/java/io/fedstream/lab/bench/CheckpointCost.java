package io.fedstream.lab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;

/**
 * What the checkpoints of the job running in this JVM cost: their count and the bytes they wrote,
 * from the JobManager's REST API ({@code /jobs/:id/checkpoints}: completed count and the mean
 * checkpointed size, so their product is the bytes written), and the CPU time of the tasks'
 * asynchronous snapshot threads ({@code AsyncOperations-*}: serializing the state and writing the
 * checkpoint files), sampled every 100 ms so that a thread's time is kept after it ends. {@link
 * #enable} gives the job's MiniCluster a known REST port; {@link #snapshot} reads all three at
 * once, and the difference of two snapshots is a phase's cost.
 */
final class CheckpointCost implements AutoCloseable {
    static final String SNAPSHOT_THREADS = "AsyncOperations";

    /**
     * A point in time: completed checkpoints, their bytes and the snapshot threads' CPU so far; the
     * smallest and largest checkpoint and the durations' p50 and p99 over the job's life.
     */
    record Snapshot(
            long nanos,
            long completed,
            long bytes,
            long snapshotCpuNanos,
            long cpuNanos,
            long minBytes,
            long maxBytes,
            long durationP50Ms,
            long durationP99Ms) {
        /** The cost between {@code earlier} and this snapshot. */
        Phase since(Snapshot earlier) {
            return new Phase(
                    nanos - earlier.nanos,
                    completed - earlier.completed,
                    bytes - earlier.bytes,
                    snapshotCpuNanos - earlier.snapshotCpuNanos,
                    cpuNanos - earlier.cpuNanos);
        }
    }

    /** The checkpoints of one phase of a run. */
    record Phase(long nanos, long checkpoints, long bytes, long snapshotCpuNanos, long cpuNanos) {
        double megabytesPerSecond() {
            return nanos == 0 ? 0 : bytes / 1e6 / (nanos / 1e9);
        }

        double checkpointsPerSecond() {
            return nanos == 0 ? 0 : checkpoints / (nanos / 1e9);
        }

        /** The snapshot threads' CPU time over the phase's wall time, in % of one core. */
        double snapshotCpuPercent() {
            return nanos == 0 ? 0 : 100.0 * snapshotCpuNanos / nanos;
        }

        /** This whole JVM's CPU time (broker, sites, job) in % of one core. */
        double processCpuPercent() {
            return nanos == 0 ? 0 : 100.0 * cpuNanos / nanos;
        }
    }

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> cpuByThread = new HashMap<>();
    private final URI checkpoints;
    private final ScheduledExecutorService sampler;

    /** Starts sampling the snapshot threads' CPU for the job {@code job} of {@code conf}. */
    CheckpointCost(Configuration conf, JobID job) {
        this.checkpoints =
                URI.create(
                        "http://localhost:"
                                + conf.get(RestOptions.BIND_PORT)
                                + "/jobs/"
                                + job
                                + "/checkpoints");
        this.sampler =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "bench-checkpoint-cpu");
                            t.setDaemon(true);
                            return t;
                        });
        sampler.scheduleWithFixedDelay(this::sampleThreads, 0, 100, TimeUnit.MILLISECONDS);
    }

    /**
     * Gives the job of {@code conf} a free REST port, so that its checkpoint statistics are read.
     */
    static void enable(Configuration conf) throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            conf.set(RestOptions.BIND_PORT, Integer.toString(s.getLocalPort()));
        }
    }

    /** Completed checkpoints, their bytes, the snapshot threads' CPU and this JVM's CPU now. */
    Snapshot snapshot() throws IOException, InterruptedException {
        JsonNode stats =
                json.readTree(
                        http.send(
                                        HttpRequest.newBuilder(checkpoints)
                                                .timeout(Duration.ofSeconds(10))
                                                .build(),
                                        HttpResponse.BodyHandlers.ofString())
                                .body());
        long completed = stats.path("counts").path("completed").asLong(-1);
        if (completed < 0) {
            throw new IllegalStateException("no checkpoint statistics at " + checkpoints);
        }
        JsonNode size = stats.path("summary").path("checkpointed_size");
        JsonNode duration = stats.path("summary").path("end_to_end_duration");
        long cpu =
                ((com.sun.management.OperatingSystemMXBean)
                                ManagementFactory.getOperatingSystemMXBean())
                        .getProcessCpuTime();
        return new Snapshot(
                System.nanoTime(),
                completed,
                completed * size.path("avg").asLong(0),
                sampleThreads(),
                cpu,
                size.path("min").asLong(0),
                size.path("max").asLong(0),
                Math.round(duration.path("p50").asDouble(0)),
                Math.round(duration.path("p99").asDouble(0)));
    }

    /** The CPU time of every snapshot thread seen so far (the last sample of those that ended). */
    private synchronized long sampleThreads() {
        for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (t != null && t.getThreadName().startsWith(SNAPSHOT_THREADS)) {
                long ns = threads.getThreadCpuTime(t.getThreadId());
                if (ns >= 0) {
                    cpuByThread.put(t.getThreadId(), ns);
                }
            }
        }
        long sum = 0;
        for (long ns : cpuByThread.values()) {
            sum += ns;
        }
        return sum;
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
