package io.fedstream.cli;

import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine.Option;

/**
 * {@code --bootstrap} and {@code --kafka-config}: how a command that reads or writes the
 * federation's topics reaches Kafka, declared once and mixed into each such command ({@code audit},
 * {@code ledger}, {@code rejections}, {@code report}, {@code worker}, {@code prompt-worker}) with
 * picocli's {@code @Mixin}.
 */
final class KafkaOptions {
    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers.")
    String bootstrap;

    @Option(
            names = "--kafka-config",
            description =
                    "Java properties file of extra Kafka client settings (SASL/SSL), see docs/operations.md.")
    Path kafkaConfig;

    /** {@code --kafka-config}'s properties (empty without it), or a one-line error naming it. */
    Properties clientProperties() {
        return JobCommand.kafkaProperties(kafkaConfig);
    }
}
