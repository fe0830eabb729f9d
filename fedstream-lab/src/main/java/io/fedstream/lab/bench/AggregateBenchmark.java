package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
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
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * JMH benchmarks of the aggregation inner loop against a STREAM triad on arrays of the
 * accumulator's size. Run by {@code ./fedstream bench aggregate} ({@link AggregateBench}), which
 * turns the scores into GB/s. With T threads each thread works on its 1/T of the tensor, so one
 * operation is n/T elements.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class AggregateBenchmark {

    /** The shared arrays; only those the running benchmark needs are allocated. */
    @State(Scope.Benchmark)
    public static class Data {
        /** Elements per update (4.2M float32 = 16.8 MB: rank-8 LoRA on a 7B model). */
        @Param("4200000")
        public int n;

        double[] acc;
        byte[] f32;

        /** Four distinct float32 updates for the batch kernels, and their weights. */
        byte[][] f32x4;

        double[] w4 = {0.5, 0.25, 0.125, 0.0625};

        byte[] bf16;
        double[] a;
        double[] b;
        double[] c;
        float[] facc;
        float[] fx;

        @Setup(Level.Trial)
        public void setup(BenchmarkParams params) {
            String m = params.getBenchmark();
            SplittableRandom rnd = new SplittableRandom(7);
            if (m.endsWith("triad")) {
                a = new double[n];
                b = random(rnd, n);
                c = random(rnd, n);
            } else if (m.endsWith("triadSameFootprint")) {
                a = new double[n / 2];
                b = random(rnd, n / 2);
                c = random(rnd, n / 2);
            } else if (m.endsWith("FloatAccReference")) {
                facc = new float[n];
                fx = new float[n];
                for (int i = 0; i < n; i++) {
                    fx[i] = (float) rnd.nextGaussian();
                }
            } else if (m.endsWith("Batch4")) {
                acc = new double[n];
                f32x4 = new byte[4][];
                float[] v = new float[n];
                for (int u = 0; u < 4; u++) {
                    for (int i = 0; i < n; i++) {
                        v[i] = (float) (rnd.nextGaussian() * 1e-3);
                    }
                    f32x4[u] = LittleEndianFloats.fromFloats(v);
                }
            } else {
                acc = new double[n];
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (rnd.nextGaussian() * 1e-3);
                }
                f32 = LittleEndianFloats.fromFloats(v);
                bf16 = new byte[2 * n];
                for (int i = 0; i < n; i++) {
                    bf16[2 * i] = f32[4 * i + 2];
                    bf16[2 * i + 1] = f32[4 * i + 3];
                }
            }
        }

        private static double[] random(SplittableRandom rnd, int n) {
            double[] d = new double[n];
            for (int i = 0; i < n; i++) {
                d[i] = rnd.nextDouble();
            }
            return d;
        }
    }

    /** This thread's part [from, to) of the arrays. */
    @State(Scope.Thread)
    public static class Slice {
        int from;
        int to;

        @Setup(Level.Trial)
        public void setup(BenchmarkParams params, ThreadParams thread) {
            long n = Integer.parseInt(params.getParam("n"));
            int t = thread.getThreadIndex();
            int count = thread.getThreadCount();
            // boundaries on multiples of 64 elements, so vector loops start aligned alike
            from = (int) (n * t / count) & ~63;
            to = t == count - 1 ? (int) n : (int) (n * (t + 1) / count) & ~63;
        }
    }

    /** STREAM triad a[i] = b[i] + s·c[i] on double arrays: 24 bytes of traffic per element. */
    @Benchmark
    public double[] triad(Data d, Slice s) {
        double[] a = d.a;
        double[] b = d.b;
        double[] c = d.c;
        double k = 0.5;
        for (int i = s.from; i < s.to; i++) {
            a[i] = b[i] + k * c[i];
        }
        return a;
    }

    /**
     * The triad on n/2 doubles per array: 50.4 MB in all for n = 4.2M, the accumulate's working set
     * (16.8 MB update + 33.6 MB sums), so that caches help both alike. Each thread does half its
     * slice.
     */
    @Benchmark
    public double[] triadSameFootprint(Data d, Slice s) {
        double[] a = d.a;
        double[] b = d.b;
        double[] c = d.c;
        double k = 0.5;
        int to = s.to / 2;
        for (int i = s.from / 2; i < to; i++) {
            a[i] = b[i] + k * c[i];
        }
        return a;
    }

    @Benchmark
    public double[] scalarFloat32(Data d, Slice s) {
        LittleEndianFloats.accumulateScalar(d.acc, d.f32, Kind.FLOAT32, 0.5, s.from, s.to);
        return d.acc;
    }

    @Benchmark
    public double[] vectorFloat32(Data d, Slice s) {
        LittleEndianFloats.accumulateVector(d.acc, d.f32, Kind.FLOAT32, 0.5, s.from, s.to);
        return d.acc;
    }

    /** Four float32 updates folded in one pass (accumulateAll): 4·4 + 16 bytes per element. */
    @Benchmark
    public double[] scalarFloat32Batch4(Data d, Slice s) {
        LittleEndianFloats.accumulateAllScalar(d.acc, d.f32x4, Kind.FLOAT32, d.w4, s.from, s.to);
        return d.acc;
    }

    @Benchmark
    public double[] vectorFloat32Batch4(Data d, Slice s) {
        LittleEndianFloats.accumulateAllVector(d.acc, d.f32x4, Kind.FLOAT32, d.w4, s.from, s.to);
        return d.acc;
    }

    @Benchmark
    public double[] scalarBfloat16(Data d, Slice s) {
        LittleEndianFloats.accumulateScalar(d.acc, d.bf16, Kind.BFLOAT16, 0.5, s.from, s.to);
        return d.acc;
    }

    @Benchmark
    public double[] vectorBfloat16(Data d, Slice s) {
        LittleEndianFloats.accumulateVector(d.acc, d.bf16, Kind.BFLOAT16, 0.5, s.from, s.to);
        return d.acc;
    }

    /**
     * Not a FedStream kernel: acc[i] += w·x[i] on float[] accumulator and float[] input (what a
     * float32 accumulator would cost; 12 bytes of traffic per element). For reading the others.
     */
    @Benchmark
    public float[] plainFloatAccReference(Data d, Slice s) {
        float[] acc = d.facc;
        float[] x = d.fx;
        float w = 0.5f;
        for (int i = s.from; i < s.to; i++) {
            acc[i] += w * x[i];
        }
        return acc;
    }
}
