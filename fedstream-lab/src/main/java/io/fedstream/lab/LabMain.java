package io.fedstream.lab;

import io.fedstream.cli.Main;
import io.fedstream.lab.bench.BenchCommand;
import io.fedstream.lab.experiment.ExperimentCommand;
import java.io.PrintStream;
import java.util.List;

/**
 * The {@code ./fedstream} command line of a source checkout and of the distribution:
 * fedstream-cli's operational commands ({@link Main}) plus the lab's two groups, {@code experiment}
 * and {@code bench}, with the same error handling and exit codes. A site's image runs {@link Main}
 * and holds none of this module.
 */
public final class LabMain {
    private LabMain() {}

    public static void main(String[] args) {
        Main.exit(run(args, System.err));
    }

    /** Runs the command line with the lab's groups; errors go to {@code err} as one line each. */
    public static int run(String[] args, PrintStream err) {
        return Main.run(args, err, List.of(new ExperimentCommand(), new BenchCommand()));
    }
}
