package io.fedstream.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

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
    void theGroupsHaveTheirOwnHelpAndSubcommands() {
        assertThat(run("experiment", "--help").out())
                .contains("Usage: fedstream experiment", "fedpit", "async", "dp");
        assertThat(run("bench", "--help").out())
                .contains("Usage: fedstream bench", "digest", "aggregate", "e2e");
        assertThat(run("experiment", "async", "--help").out())
                .contains("Usage: fedstream experiment async", "--quick");
    }

    @Test
    void aUsageErrorInALabCommandIsOneLineWithExitCodeTwo() {
        Outcome bench = run("bench", "digest", "--no-such-option");
        assertThat(bench.code()).isEqualTo(2);
        assertThat(bench.err().strip())
                .isEqualTo(
                        "fedstream bench: Unknown option: '--no-such-option' (see fedstream bench"
                                + " --help)");
        Outcome async = run("experiment", "async", "--sites", "many");
        assertThat(async.code()).isEqualTo(2);
        assertThat(async.err().lines())
                .singleElement()
                .asString()
                .startsWith("fedstream experiment async: ");
        // the experiment group writes its own usage lines to System.err
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(
                new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertThat(run("experiment", "--bogus").code()).isEqualTo(2);
        } finally {
            System.setErr(stderr);
        }
        assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8).lines())
                .singleElement()
                .asString()
                .startsWith("unknown option [--bogus]: experiment fedit|feddtpt|fedpit|async|dp");
    }
}
