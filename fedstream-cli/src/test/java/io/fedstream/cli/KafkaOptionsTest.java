package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The commands that reach Kafka take {@code --bootstrap} and {@code --kafka-config} from one mixin.
 */
class KafkaOptionsTest {
    private static final String[] COMMANDS = {
        "audit", "ledger", "rejections", "report", "worker", "prompt-worker"
    };

    @Test
    void everyKafkaCommandHasTheMixinsOptions() {
        CommandLine main =
                Main.commandLine(new PrintStream(OutputStream.nullOutputStream()), false);
        for (String name : COMMANDS) {
            CommandSpec spec = main.getSubcommands().get(name).getCommandSpec();
            assertThat(spec.mixins()).as(name).containsKey("kafka");
            assertThat(spec.findOption("--bootstrap").required()).as(name).isTrue();
            assertThat(spec.findOption("--bootstrap").description())
                    .containsExactly("Kafka bootstrap servers.");
            assertThat(spec.findOption("--kafka-config").required()).as(name).isFalse();
            assertThat(spec.findOption("--kafka-config").type()).isEqualTo(Path.class);
        }
    }

    @Test
    void theCommandLineFillsTheMixin() {
        ReportCommand report = new ReportCommand();
        new CommandLine(report)
                .parseArgs(
                        "--bootstrap",
                        "k:9092",
                        "--federation",
                        "f",
                        "--out",
                        "r",
                        "--kafka-config",
                        "client.properties");

        assertThat(report.kafka.bootstrap).isEqualTo("k:9092");
        assertThat(report.kafka.kafkaConfig).isEqualTo(Path.of("client.properties"));
        assertThat(new KafkaOptions().clientProperties()).isEmpty();
    }
}
