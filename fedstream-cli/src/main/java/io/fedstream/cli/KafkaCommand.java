package io.fedstream.cli;

import io.fedstream.embedded.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
        Preflight.portFree(port, "--port", "Kafka");
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch cleanedUp = new CountDownLatch(1);
        // The JVM exits when its shutdown hooks return: the hook waits until the broker is closed
        // and its data deleted on the main thread, for Ctrl-C (SIGINT) and SIGTERM alike.
        Thread hook =
                new Thread(
                        () -> {
                            stop.countDown();
                            try {
                                cleanedUp.await(60, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "fedstream-kafka-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        Path data = null;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(port).start()) {
            data = kafka.dataDirectory();
            LocalFederation.createTopics(kafka);
            System.out.println(
                    "Kafka at "
                            + kafka.bootstrapServers()
                            + " with topics adapter-updates, global-models, rejected-updates, prompt-updates,"
                            + " global-prompts; data in "
                            + data
                            + "; Ctrl-C stops it and deletes the data");
            System.out.flush();
            stop.await();
            System.out.println("stopping Kafka and deleting " + data);
            System.out.flush();
        } finally {
            if (data != null && !Files.exists(data)) {
                System.out.println("Kafka stopped, " + data + " deleted");
                System.out.flush();
            }
            cleanedUp.countDown();
        }
        return 0;
    }
}
