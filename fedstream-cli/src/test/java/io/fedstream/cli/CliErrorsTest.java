package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.mlp.DemoFederation;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mistakes a person makes on the command line, each as they would meet it ({@link Main#run},
 * the code path of {@code ./fedstream}): one line on stderr that names the thing and the fix, exit
 * code 2 for usage and 1 for failure, a stack trace only with {@code --verbose}.
 */
class CliErrorsTest {
    @TempDir Path dir;

    record Result(int code, List<String> lines) {
        String line() {
            assertThat(lines).as("stderr lines").hasSize(1);
            return lines.get(0);
        }
    }

    static Result run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
        List<String> lines =
                Arrays.stream(err.toString(StandardCharsets.UTF_8).split("\n"))
                        .filter(l -> !l.isBlank())
                        .toList();
        return new Result(code, lines);
    }

    /** {@code command --bootstrap 127.0.0.1:1} (no broker there) followed by {@code more}. */
    static Result runAgainstNoBroker(String command, String... more) {
        String[] args = new String[3 + more.length];
        args[0] = command;
        args[1] = "--bootstrap";
        args[2] = "127.0.0.1:1";
        System.arraycopy(more, 0, args, 3, more.length);
        return run(args);
    }

    private Path spec() throws Exception {
        Path f = dir.resolve("federations.json");
        FederationSpec.writeAll(f, List.of(DemoFederation.create("demo", 42, 3, 0.5).spec()));
        return f;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void unknownOptionIsOneLineWithAHintToHelp() {
        Result r = run("worker", "--bootstrap", "x:1", "--site-index", "0", "--bogus", "1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.line()).contains("--bogus").contains("fedstream worker --help");
    }

    @Test
    void unknownOptionIsNamedEvenWhenRequiredOnesAreMissing() {
        Result r = run("job", "--bogus");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.line()).contains("Unknown option: '--bogus'").contains("--help");
    }

    @Test
    void badOptionValueNamesTheOption() {
        Result r = run("worker", "--bootstrap", "x:1", "--site-index", "abc");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.line()).contains("--site-index").contains("abc");
    }

    @Test
    void badModelIsAUsageErrorNamingTheOption() {
        Result r = runAgainstNoBroker("worker", "--site-index", "0", "--model", "gpt9");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.line()).contains("--model").contains("minilm");
    }

    @Test
    void missingDatasetIsNamed() {
        Path missing = dir.resolve("medquad.jsonl.gz");
        Result r =
                runAgainstNoBroker(
                        "worker",
                        "--site-index",
                        "0",
                        "--model",
                        "minilm",
                        "--data",
                        missing.toString());
        assertThat(r.code()).isIn(1, 2);
        assertThat(r.line()).contains(missing.toString());
    }

    @Test
    void badJobSettingNamesTheKey() throws Exception {
        Result r =
                runAgainstNoBroker(
                        "job",
                        "--federations",
                        spec().toString(),
                        "--set",
                        "fedstream.round.quorum=many");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.line()).contains("fedstream.round.quorum=many").contains("--help-config");
        Result typo =
                runAgainstNoBroker(
                        "job",
                        "--federations",
                        spec().toString(),
                        "--set",
                        "fedstream.round.quorom=2");
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.line()).contains("fedstream.round.quorom").contains("no such job option");
    }

    @Test
    void missingFileNamesTheFileAndHowToMakeOne() {
        Path missing = dir.resolve("nope.json");
        Result r = runAgainstNoBroker("job", "--federations", missing.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.line()).contains(missing.toString()).contains("no such file").contains("spec");
    }

    @Test
    void malformedFileSaysItIsNotJson() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.json"), "{bad");
        Result r = runAgainstNoBroker("job", "--federations", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.line()).contains(bad.toString()).contains("not valid JSON");
    }

    @Test
    void specWithoutTensorsNamesTheMissingField() throws Exception {
        Path x = Files.writeString(dir.resolve("x.json"), "{\"id\":\"x\"}");
        Result r = runAgainstNoBroker("job", "--federations", x.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.line()).contains("\"tensors\"").contains("./fedstream spec");
    }

    @Test
    void missingKafkaConfigFileIsNamed() {
        Path missing = dir.resolve("client.properties");
        Result r = runAgainstNoBroker("rejections", "--kafka-config", missing.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.line()).contains("--kafka-config").contains(missing.toString());
    }

    @Test
    void unreachableBootstrapEndsInOneLineNamingIt() throws Exception {
        String bootstrap = "127.0.0.1:" + freePort();
        Result r = run("rejections", "--bootstrap", bootstrap);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.line())
                .contains("no Kafka answered at --bootstrap " + bootstrap)
                .contains("./fedstream kafka");
    }

    @Test
    void uiPortInUseNamesThePortAndTheOption() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            Result r =
                    runAgainstNoBroker(
                            "job",
                            "--federations",
                            spec().toString(),
                            "--ui-port",
                            Integer.toString(port));
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.line()).contains("port " + port).contains("--ui-port");
        }
    }

    @Test
    void localRefusesABadPrivacyBudgetNamingTheOption() {
        String out = dir.resolve("out").toString();
        for (String[] bad :
                List.of(
                        new String[] {"--dp-epsilon", "0"},
                        new String[] {"--dp-epsilon", "-1"},
                        new String[] {"--dp-epsilon", "NaN"},
                        new String[] {"--dp-epsilon", "4", "--dp-delta", "1"},
                        new String[] {"--dp-epsilon", "4", "--dp-delta", "0"},
                        new String[] {"--dp-epsilon", "4", "--dp-clip", "0"},
                        new String[] {"--dp-epsilon", "4", "--versions", "0"})) {
            String[] args = new String[bad.length + 3];
            args[0] = "local";
            args[1] = "--out";
            args[2] = out;
            System.arraycopy(bad, 0, args, 3, bad.length);
            Result r = run(args);
            String option = bad[bad.length - 2];
            assertThat(r.code()).as(String.join(" ", bad)).isEqualTo(2);
            assertThat(r.line()).contains(option).contains(bad[bad.length - 1]);
        }
        Result r = run("local", "--out", out, "--dp-clip", "2");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.line()).contains("--dp-clip").contains("--dp-epsilon");
        assertThat(dir.resolve("out")).doesNotExist(); // refused before anything started
    }

    @Test
    void verboseAddsTheStackTrace() {
        Path missing = dir.resolve("nope.json");
        Result r =
                run(
                        "job",
                        "--verbose",
                        "--bootstrap",
                        "127.0.0.1:1",
                        "--federations",
                        missing.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.lines().get(0)).contains("no such file");
        assertThat(r.lines()).hasSizeGreaterThan(2);
        assertThat(r.lines().get(2)).contains("at io.fedstream.cli.");
    }

    @Test
    void keygenRefusesToOverwriteAKey() throws Exception {
        Path key = Files.writeString(dir.resolve("site.key"), "secret");
        Result r = run(KeygenCommandTest.keygenArgs(key, dir.resolve("keys.json")));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.line()).contains("refusing to overwrite " + key).contains("--private-key");
        assertThat(Files.readString(key)).isEqualTo("secret");
    }
}
