package io.fedstream.lab.options;

import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code --out}: an experiment's report directory, by default {@code fedstream-out/<name>}. */
public final class OutOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(
            names = "--out",
            description = "Report directory (default fedstream-out/${COMMAND-NAME}).")
    Path out;

    /** The directory given, or {@code fedstream-out/<the command's name>}. */
    public Path out() {
        return out != null ? out : Path.of("fedstream-out", mixee.name());
    }
}
