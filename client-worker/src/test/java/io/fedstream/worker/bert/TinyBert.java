package io.fedstream.worker.bert;

import io.fedstream.worker.djl.FloatTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Small random BERT encoders and batches for fast tests. */
public final class TinyBert {
    /** 2 layers, hidden 16, 2 heads, feed-forward 32, 64 word pieces, 24 positions. */
    static final BertConfig CONFIG = new BertConfig(64, 16, 2, 2, 32, 24, 2, 1e-12);

    private TinyBert() {}

    /**
     * Random weights for {@code config}: matrices and embeddings {@code N(0, 0.3)}, LayerNorm
     * scales {@code 1 + N(0, 0.1)}, biases {@code N(0, 0.1)}, so every term matters.
     */
    static BertWeights randomWeights(BertConfig config, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : BertWeights.expectedShapes(config).entrySet()) {
            int[] shape = e.getValue();
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            float[] v = new float[n];
            boolean normScale = e.getKey().endsWith("LayerNorm.weight");
            double std = shape.length == 2 ? 0.3 : 0.1;
            for (int i = 0; i < n; i++) {
                v[i] = (float) ((normScale ? 1 : 0) + std * gaussian(rnd));
            }
            out.put(e.getKey(), new FloatTensor(shape, v));
        }
        return BertWeights.of(out);
    }

    /** Rows of random ids in {@code [1, vocab)}, row {@code i} padded after {@code len - i}. */
    static TokenBatch randomBatch(BertConfig config, int rows, int len, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] ids = new long[rows * len];
        long[] mask = new long[ids.length];
        long[] types = new long[ids.length];
        for (int r = 0; r < rows; r++) {
            int real = Math.max(2, len - r);
            for (int t = 0; t < len; t++) {
                int k = r * len + t;
                if (t < real) {
                    ids[k] = 1 + rnd.nextInt(config.vocabSize() - 1);
                    mask[k] = 1;
                    types[k] = t >= real / 2 ? 1 : 0;
                }
            }
        }
        return new TokenBatch(rows, len, ids, mask, types);
    }

    public static double gaussian(SplittableRandom rnd) {
        double u1 = rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ");
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
