package io.fedstream.worker.mlp;

/** Plain-Java classification metrics over row-major logits. */
public final class Classification {

    private Classification() {}

    /** Sum over rows of the softmax cross-entropy {@code -log softmax(logits)[label]}. */
    public static double crossEntropySum(float[] logits, int[] labels, int numClasses) {
        checkShape(logits, labels, numClasses);
        double total = 0;
        for (int r = 0; r < labels.length; r++) {
            int o = r * numClasses;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < numClasses; c++) {
                max = Math.max(max, logits[o + c]);
            }
            double sum = 0;
            for (int c = 0; c < numClasses; c++) {
                sum += Math.exp(logits[o + c] - max);
            }
            total += max + Math.log(sum) - logits[o + labels[r]];
        }
        return total;
    }

    /** Number of rows whose largest logit (first on ties) is at the label. */
    public static long correct(float[] logits, int[] labels, int numClasses) {
        checkShape(logits, labels, numClasses);
        long n = 0;
        for (int r = 0; r < labels.length; r++) {
            int o = r * numClasses;
            int best = 0;
            for (int c = 1; c < numClasses; c++) {
                if (logits[o + c] > logits[o + best]) {
                    best = c;
                }
            }
            if (best == labels[r]) {
                n++;
            }
        }
        return n;
    }

    private static void checkShape(float[] logits, int[] labels, int numClasses) {
        if (logits.length != (long) labels.length * numClasses) {
            throw new IllegalArgumentException(
                    logits.length + " logits are not " + labels.length + " rows of " + numClasses);
        }
    }
}
