package io.fedstream.worker.djl;

import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The checks of LoRA settings that the encoder's and the decoder's configurations share. */
public final class LoraChecks {
    private LoraChecks() {}

    /**
     * Checks rank, alpha and dropout and returns the target modules as an unmodifiable copy (empty
     * for rank 0).
     *
     * @throws IllegalArgumentException naming the bad setting: a negative rank, a non-positive or
     *     infinite alpha, a dropout outside {@code [0, 1)}, or a positive rank without targets
     */
    public static <E extends Enum<E>> Set<E> checkedTargets(
            int rank, double alpha, double dropout, Set<E> targets, Class<E> type) {
        if (rank < 0) {
            throw new IllegalArgumentException("LoRA rank must not be negative: " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("LoRA alpha must be positive: " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoRA dropout must be in [0, 1): " + dropout);
        }
        EnumSet<E> copy = EnumSet.noneOf(type);
        copy.addAll(targets);
        if (rank > 0 && copy.isEmpty()) {
            throw new IllegalArgumentException("a LoRA rank without target modules");
        }
        return Collections.unmodifiableSet(rank == 0 ? EnumSet.noneOf(type) : copy);
    }

    /** The modules of a comma-separated list, each parsed by {@code fromName}; blanks skipped. */
    public static <E extends Enum<E>> Set<E> parseTargets(
            String csv, Function<String, E> fromName, Class<E> type) {
        return Arrays.stream(csv.split(","))
                .filter(s -> !s.isBlank())
                .map(fromName)
                .collect(Collectors.toCollection(() -> EnumSet.noneOf(type)));
    }
}
