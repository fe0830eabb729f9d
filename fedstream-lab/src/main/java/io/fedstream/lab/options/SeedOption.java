package io.fedstream.lab.options;

import picocli.CommandLine.Option;

/** {@code --seed}: the seed of an experiment's data split, sampling and initialisation. */
public final class SeedOption {
    @Option(names = "--seed", defaultValue = "42", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    /** The seed. */
    public long seed() {
        return seed;
    }
}
