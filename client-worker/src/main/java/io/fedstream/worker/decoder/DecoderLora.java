package io.fedstream.worker.decoder;

import io.fedstream.worker.bert.LoraConfig;
import io.fedstream.worker.djl.LoraChecks;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which linear layers of a causal decoder carry a LoRA adapter and how (see {@link LoraConfig} for
 * the arithmetic): {@code y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T}, base frozen.
 *
 * <p>Modules are named as PEFT names Llama's ({@code q_proj}, ...). For GPT-2 the fused {@code
 * c_attn} is split into {@code q_proj}, {@code k_proj}, {@code v_proj} (one adapter each), {@code
 * attn.c_proj} is {@code o_proj}, {@code mlp.c_fc} is {@code up_proj} and {@code mlp.c_proj} is
 * {@code down_proj}; GPT-2 has no {@code gate_proj}.
 *
 * @param rank adapter rank, 0 for none
 * @param alpha scaling numerator ({@code scaling = alpha / rank})
 * @param dropout adapter input dropout in {@code [0, 1)}, training only
 * @param targets the adapted modules of every block
 */
public record DecoderLora(int rank, double alpha, double dropout, Set<DecoderLora.Module> targets) {

    /** The linear layers of a decoder block. */
    public enum Module {
        Q_PROJ(true),
        K_PROJ(true),
        V_PROJ(true),
        O_PROJ(true),
        GATE_PROJ(false),
        UP_PROJ(false),
        DOWN_PROJ(false);

        private final boolean attention;

        Module(boolean attention) {
            this.attention = attention;
        }

        /** {@code q_proj}, ... as in adapter tensor names. */
        public String moduleName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public boolean isAttention() {
            return attention;
        }

        /** Whether {@code family} has this layer. */
        public boolean existsIn(DecoderConfig.Family family) {
            return this != GATE_PROJ || family == DecoderConfig.Family.LLAMA;
        }

        /**
         * The module called {@code name}: {@code q_proj}, ..., or one of the shorthands {@code
         * q,k,v,o,gate,up,down}.
         */
        public static Module fromName(String name) {
            String n = name.strip().toLowerCase(Locale.ROOT);
            for (Module m : values()) {
                if (m.moduleName().equals(n) || m.moduleName().equals(n + "_proj")) {
                    return m;
                }
            }
            throw new IllegalArgumentException(
                    "unknown decoder LoRA target "
                            + name
                            + "; one of "
                            + Arrays.stream(values())
                                    .map(Module::moduleName)
                                    .collect(Collectors.joining(",")));
        }
    }

    public DecoderLora {
        targets = LoraChecks.checkedTargets(rank, alpha, dropout, targets, Module.class);
    }

    /** No adapters. */
    public static DecoderLora none() {
        return new DecoderLora(0, 1, 0, Set.of());
    }

    public static DecoderLora of(int rank, double alpha, double dropout, Module... targets) {
        return new DecoderLora(rank, alpha, dropout, Set.of(targets));
    }

    /** Parses a comma-separated list such as {@code q_proj,v_proj} or {@code q,v}. */
    public static Set<Module> parseTargets(String csv) {
        return LoraChecks.parseTargets(csv, Module::fromName, Module.class);
    }

    /** {@code alpha / rank}. */
    public double scaling() {
        return rank == 0 ? 0 : alpha / rank;
    }

    public boolean adapts(Module module) {
        return rank > 0 && targets.contains(module);
    }

    /** Refuses targets the family does not have (GPT-2's missing gate). */
    public void checkFamily(DecoderConfig.Family family) {
        for (Module m : targets) {
            if (!m.existsIn(family)) {
                throw new IllegalArgumentException(family + " has no " + m.moduleName());
            }
        }
    }
}
