package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ./fedstream kafka} in a child JVM, stopped by a real signal as Ctrl-C or {@code kill}
 * would: its data directory is gone afterwards.
 */
class KafkaCommandIT {

    @ParameterizedTest
    @ValueSource(strings = {"INT", "TERM"})
    void deletesItsDataOnSignal(String signal) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx512m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of("kafka", "--port", Integer.toString(port)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader =
                new Thread(
                        () -> {
                            try (BufferedReader r =
                                    new BufferedReader(
                                            new InputStreamReader(
                                                    p.getInputStream(), StandardCharsets.UTF_8))) {
                                for (String l; (l = r.readLine()) != null; ) {
                                    lines.add(l);
                                }
                            } catch (java.io.IOException e) {
                                // gone
                            }
                        });
        reader.start();
        try {
            Pattern ready = Pattern.compile("data in (\\S+); Ctrl-C stops it");
            Path data = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (data == null && System.nanoTime() < deadline && p.isAlive()) {
                for (String l : lines) {
                    Matcher m = ready.matcher(l);
                    if (m.find()) {
                        data = Path.of(m.group(1));
                    }
                }
                Thread.sleep(100);
            }
            assertThat(data).as("started: %s", lines).isNotNull();
            assertThat(data).isDirectory();
            new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid()))
                    .inheritIO()
                    .start()
                    .waitFor();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
            reader.join(5_000);
            assertThat(Files.exists(data)).as("%s deleted; output %s", data, lines).isFalse();
            String stopped = "Kafka stopped, " + data + " deleted";
            assertThat(lines).anyMatch(l -> l.contains(stopped));
        } finally {
            p.destroyForcibly();
        }
    }
}
