package io.fedstream.lab.options;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * A group of subcommands, {@code experiment} or {@code bench}: picocli runs the subcommand named
 * first; a missing or unknown name (or an option before the name) is a usage error of one line that
 * lists the valid names.
 */
public abstract class CommandGroup implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "NAME",
            description = "What to run: one of the commands below (each has its own --help).")
    String name;

    @Override
    public Integer call() {
        String what = spec.name();
        String problem =
                name != null ? "unknown " + what + " '" + name + "'" : "no " + what + " named";
        throw new CommandLine.UnmatchedArgumentException(
                spec.commandLine(), problem + "; one of: " + String.join(", ", names()));
    }

    /** The subcommands' names, in the order of the group's declaration, without {@code help}. */
    List<String> names() {
        return spec.subcommands().keySet().stream().filter(n -> !n.equals("help")).toList();
    }
}
