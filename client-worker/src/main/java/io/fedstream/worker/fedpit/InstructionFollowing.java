package io.fedstream.worker.fedpit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Candidate selection by the instruction-following score (IFS, also called instruction-following
 * difficulty, Li et al. 2024, used by FedPIT): {@code IFS = L(y | x) / L(y)}, the mean token
 * negative log-likelihood of an answer {@code y} given its instruction {@code x} over the same
 * without the instruction, under the site's local model. Below 1 the instruction makes the answer
 * more likely; the lower, the better the answer follows its instruction. An answer the instruction
 * does not explain scores about 1 or more.
 */
public final class InstructionFollowing {

    private InstructionFollowing() {}

    /**
     * A candidate and its two losses.
     *
     * @param withInstruction mean NLL per answer token given the instruction, {@code L(y | x)}
     * @param withoutInstruction mean NLL per answer token alone, {@code L(y)}
     */
    public record Scored<T>(T item, double withInstruction, double withoutInstruction) {
        /** {@code L(y | x) / L(y)}; NaN when either loss is not a positive finite number. */
        public double ifs() {
            if (!(withInstruction >= 0)
                    || !(withoutInstruction > 0)
                    || Double.isInfinite(withInstruction)
                    || Double.isInfinite(withoutInstruction)) {
                return Double.NaN;
            }
            return withInstruction / withoutInstruction;
        }
    }

    /**
     * The {@code k} candidates with the lowest IFS, best first (ties keep their order); candidates
     * without a valid score come last and only if fewer than {@code k} others exist.
     */
    public static <T> List<Scored<T>> best(List<Scored<T>> candidates, int k) {
        if (k < 0) {
            throw new IllegalArgumentException("k must not be negative");
        }
        List<Scored<T>> sorted = new ArrayList<>(candidates);
        sorted.sort(
                Comparator.comparingDouble(
                        (Scored<T> s) -> Double.isNaN(s.ifs()) ? Double.MAX_VALUE : s.ifs()));
        return List.copyOf(sorted.subList(0, Math.min(k, sorted.size())));
    }
}
