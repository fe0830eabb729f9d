package io.fedstream.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ./fedstream} command line: the operational commands. fedstream-lab's {@code LabMain}
 * runs the same command line with its {@code experiment} and {@code bench} groups added. A mistake
 * ends with one line on stderr that names the thing and the fix ({@link Errors}): exit code 2 for a
 * usage error (unknown option, bad value), 1 for a failure (missing file, unreachable broker, port
 * in use). {@code --verbose} anywhere on the line adds the stack trace.
 */
@Command(
        name = "fedstream",
        mixinStandardHelpOptions = true,
        version = "FedStream 0.1.0-SNAPSHOT",
        description =
                "Continual, asynchronous federated tuning of language models on Flink and Kafka.",
        footer = {
            "",
            "Errors are one line; add --verbose to any command for the stack trace.",
            "Exit codes: 0 done, 1 failed, 2 usage error."
        },
        subcommands = {
            LocalCommand.class,
            JobCommand.class,
            WorkerCommand.class,
            SpecCommand.class,
            AuditCommand.class,
            LedgerCommand.class,
            KeygenCommand.class,
            KafkaCommand.class,
            RejectionsCommand.class,
            ReportCommand.class,
            GenerateCommand.class,
            PromptEmbeddingsCommand.class,
            PromptJobCommand.class,
            PromptWorkerCommand.class,
            ClusterCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    /** Exit code of a usage error. */
    static final int USAGE = 2;

    /** Exit code of a failure. */
    static final int FAILURE = 1;

    /** The flag that asks for stack traces, accepted anywhere on the command line. */
    static final String VERBOSE = "--verbose";

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        exit(run(args, System.err));
    }

    /** Flushes stdout and exits with {@code code}. */
    public static void exit(int code) {
        System.out.flush();
        System.exit(code);
    }

    /** Runs the command line; errors go to {@code err} as one line each. */
    static int run(String[] args, PrintStream err) {
        return run(args, err, List.of());
    }

    /**
     * Runs the command line with {@code groups} (picocli command objects, e.g. the lab's {@code
     * experiment} and {@code bench}) added after the operational commands; errors go to {@code err}
     * as one line each, with FedStream's exit codes.
     */
    public static int run(String[] args, PrintStream err, List<Object> groups) {
        List<String> rest = new ArrayList<>();
        boolean verbose = false;
        for (String a : args) {
            if (a.equals(VERBOSE)) {
                verbose = true;
            } else {
                rest.add(a);
            }
        }
        return commandLine(err, verbose, groups).execute(rest.toArray(String[]::new));
    }

    /**
     * Whether a failure is a usage error: a {@link Errors.UsageError}, or an argument check whose
     * message starts with the option it is about ("--site-index must be ...").
     */
    static boolean usage(Exception ex) {
        return ex instanceof Errors.UsageError
                || (ex instanceof IllegalArgumentException
                        && ex.getMessage() != null
                        && ex.getMessage().startsWith("--"));
    }

    /** The command line with FedStream's error handling. */
    static CommandLine commandLine(PrintStream err, boolean verbose) {
        return commandLine(err, verbose, List.of());
    }

    /**
     * The command line with {@code groups} added before {@code help}, and FedStream's error
     * handling on all of it (picocli sets handlers on the subcommands present when they are set).
     */
    static CommandLine commandLine(PrintStream err, boolean verbose, List<Object> groups) {
        CommandLine cl = new CommandLine(new Main());
        if (!groups.isEmpty()) {
            CommandLine help = cl.getSubcommands().get("help");
            cl.getCommandSpec().removeSubcommand("help");
            groups.forEach(cl::addSubcommand);
            cl.addSubcommand("help", help);
        }
        cl.setParameterExceptionHandler(
                (ex, args) -> {
                    CommandLine sub = ex.getCommandLine();
                    String message = ex.getMessage();
                    // an unknown option explains a missing one better than the other way round
                    var unmatched = sub.getUnmatchedArguments();
                    if (!(ex instanceof CommandLine.UnmatchedArgumentException)
                            && unmatched != null
                            && !unmatched.isEmpty()) {
                        message =
                                (unmatched.get(0).startsWith("-")
                                                ? "Unknown option: '"
                                                : "Unexpected argument: '")
                                        + unmatched.get(0)
                                        + "'";
                    }
                    err.println(
                            sub.getCommandSpec().qualifiedName()
                                    + ": "
                                    + Errors.firstLine(message)
                                    + " (see "
                                    + sub.getCommandSpec().qualifiedName()
                                    + " --help)");
                    if (verbose) {
                        ex.printStackTrace(err);
                    }
                    return USAGE;
                });
        cl.setExecutionExceptionHandler(
                (ex, sub, parseResult) -> {
                    err.println(sub.getCommandSpec().qualifiedName() + ": " + Errors.oneLine(ex));
                    if (verbose) {
                        ex.printStackTrace(err);
                    }
                    return usage(ex) ? USAGE : FAILURE;
                });
        return cl;
    }
}
