package io.fedstream.worker.bert;

import io.fedstream.worker.djl.LoraChecks;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;

/**
 * Which linear layers of a BERT encoder carry a LoRA adapter (Hu et al. 2021) and how: every
 * targeted layer computes {@code y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T} with the
 * pretrained {@code W, b} frozen and {@code A [rank, in]}, {@code B [out, rank]} trainable.
 *
 * @param rank the adapter rank, 0 for no adapters at all
 * @param alpha the LoRA scaling numerator ({@code scaling = alpha / rank})
 * @param dropout dropout probability on the adapter's input, in {@code [0, 1)}, training only
 * @param targets the adapted linear layers of every adapted transformer layer
 * @param fromLayer the first adapted transformer layer: layers below it carry no adapter (PEFT's
 *     {@code layers_to_transform} as a lower bound). Their outputs then do not depend on the
 *     adapter, which lets a trainer compute them once and cache them ({@link BertSiteTrainer})
 * @param freezeA FFA-LoRA (Sun et al. 2024): {@code A} keeps the value it is given (the
 *     federation's seeded initial value, the same at every site) and only {@code B} trains. Then
 *     every site's update is {@code s·ΔBᵢ·A} with one shared {@code A}, so FedAvg of the {@code
 *     B}'s is exactly the average of the sites' products, which averaging trained {@code A}'s and
 *     {@code B}'s separately is not (see docs/algorithms.md).
 */
public record LoraConfig(
        int rank,
        double alpha,
        double dropout,
        Set<Target> targets,
        int fromLayer,
        boolean freezeA) {

    /** The linear layers of a BERT layer, named as in adapter tensor names. */
    public enum Target {
        /** {@code attention.self.query}. */
        QUERY("query", "attention.self.query"),
        /** {@code attention.self.key}. */
        KEY("key", "attention.self.key"),
        /** {@code attention.self.value}. */
        VALUE("value", "attention.self.value"),
        /** {@code attention.output.dense}. */
        ATTENTION_OUTPUT("attention_output", "attention.output.dense"),
        /** {@code intermediate.dense}, the first feed-forward layer. */
        INTERMEDIATE("intermediate", "intermediate.dense"),
        /** {@code output.dense}, the second feed-forward layer. */
        OUTPUT("output", "output.dense");

        private final String moduleName;
        private final String hfModule;

        Target(String moduleName, String hfModule) {
            this.moduleName = moduleName;
            this.hfModule = hfModule;
        }

        /** The name in adapter tensor names, e.g. {@code attention_output}. */
        public String moduleName() {
            return moduleName;
        }

        /** The module under {@code encoder.layer.i} in Hugging Face names. */
        public String hfModule() {
            return hfModule;
        }

        /** The target called {@code name} ({@link #moduleName()} or the enum name). */
        public static Target fromName(String name) {
            String n = name.strip().toLowerCase(Locale.ROOT);
            for (Target t : values()) {
                if (t.moduleName.equals(n) || t.name().toLowerCase(Locale.ROOT).equals(n)) {
                    return t;
                }
            }
            throw new IllegalArgumentException(
                    "unknown LoRA target " + name + "; one of " + Arrays.toString(names()));
        }

        private static String[] names() {
            return Arrays.stream(values()).map(Target::moduleName).toArray(String[]::new);
        }
    }

    public LoraConfig {
        targets = LoraChecks.checkedTargets(rank, alpha, dropout, targets, Target.class);
        if (fromLayer < 0) {
            throw new IllegalArgumentException("fromLayer must not be negative: " + fromLayer);
        }
    }

    /** Adapters on every layer. */
    public LoraConfig(int rank, double alpha, double dropout, Set<Target> targets) {
        this(rank, alpha, dropout, targets, 0, false);
    }

    /** The same adapters on layers {@code fromLayer} and above only. */
    public LoraConfig withFromLayer(int fromLayer) {
        return new LoraConfig(rank, alpha, dropout, targets, fromLayer, freezeA);
    }

    /** No adapters: the plain pretrained encoder. */
    public static LoraConfig none() {
        return new LoraConfig(0, 1, 0, Set.of());
    }

    public static LoraConfig of(int rank, double alpha, double dropout, Target... targets) {
        return new LoraConfig(rank, alpha, dropout, Set.of(targets));
    }

    /** Parses a comma-separated target list such as {@code query,value}. */
    public static Set<Target> parseTargets(String csv) {
        return LoraChecks.parseTargets(csv, Target::fromName, Target.class);
    }

    /** The same adapters with {@code A} frozen (FFA-LoRA) or trainable. */
    public LoraConfig withFreezeA(boolean freeze) {
        return new LoraConfig(rank, alpha, dropout, targets, fromLayer, freeze);
    }

    /** {@code alpha / rank}. */
    public double scaling() {
        return rank == 0 ? 0 : alpha / rank;
    }

    public boolean adapts(Target target) {
        return rank > 0 && targets.contains(target);
    }

    /** Whether layer {@code layer}'s {@code target} carries an adapter. */
    public boolean adapts(Target target, int layer) {
        return layer >= fromLayer && adapts(target);
    }

    /**
     * Number of bottom layers without any adapter: {@code fromLayer}, or all {@code numLayers}
     * without LoRA.
     */
    public int frozenLayers(int numLayers) {
        return isEnabled() ? Math.min(fromLayer, numLayers) : numLayers;
    }

    public boolean isEnabled() {
        return rank > 0;
    }
}
