package io.fedstream.cli;

import io.fedstream.embedded.EmbeddedKafka;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./fedstream kafka}: a single-node Kafka broker on loopback with FedStream's topics. */
@Command(
        name = "kafka",
        mixinStandardHelpOptions = true,
        description = {
            "Runs a single-node Kafka broker (KRaft) on 127.0.0.1 with the FedStream topics, until"
                    + " interrupted: for trying ./fedstream job, worker and audit as separate"
                    + " processes on one machine. Its data is deleted when it stops."
        })
final class KafkaCommand implements Callable<Integer> {

    @Option(
            names = "--port",
            defaultValue = "9092",
            description = "Port (default ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(port).start()) {
            LocalFederation.createTopics(kafka);
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
            System.out.println(
                    "Kafka at "
                            + kafka.bootstrapServers()
                            + " with topics adapter-updates, global-models, rejected-updates, prompt-updates,"
                            + " global-prompts; Ctrl-C stops it");
            stop.await();
        }
        return 0;
    }
}
