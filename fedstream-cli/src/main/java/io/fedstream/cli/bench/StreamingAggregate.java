package io.fedstream.cli.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
import io.fedstream.aggregation.WeightedAccumulator;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The Java side of {@code ./fedstream bench python}, run in its own JVM so that its peak memory is
 * its own: k updates streamed through one {@link WeightedAccumulator} (float64 sums, one model in
 * size), then {@code applyTo} once. The update bytes come from a few pre-generated little-endian
 * float32 buffers, cycled, as the job reuses the record's byte[]; no update is kept after it is
 * added. Prints one line of key=value pairs. Usage: StreamingAggregate K N REPEATS
 */
public final class StreamingAggregate {
    /** Distinct update buffers cycled through (more than one so that none stays in cache). */
    static final int BUFFERS = 4;

    private StreamingAggregate() {}

    public static void main(String[] args) throws Exception {
        int k = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        int repeats = Integer.parseInt(args[2]);
        // updates folded per pass over the sums: 1 = add() per update, as the job does now;
        // B > 1 = addAll() of B buffered updates (same bits, B update buffers held)
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        if (batch > BUFFERS) {
            throw new IllegalArgumentException("batch at most " + BUFFERS);
        }
        SplittableRandom rnd = new SplittableRandom(1);
        byte[][] buffers = new byte[BUFFERS][];
        float[] v = new float[n];
        for (int b = 0; b < BUFFERS; b++) {
            for (int i = 0; i < n; i++) {
                v[i] = (float) (rnd.nextGaussian() * 1e-3);
            }
            buffers[b] = LittleEndianFloats.fromFloats(v);
        }
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
            weights[i] = 1 + rnd.nextInt(999);
        }
        float[][] base = {new float[n]};
        Kind[] kinds = {Kind.FLOAT32};
        WeightedAccumulator acc = new WeightedAccumulator(new int[] {n});
        long best = Long.MAX_VALUE;
        float sink = 0;
        // warm-up: whole rounds for at least 2 s, so the JIT has compiled the kernel as in a
        // long-running job; then the best of `repeats` rounds
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        int measured = 0;
        while (measured < repeats) {
            boolean warm = System.nanoTime() >= warmEnd;
            acc.reset();
            long t = System.nanoTime();
            if (batch == 1) {
                for (int i = 0; i < k; i++) {
                    acc.add(new byte[][] {buffers[i % BUFFERS]}, kinds, weights[i]);
                }
            } else {
                for (int i = 0; i < k; i += batch) {
                    int b = Math.min(batch, k - i);
                    List<byte[][]> deltas = new ArrayList<>(b);
                    for (int u = 0; u < b; u++) {
                        deltas.add(new byte[][] {buffers[(i + u) % BUFFERS]});
                    }
                    acc.addAll(deltas, kinds, Arrays.copyOfRange(weights, i, i + b));
                }
            }
            float[][] out = acc.applyTo(base, 1.0);
            if (warm) {
                best = Math.min(best, System.nanoTime() - t);
                measured++;
            }
            sink += out[0][n / 2];
        }
        long heapPeak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                heapPeak += p.getPeakUsage().getUsed();
            }
        }
        double s = best / 1e9;
        System.out.printf(
                Locale.ROOT,
                "k=%d batch=%d seconds=%.6f updates_per_s=%.3f peak_rss_mb=%.1f peak_heap_mb=%.1f"
                        + " kernel=%s sink=%s%n",
                k,
                batch,
                s,
                k / s,
                vmHwmKb() / 1024.0,
                heapPeak / 1048576.0,
                LittleEndianFloats.kernel().replace(' ', '_'),
                sink);
    }

    /** Peak resident set size of this process (VmHWM), in KiB; -1 if unknown. */
    static long vmHwmKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }
}
