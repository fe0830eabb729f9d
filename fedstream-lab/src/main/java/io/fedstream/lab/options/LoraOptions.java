package io.fedstream.lab.options;

import picocli.CommandLine.Option;

/** {@code --rank} and {@code --alpha}: the LoRA adapters of the experiments that train them. */
public final class LoraOptions {
    @Option(
            names = "--rank",
            defaultValue = "8",
            description = "LoRA rank (default ${DEFAULT-VALUE}).")
    int rank;

    @Option(
            names = "--alpha",
            defaultValue = "16",
            description = "LoRA alpha (default ${DEFAULT-VALUE}).")
    double alpha;

    /** The adapters' rank. */
    public int rank() {
        return rank;
    }

    /** The adapters' alpha (their scaling is alpha / rank). */
    public double alpha() {
        return alpha;
    }
}
