package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
import io.fedstream.schemas.UpdateEncoding;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * JMH: the job's accumulate kernel ({@link LittleEndianFloats#accumulate}, as the chunk aggregator
 * calls it) on one chunk of the federation's default size in each update encoding, reading the
 * record's bytes in place. Run by {@code ./fedstream bench wire} ({@link WireBench}), which turns
 * the scores into ns per decoded element.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class WireBenchmark {

    /** One chunk's sums and its bytes in the encoding under test. */
    @State(Scope.Thread)
    public static class Chunk {
        /** Elements per chunk (the spec's default chunkElements). */
        @Param("131072")
        public int n;

        /** float32, bfloat16, int8:64, nf4:64, ... ({@link UpdateEncoding#parse}). */
        @Param("float32")
        public String encoding;

        double[] acc;
        byte[] data;
        Kind kind;

        @Setup(Level.Trial)
        public void setup() {
            SplittableRandom rnd = new SplittableRandom(7);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (rnd.nextGaussian() * 1e-3);
            }
            UpdateEncoding enc = UpdateEncoding.parse(encoding);
            data = enc.encode(v, 0, n);
            kind = Kind.of(enc.dtype());
            acc = new double[n];
        }
    }

    @Benchmark
    public double[] accumulate(Chunk c) {
        LittleEndianFloats.accumulate(c.acc, c.data, c.kind, 0.5);
        return c.acc;
    }
}
