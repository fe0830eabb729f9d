package io.fedstream.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball as a site gets it: unpacked into an empty directory and run with a Java runtime
 * linked by jlink (no compiler, no Maven, no ~/.m2, nothing on the PATH but the shell tools the
 * launcher uses).
 */
class FedstreamDistIT {
    @TempDir static Path tmp;
    static Path home;

    @BeforeAll
    static void unpack() throws Exception {
        Path tarball = Path.of(System.getProperty("fedstream.dist.tarball"));
        assertThat(tarball).isRegularFile();
        Path install = Files.createDirectories(tmp.resolve("install"));
        run(install, Map.of(), "tar", "xzf", tarball.toString());
        home = install.resolve("fedstream-" + System.getProperty("fedstream.version"));
        assertThat(home).isDirectory();
    }

    @Test
    void everyJarTheClasspathsNameIsInLib() throws IOException {
        for (String list : List.of("fedstream.classpath", "flink.classpath")) {
            String entries = Files.readString(home.resolve("lib").resolve(list)).trim();
            assertThat(entries).isNotEmpty();
            for (String entry : entries.split(":")) {
                assertThat(entry).startsWith("lib/");
                assertThat(home.resolve(entry)).as(list).isRegularFile();
            }
        }
        // the cluster's JVMs run Flink with one slf4j binding and no FedStream classes
        String flink = Files.readString(home.resolve("lib/flink.classpath"));
        assertThat(flink)
                .contains("lib/flink-runtime-", "lib/flink-runtime-web-", "lib/log4j-slf4j2-impl-")
                .doesNotContain("fedstream", "kafka-clients");
        // the lab's jars apart from the CLI's: lab/lab.classpath names them under lab/, and what a
        // site runs (lib/fedstream.classpath) holds no experiment, benchmark or JMH
        String lab = Files.readString(home.resolve("lab/lab.classpath")).trim();
        assertThat(lab).contains("lab/jmh-core-");
        for (String entry : lab.split(":")) {
            assertThat(entry).startsWith("lab/");
            assertThat(home.resolve(entry)).as("lab.classpath").isRegularFile();
        }
        try (var labJars = Files.list(home.resolve("lab"))) {
            assertThat(labJars.map(p -> p.getFileName().toString()))
                    .anyMatch(n -> n.startsWith("fedstream-lab-") && n.endsWith(".jar"));
        }
        // research code kept in client-worker's tests (decoder pretraining) comes with the lab only
        String research = Files.readString(home.resolve("lab/research.classpath")).trim();
        assertThat(research).startsWith("lab/client-worker-").endsWith("-tests.jar");
        assertThat(home.resolve(research)).isRegularFile();
        assertThat(Files.readString(home.resolve("lib/fedstream.classpath")))
                .doesNotContain("jmh", "fedstream-lab", "-tests.jar");
        try (var libJars = Files.list(home.resolve("lib"))) {
            assertThat(libJars.map(p -> p.getFileName().toString()))
                    .noneMatch(
                            n ->
                                    n.startsWith("fedstream-lab-")
                                            || n.startsWith("jmh-")
                                            || n.endsWith("-tests.jar"));
        }
        try (var jobs = Files.list(home.resolve("job"))) {
            assertThat(jobs.map(p -> p.getFileName().toString()))
                    .singleElement()
                    .asString()
                    .endsWith("-job.jar");
        }
    }

    @Test
    void licencesAndTheDataAttributionShip() throws IOException {
        assertThat(Files.readString(home.resolve("NOTICE")))
                .contains("MedQuAD", "Creative Commons Attribution 4.0", "Ben Abacha");
        assertThat(home.resolve("conf/log4j2.properties")).isRegularFile();
        // the build writes it with `fedstream spec`: JSON only, no log lines
        assertThat(Files.readString(home.resolve("conf/federations.json")))
                .startsWith("[{")
                .contains("\"id\" : \"demo\"")
                .endsWith("}]\n");
        Path checkout = Path.of(System.getProperty("user.dir")).resolve("../datasets/medquad");
        if (Files.isDirectory(checkout)) {
            assertThat(home.resolve("datasets/medquad/LICENSE.txt")).isRegularFile();
            try (var files = Files.list(checkout)) {
                for (Path f : files.toList()) {
                    assertThat(home.resolve("datasets/medquad").resolve(f.getFileName()))
                            .hasSameBinaryContentAs(f);
                }
            }
        }
    }

    @Test
    void theWorkerRunsWithOnlyAJre() throws Exception {
        Path jre = tmp.resolve("jre");
        if (!Files.isDirectory(jre)) {
            Path jlink = Path.of(System.getProperty("java.home"), "bin", "jlink");
            run(
                    tmp,
                    Map.of(),
                    jlink.toString(),
                    "--add-modules",
                    "java.se,jdk.unsupported,jdk.incubator.vector,jdk.crypto.ec,jdk.zipfs",
                    "--no-header-files",
                    "--no-man-pages",
                    "--strip-debug",
                    "--output",
                    jre.toString());
        }
        assertThat(jre.resolve("bin/javac")).doesNotExist();
        // a PATH with the launcher's shell tools and nothing else (no java, no mvn)
        Path bin = Files.createDirectories(tmp.resolve("path"));
        for (String tool : List.of("bash", "dirname", "sed", "ls", "head", "cat")) {
            Path link = bin.resolve(tool);
            if (!Files.exists(link)) {
                Files.createSymbolicLink(link, which(tool));
            }
        }
        Path userHome = Files.createDirectories(tmp.resolve("home"));
        Path cwd = Files.createDirectories(tmp.resolve("cwd"));
        Map<String, String> env =
                Map.of(
                        "PATH", bin.toString(),
                        "HOME", userHome.toString(),
                        "JAVA_HOME", jre.toString(),
                        "FEDSTREAM_JAVA_OPTS", "-Xmx256m");
        String help = run(cwd, env, home.resolve("bin/fedstream").toString(), "worker", "--help");
        assertThat(help).contains("Usage: fedstream worker", "--bootstrap");
        // with lab/ the launcher runs the lab's main: experiment and bench are there
        String all = run(cwd, env, home.resolve("bin/fedstream").toString(), "--help");
        assertThat(all).contains("  worker", "  experiment", "  bench");
        // a site's install without lab/ (the rest linked): the operational commands only
        Path site = Files.createDirectories(tmp.resolve("site"));
        for (String dir : List.of("bin", "lib", "job", "conf")) {
            Path link = site.resolve(dir);
            if (!Files.exists(link)) {
                Files.createSymbolicLink(link, home.resolve(dir));
            }
        }
        String siteHelp = run(cwd, env, site.resolve("bin/fedstream").toString(), "--help");
        assertThat(siteHelp).contains("  worker").doesNotContain("  experiment", "  bench");

        try (var left = Files.list(userHome)) {
            assertThat(left).as("nothing written to HOME (no ~/.m2)").isEmpty();
        }
    }

    private static Path which(String tool) {
        for (String dir : System.getenv("PATH").split(":")) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IllegalStateException(tool + " is not on the PATH");
    }

    /** Runs a command with exactly {@code env} (inherited if empty); its stdout, exit code 0. */
    private static String run(Path dir, Map<String, String> env, String... command)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(Arrays.asList(command)));
        pb.directory(dir.toFile());
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        if (!env.isEmpty()) {
            pb.environment().clear();
            pb.environment().putAll(env);
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command)).isZero();
        return new String(out, StandardCharsets.UTF_8);
    }
}
