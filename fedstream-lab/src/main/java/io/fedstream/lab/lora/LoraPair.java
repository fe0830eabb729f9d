package io.fedstream.lab.lora;

import java.util.Objects;

/**
 * One LoRA adapter of a frozen weight W (out × in): the tensors {@code <module>.lora_A} [rank, in]
 * and {@code <module>.lora_B} [out, rank], both row-major, so that the adapter adds ΔW = s·B·A (s =
 * α/rank, the same for every site, so it factors out of every average below).
 *
 * @param module the name without the suffix, e.g. {@code layer3.query}
 * @param aIndex position of the A tensor in the adapter's tensor list
 * @param bIndex position of the B tensor in the adapter's tensor list
 * @param rank r
 * @param in columns of W (and of A)
 * @param out rows of W (and of B)
 */
public record LoraPair(String module, int aIndex, int bIndex, int rank, int in, int out) {
    public static final String A_SUFFIX = ".lora_A";
    public static final String B_SUFFIX = ".lora_B";

    public LoraPair {
        Objects.requireNonNull(module, "module");
        if (module.isEmpty()) {
            throw new IllegalArgumentException("LoRA module name is empty");
        }
        if (rank <= 0 || in <= 0 || out <= 0) {
            throw new IllegalArgumentException(
                    "LoRA pair " + module + ": rank, in and out must be positive");
        }
        if (aIndex < 0 || bIndex < 0 || aIndex == bIndex) {
            throw new IllegalArgumentException(
                    "LoRA pair " + module + ": bad tensor indices " + aIndex + ", " + bIndex);
        }
    }

    /** A pair outside any tensor list (indices 0 and 1), for tests and direct use. */
    public static LoraPair of(String module, int rank, int in, int out) {
        return new LoraPair(module, 0, 1, rank, in, out);
    }

    public String aName() {
        return module + A_SUFFIX;
    }

    public String bName() {
        return module + B_SUFFIX;
    }

    /** Elements of A: rank·in. */
    public int aSize() {
        return Math.multiplyExact(rank, in);
    }

    /** Elements of B: out·rank. */
    public int bSize() {
        return Math.multiplyExact(out, rank);
    }

    /** This pair with another rank (the shapes a rank-changing strategy returns). */
    public LoraPair withRank(int newRank) {
        return new LoraPair(module, aIndex, bIndex, newRank, in, out);
    }

    @Override
    public String toString() {
        return module + "(r=" + rank + ", " + out + "×" + in + ")";
    }
}
