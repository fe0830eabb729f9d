package io.fedstream.lab.options;

import picocli.CommandLine.Option;

/** {@code --mb}: the size of the update a benchmark moves. */
public final class UpdateSizeOption {
    @Option(
            names = "--mb",
            defaultValue = "16.8",
            description =
                    "Update size in MB (default ${DEFAULT-VALUE}: rank-8 LoRA on a 7B model's"
                            + " attention).")
    double mb;

    /** The update's float32 elements. */
    public int floats() {
        return (int) (mb * 1e6 / 4);
    }
}
