package io.fedstream.lab.lora;

/**
 * The new factors of one pair, unrounded float64, row-major: A [rank, in] and B [out, rank]. Round
 * them to float32 once when publishing, as the FedAvg path does.
 */
public record PairResult(double[] a, double[] b, int rank, PairReport report) {

    /** Element (i, j) of A. */
    public double a(int i, int j) {
        return a[i * (a.length / rank) + j];
    }

    /** Element (i, j) of B. */
    public double b(int i, int j) {
        return b[i * rank + j];
    }

    /** B·A (out × in, row-major, float64): the new adapter's ΔW / s. For tests and tools. */
    public double[] product(LoraPair pair) {
        return LoraProducts.product(b, a, pair.out(), rank, pair.in());
    }
}
