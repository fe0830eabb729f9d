package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
import io.fedstream.aggregation.WeightedAccumulator;
import io.fedstream.schemas.TensorSpec;
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
 * its own: k updates in the LoRA layout of {@link BenchSites#loraSpec} (one little-endian float32
 * array per tensor, as the job reads them from Kafka records: the decode is fused into the
 * accumulate kernel) streamed through {@link WeightedAccumulator} (float64 sums, one model in
 * size), then {@code applyTo} once and the new model encoded to little-endian bytes, as the job
 * publishes it. The update bytes come from a few pre-generated update buffers, cycled, as the job
 * reuses the record's byte[]; no update is kept after it is added. Modes: {@code add} per update on
 * one thread, as the job does; {@code addAll} of B buffered updates per pass (same bits); or {@code
 * add} per update on T threads, each folding its own part of the tensors ({@link SplitFold}, same
 * bits), as the job at parallelism T folds different chunks on its subtasks. Prints one line of
 * key=value pairs. Usage: StreamingAggregate K LAYERS REPEATS [BATCH [THREADS]]
 */
public final class StreamingAggregate {
    /** Distinct update buffers cycled through (more than one so that none stays in cache). */
    static final int BUFFERS = 4;

    private StreamingAggregate() {}

    public static void main(String[] args) throws Exception {
        int k = Integer.parseInt(args[0]);
        int layers = Integer.parseInt(args[1]);
        int repeats = Integer.parseInt(args[2]);
        // updates folded per pass over the sums: 1 = add() per update, as the job does now;
        // B > 1 = addAll() of B buffered updates (same bits, B update buffers held)
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        if (batch > BUFFERS) {
            throw new IllegalArgumentException("batch at most " + BUFFERS);
        }
        if (batch > 1 && threads > 1) {
            throw new IllegalArgumentException("batch or threads, not both");
        }
        List<TensorSpec> spec = BenchSites.loraSpec("bench", layers).tensors();
        int[] sizes = new int[spec.size()];
        long values = 0;
        for (int t = 0; t < sizes.length; t++) {
            sizes[t] = spec.get(t).size();
            values += sizes[t];
        }
        SplittableRandom rnd = new SplittableRandom(1);
        byte[][][] buffers = new byte[BUFFERS][sizes.length][];
        for (int b = 0; b < BUFFERS; b++) {
            for (int t = 0; t < sizes.length; t++) {
                float[] v = new float[sizes[t]];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) ((rnd.nextDouble() * 2 - 1) * 1e-3); // as BenchSites
                }
                buffers[b][t] = LittleEndianFloats.fromFloats(v);
            }
        }
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
            weights[i] = 1 + rnd.nextInt(999);
        }
        float[][] base = new float[sizes.length][];
        Kind[] kinds = new Kind[sizes.length];
        for (int t = 0; t < sizes.length; t++) {
            base[t] = new float[sizes[t]];
            kinds[t] = Kind.FLOAT32;
        }
        // one accumulator over the whole model, or one per thread over its part
        SplitFold split = threads > 1 ? new SplitFold(sizes, threads) : null;
        WeightedAccumulator acc = split == null ? new WeightedAccumulator(sizes) : null;
        long best = Long.MAX_VALUE;
        long sink = 0;
        // warm-up: whole rounds for at least 2 s, so the JIT has compiled the kernel as in a
        // long-running job; then the best of `repeats` rounds
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        int measured = 0;
        while (measured < repeats) {
            boolean warm = System.nanoTime() >= warmEnd;
            long t0 = System.nanoTime();
            float[][] out;
            if (split != null) {
                out = split.round(i -> buffers[i % BUFFERS], k, kinds, weights, base);
            } else if (batch == 1) {
                acc.reset();
                for (int i = 0; i < k; i++) {
                    acc.add(buffers[i % BUFFERS], kinds, weights[i]);
                }
                out = acc.applyTo(base, 1.0);
            } else {
                acc.reset();
                for (int i = 0; i < k; i += batch) {
                    int b = Math.min(batch, k - i);
                    List<byte[][]> deltas = new ArrayList<>(b);
                    for (int u = 0; u < b; u++) {
                        deltas.add(buffers[(i + u) % BUFFERS]);
                    }
                    acc.addAll(deltas, kinds, Arrays.copyOfRange(weights, i, i + b));
                }
                out = acc.applyTo(base, 1.0);
            }
            byte[][] encoded = new byte[out.length][];
            for (int t = 0; t < out.length; t++) {
                encoded[t] = LittleEndianFloats.fromFloats(out[t]);
            }
            if (warm) {
                best = Math.min(best, System.nanoTime() - t0);
                measured++;
            }
            sink += encoded[encoded.length / 2][5];
        }
        long heapPeak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                heapPeak += p.getPeakUsage().getUsed();
            }
        }
        // what the fold keeps between rounds (update buffers, sums, the JVM's own): the heap in
        // use after a full collection; the peaks above include garbage the collector had not yet
        // reclaimed
        System.gc();
        long live = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        sink += buffers.length + (split != null ? split.sums().length : acc.count());
        if (split != null) {
            split.close();
        }
        double s = best / 1e9;
        System.out.printf(
                Locale.ROOT,
                "k=%d batch=%d threads=%d tensors=%d values=%d seconds=%.6f updates_per_s=%.3f"
                        + " gb_per_s=%.3f peak_rss_mb=%.1f peak_heap_mb=%.1f live_heap_mb=%.1f kernel=%s"
                        + " sink=%d%n",
                k,
                batch,
                threads,
                sizes.length,
                values,
                s,
                k / s,
                k * values * 4 / s / 1e9,
                vmHwmKb() / 1024.0,
                heapPeak / 1048576.0,
                live / 1048576.0,
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
