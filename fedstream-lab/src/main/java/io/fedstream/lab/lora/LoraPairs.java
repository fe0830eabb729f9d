package io.fedstream.lab.lora;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The LoRA pairs of an adapter, found by FedStream's naming convention: {@code <module>.lora_A}
 * with shape [r, in] and {@code <module>.lora_B} with shape [out, r] (see {@link LoraPair}).
 *
 * <p>Every tensor whose name ends in one of the two suffixes must have its partner, both must be
 * two-dimensional, and their ranks must agree; otherwise {@link #find} fails with a message that
 * names the tensor. A name that contains a suffix elsewhere ({@code x.lora_A.weight}, PEFT's
 * spelling) is rejected too, rather than silently averaged as an ordinary tensor. Every other
 * tensor (a classifier head, biases) is listed in {@link #others()}: it is not a factor of a
 * product, and plain FedAvg is right for it.
 *
 * <p>Pairs are listed in the order in which their first tensor appears.
 */
public final class LoraPairs {
    private final List<String> names;
    private final List<int[]> shapes;
    private final List<LoraPair> pairs;
    private final int[] others;

    private LoraPairs(List<String> names, List<int[]> shapes, List<LoraPair> pairs, int[] others) {
        this.names = names;
        this.shapes = shapes;
        this.pairs = pairs;
        this.others = others;
    }

    /** The pairs of a federation's tensors. */
    public static LoraPairs of(FederationSpec spec) {
        return of(spec.tensors());
    }

    /** The pairs of a list of tensor specifications. */
    public static LoraPairs of(List<TensorSpec> tensors) {
        List<String> names = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        for (TensorSpec t : tensors) {
            names.add(t.name());
            shapes.add(t.shape());
        }
        return find(names, shapes);
    }

    /**
     * The pairs among tensors given by name and shape (parallel lists, in the adapter's tensor
     * order).
     */
    public static LoraPairs find(List<String> names, List<int[]> shapes) {
        Objects.requireNonNull(names, "names");
        Objects.requireNonNull(shapes, "shapes");
        if (names.size() != shapes.size()) {
            throw new IllegalArgumentException(
                    names.size() + " tensor names but " + shapes.size() + " shapes");
        }
        Map<String, Integer> aOf = new LinkedHashMap<>();
        Map<String, Integer> bOf = new HashMap<>();
        Map<String, Integer> firstSeen = new LinkedHashMap<>();
        Map<String, Integer> seen = new HashMap<>();
        List<Integer> others = new ArrayList<>();
        for (int t = 0; t < names.size(); t++) {
            String name = Objects.requireNonNull(names.get(t), "tensor name");
            Objects.requireNonNull(shapes.get(t), "shape of " + name);
            Integer dup = seen.put(name, t);
            if (dup != null) {
                throw new IllegalArgumentException(
                        "tensor " + name + " appears twice (positions " + dup + " and " + t + ")");
            }
            String module;
            Map<String, Integer> side;
            if (name.endsWith(LoraPair.A_SUFFIX)) {
                module = name.substring(0, name.length() - LoraPair.A_SUFFIX.length());
                side = aOf;
            } else if (name.endsWith(LoraPair.B_SUFFIX)) {
                module = name.substring(0, name.length() - LoraPair.B_SUFFIX.length());
                side = bOf;
            } else {
                if (name.contains(LoraPair.A_SUFFIX) || name.contains(LoraPair.B_SUFFIX)) {
                    throw new IllegalArgumentException(
                            "tensor "
                                    + name
                                    + " looks like a LoRA factor but does not end in "
                                    + LoraPair.A_SUFFIX
                                    + " or "
                                    + LoraPair.B_SUFFIX
                                    + " (FedStream names them <module>.lora_A and"
                                    + " <module>.lora_B)");
                }
                others.add(t);
                continue;
            }
            if (module.isEmpty()) {
                throw new IllegalArgumentException("tensor " + name + " has no module name");
            }
            side.put(module, t);
            firstSeen.putIfAbsent(module, t);
        }
        List<LoraPair> pairs = new ArrayList<>();
        for (String module : firstSeen.keySet()) {
            Integer a = aOf.get(module);
            Integer b = bOf.get(module);
            if (a == null || b == null) {
                String have = a == null ? module + LoraPair.B_SUFFIX : module + LoraPair.A_SUFFIX;
                String missing =
                        a == null ? module + LoraPair.A_SUFFIX : module + LoraPair.B_SUFFIX;
                throw new IllegalArgumentException(
                        "tensor " + have + " has no partner: " + missing + " is missing");
            }
            int[] as = shapes.get(a);
            int[] bs = shapes.get(b);
            if (as.length != 2) {
                throw new IllegalArgumentException(
                        "tensor "
                                + names.get(a)
                                + " must have shape [r, in], not "
                                + Arrays.toString(as));
            }
            if (bs.length != 2) {
                throw new IllegalArgumentException(
                        "tensor "
                                + names.get(b)
                                + " must have shape [out, r], not "
                                + Arrays.toString(bs));
            }
            if (as[0] != bs[1]) {
                throw new IllegalArgumentException(
                        "LoRA pair "
                                + module
                                + ": rank mismatch, "
                                + names.get(a)
                                + Arrays.toString(as)
                                + " is [r, in] but "
                                + names.get(b)
                                + Arrays.toString(bs)
                                + " is [out, r]");
            }
            for (int d : as) {
                positive(names.get(a), as, d);
            }
            for (int d : bs) {
                positive(names.get(b), bs, d);
            }
            pairs.add(new LoraPair(module, a, b, as[0], as[1], bs[0]));
        }
        List<int[]> shapeCopies = new ArrayList<>();
        for (int[] s : shapes) {
            shapeCopies.add(s.clone());
        }
        return new LoraPairs(
                List.copyOf(names),
                shapeCopies,
                List.copyOf(pairs),
                others.stream().mapToInt(Integer::intValue).toArray());
    }

    private static void positive(String name, int[] shape, int d) {
        if (d <= 0) {
            throw new IllegalArgumentException(
                    "tensor " + name + " has a non-positive dimension: " + Arrays.toString(shape));
        }
    }

    /** The pairs, in order of first appearance. */
    public List<LoraPair> pairs() {
        return pairs;
    }

    /** Indices of the tensors that belong to no pair, in tensor order (a copy). */
    public int[] others() {
        return others.clone();
    }

    /** Number of tensors of the adapter. */
    public int tensorCount() {
        return names.size();
    }

    public String name(int tensor) {
        return names.get(tensor);
    }

    /** The shape of a tensor (a copy). */
    public int[] shape(int tensor) {
        return shapes.get(tensor).clone();
    }

    /** Element count of a tensor. */
    public int size(int tensor) {
        long n = 1;
        for (int d : shapes.get(tensor)) {
            n *= d;
        }
        return Math.toIntExact(n);
    }

    /** The pair whose module has this name. */
    public LoraPair pair(String module) {
        for (LoraPair p : pairs) {
            if (p.module().equals(module)) {
                return p;
            }
        }
        throw new IllegalArgumentException("no LoRA pair " + module);
    }
}
