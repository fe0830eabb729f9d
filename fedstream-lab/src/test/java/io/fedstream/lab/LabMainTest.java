package io.fedstream.lab;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.lab.bench.BenchCommand;
import io.fedstream.lab.experiment.ExperimentCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

class LabMainTest {

    private record Outcome(int code, String out, String err) {}

    private static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = LabMain.run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
        }
        return new Outcome(
                code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theHelpListsTheOperationalCommandsAndTheLabsGroupsBeforeHelp() {
        Outcome o = run("--help");
        assertThat(o.code()).isZero();
        assertThat(o.out())
                .contains("  local ", "  worker ", "  audit ", "  experiment ", "  bench ");
        assertThat(o.out().indexOf("  bench ")).isLessThan(o.out().indexOf("  help "));
    }

    @Test
    void everyExperimentAndBenchIsASubcommandWithItsOwnHelp() {
        for (String e : List.of("fedit", "feddtpt", "fedpit", "async", "dp")) {
            Outcome o = run("experiment", e, "--help");
            assertThat(o.code()).as(e).isZero();
            assertThat(o.out()).contains("Usage: fedstream experiment " + e + " ", "--out");
        }
        for (String b : List.of("digest", "aggregate", "python", "train", "decoder", "e2e")) {
            Outcome o = run("bench", b, "--help");
            assertThat(o.code()).as(b).isZero();
            assertThat(o.out()).contains("Usage: fedstream bench " + b + " ", "--quick");
        }
        assertThat(run("experiment", "--help").out())
                .contains(
                        "Usage: fedstream experiment", "fedit", "feddtpt", "fedpit", "async", "dp");
        assertThat(run("bench", "--help").out())
                .contains("Usage: fedstream bench", "digest", "python", "train", "decoder", "e2e");
    }

    @Test
    void sharedOptionsComeFromOneMixinWithEachCommandsDefault() {
        assertThat(run("experiment", "fedit", "--help").out())
                .contains("--seed", "(default 42)", "--data", "default fedstream-out/fedit");
        assertThat(run("experiment", "async", "--help").out())
                .contains("default fedstream-out/async")
                .doesNotContain("--seed=");
        assertThat(run("bench", "train", "--help").out()).contains("--threads", "--data");
        assertThat(run("bench", "e2e", "--help").out())
                .contains("--mb")
                .doesNotContain("--threads");
    }

    @Test
    void anUnknownOrMissingNameIsOneLineListingTheValidOnes() {
        Outcome experiment = run("experiment", "fedavg");
        assertThat(experiment.code()).isEqualTo(2);
        assertThat(experiment.err().strip())
                .isEqualTo(
                        "fedstream experiment: unknown experiment 'fedavg'; one of: fedit, feddtpt,"
                                + " fedpit, async, dp (see fedstream experiment --help)");
        Outcome bench = run("bench", "kernel");
        assertThat(bench.code()).isEqualTo(2);
        assertThat(bench.err().strip())
                .isEqualTo(
                        "fedstream bench: unknown bench 'kernel'; one of: digest, aggregate,"
                                + " python, train, decoder, e2e, wire (see fedstream bench --help)");
        Outcome none = run("experiment");
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err().lines())
                .singleElement()
                .asString()
                .startsWith("fedstream experiment: no experiment named; one of: fedit,");
        Outcome before = run("bench", "--quick", "e2e");
        assertThat(before.code()).isEqualTo(2);
        assertThat(before.err().strip())
                .isEqualTo(
                        "fedstream bench: Unknown option: '--quick' (see fedstream bench --help)");
    }

    /** Every {@code ./fedstream experiment|bench ...} the docs and CI show parses as written. */
    @Test
    void everyInvocationInTheDocsParses() throws Exception {
        Path root = Path.of("..");
        List<Path> files =
                new ArrayList<>(List.of(root.resolve("README.md"), root.resolve(".ci/run")));
        try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        Pattern invocation = Pattern.compile("\\./fedstream (experiment|bench) ([^`|#()\\n]*)");
        int checked = 0;
        for (Path file : files) {
            Matcher m = invocation.matcher(Files.readString(file));
            while (m.find()) {
                // up to a backtick, table bar or comment ("# ...", "(12 min ...)"); placeholders
                // (<dir>, "$out/async") stand for any value
                String line = m.group(2).replaceAll("<[^>]*>|\"[^\"]*\"", "x").strip();
                List<String> args = new ArrayList<>(Arrays.asList(line.split("\\s+")));
                args.removeIf(String::isEmpty);
                if (args.isEmpty() || args.get(0).matches("[A-Z]+") || args.contains("...")) {
                    continue; // the group itself, as in the module table ("experiment NAME")
                }
                CommandLine group =
                        new CommandLine(
                                m.group(1).equals("bench")
                                        ? new BenchCommand()
                                        : new ExperimentCommand());
                ParseResult parsed = group.parseArgs(args.toArray(String[]::new));
                assertThat(parsed.hasSubcommand())
                        .as(file + ": ./fedstream " + m.group(1) + " " + line)
                        .isTrue();
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(40);
    }

    @Test
    void aUsageErrorInALabCommandIsOneLineWithExitCodeTwo() {
        Outcome bench = run("bench", "digest", "--no-such-option");
        assertThat(bench.code()).isEqualTo(2);
        assertThat(bench.err().strip())
                .isEqualTo(
                        "fedstream bench digest: Unknown option: '--no-such-option' (see fedstream"
                                + " bench digest --help)");
        Outcome async = run("experiment", "async", "--sites", "many");
        assertThat(async.code()).isEqualTo(2);
        assertThat(async.err().lines())
                .singleElement()
                .asString()
                .startsWith("fedstream experiment async: ");
        Outcome feddtpt = run("experiment", "feddtpt", "--clients", "ten");
        assertThat(feddtpt.code()).isEqualTo(2);
        assertThat(feddtpt.err().lines())
                .singleElement()
                .asString()
                .startsWith("fedstream experiment feddtpt: ")
                .contains("--clients");
        Outcome task = run("experiment", "fedit", "--task", "summaries");
        assertThat(task.code()).isEqualTo(2);
        assertThat(task.err().strip())
                .isEqualTo(
                        "fedstream experiment fedit: --task must be qtype or retrieval, not"
                                + " summaries");
    }
}
