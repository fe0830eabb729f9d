package io.fedstream.lab.options;

import picocli.CommandLine.Option;

/** {@code --quick}: a smoke-sized run; each command's description says what it shortens. */
public final class QuickOption {
    @Option(
            names = "--quick",
            description = "A short, smoke-sized run (the description above says what it shortens).")
    boolean quick;

    /** Whether {@code --quick} was given. */
    public boolean quick() {
        return quick;
    }
}
