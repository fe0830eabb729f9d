package io.fedstream.cli;

import io.fedstream.audit.FederationAudit;
import io.fedstream.audit.KafkaAudit;
import io.fedstream.schemas.Topics;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./fedstream audit}: recomputes every global version of a federation from the log. */
@Command(
        name = "audit",
        mixinStandardHelpOptions = true,
        description = {
            "Reads the global models and the updates of a federation from the beginning and, for"
                    + " every version, checks the chain, the digest, and recomputes the version"
                    + " from its parent and the updates its manifest names, bit for bit.",
            "Exits 1 on any mismatch, missing update, reused update or broken chain."
        })
final class AuditCommand implements Callable<Integer> {

    @Mixin KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--federation", required = true, description = "Federation id.")
    String federation;

    @Option(
            names = "--updates-topic",
            defaultValue = Topics.ADAPTER_UPDATES,
            description = "(default ${DEFAULT-VALUE})")
    String updatesTopic;

    @Option(
            names = "--global-models-topic",
            defaultValue = Topics.GLOBAL_MODELS,
            description = "(default ${DEFAULT-VALUE})")
    String globalModelsTopic;

    @Option(
            names = "--privacy-secret",
            description =
                    "The job's privacy secret file (fedstream.privacy.secret-file): re-derives the"
                            + " noise of DP-FedAvg versions and checks them bit for bit. Without"
                            + " it, their noise and values are not checked (and the summary says"
                            + " so).")
    java.nio.file.Path privacySecret;

    @Override
    public Integer call() throws java.io.IOException {
        Properties client = loadProperties(kafka.kafkaConfig);
        client.put("bootstrap.servers", kafka.bootstrap);
        byte[] secret = null;
        if (privacySecret != null) {
            try {
                secret = java.nio.file.Files.readAllBytes(privacySecret);
            } catch (java.io.IOException e) {
                System.err.println("cannot read --privacy-secret " + privacySecret + ": " + e);
                return 2;
            }
        }
        KafkaAudit.Result result =
                KafkaAudit.run(client, updatesTopic, globalModelsTopic, federation, secret);
        long unverifiedNoise =
                result.findings().stream()
                        .filter(f -> f.ok() && f.detail().contains("NOT verified"))
                        .count();
        for (FederationAudit.Finding f : result.findings()) {
            System.out.printf(
                    "version %5d  %-8s %s%n", f.version(), f.ok() ? "OK" : "MISMATCH", f.detail());
        }
        System.out.printf(
                "%s: %d versions, %d updates read (%d undecodable version records): %s%n",
                federation,
                result.versionsRead(),
                result.updatesRead(),
                result.undecodable(),
                result.ok()
                        ? unverifiedNoise == 0
                                ? "every version verified"
                                : "every version verified except the noise of "
                                        + unverifiedNoise
                                        + " DP versions (give --privacy-secret to check it)"
                        : result.versionsRead() == 0 ? "no versions found" : "AUDIT FAILED");
        return result.ok() ? 0 : 1;
    }

    static java.util.Properties loadProperties(java.nio.file.Path file) throws java.io.IOException {
        java.util.Properties p = new java.util.Properties();
        if (file != null) {
            try (var in = java.nio.file.Files.newBufferedReader(file)) {
                p.load(in);
            }
        }
        return p;
    }
}
