package io.fedstream.cli;

import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.PrivacyLedger;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./fedstream ledger}: a federation's per-site privacy budget table. */
@Command(
        name = "ledger",
        mixinStandardHelpOptions = true,
        description = {
            "Reads the privacy ledger of a federation with central DP (read_committed) and prints"
                    + " every site's spend: the versions it contributed to, epsilon spent at the"
                    + " ledger's delta, its budget and what remains.",
            "Exits 1 if the ledger has no record of the federation."
        })
final class LedgerCommand implements Callable<Integer> {

    @Mixin KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--federation", required = true, description = "Federation id.")
    String federation;

    @Option(
            names = "--topic",
            defaultValue = Topics.PRIVACY_LEDGER,
            description = "(default ${DEFAULT-VALUE})")
    String topic;

    @Option(names = "--versions", description = "Also print every version's record.")
    boolean versions;

    @Override
    public Integer call() {
        Properties client;
        try {
            client = AuditCommand.loadProperties(kafka.kafkaConfig);
        } catch (java.io.IOException e) {
            System.err.println(
                    "cannot read --kafka-config " + kafka.kafkaConfig + ": " + e.getMessage());
            return 2;
        }
        client.put("bootstrap.servers", kafka.bootstrap);
        TreeMap<Long, PrivacyLedger> records = PrivacyLedgers.read(client, topic, federation);
        if (records.isEmpty()) {
            System.out.println(federation + ": no privacy ledger records on " + topic);
            return 1;
        }
        if (versions) {
            for (PrivacyLedger l : records.values()) {
                StringBuilder sites = new StringBuilder();
                l.getEntries()
                        .forEach(
                                s ->
                                        sites.append(
                                                String.format(
                                                        java.util.Locale.ROOT,
                                                        " %s(x%d)=%.4f",
                                                        s.getSiteId(),
                                                        s.getContributions(),
                                                        s.getEpsilon())));
                System.out.printf(
                        java.util.Locale.ROOT,
                        "version %5d  C %.4g  sigma %.4g  /%d %s%n",
                        l.getVersion(),
                        l.getClipNorm(),
                        l.getNoiseMultiplier(),
                        l.getExpectedContributions(),
                        sites);
            }
        }
        PrivacyLedger last = records.lastEntry().getValue();
        List<PrivacyLedgers.SiteRow> rows = PrivacyLedgers.bySite(records.values());
        System.out.printf(
                java.util.Locale.ROOT,
                "federation %s: %s DP, clip %.4g, noise multiplier %.4g, delta %.3g, sampling rate"
                        + " %.3g, %d versions on the ledger (newest %d)%n",
                federation,
                last.getMechanism(),
                last.getClipNorm(),
                last.getNoiseMultiplier(),
                last.getDelta(),
                last.getSamplingRate(),
                records.size(),
                last.getVersion());
        System.out.printf(
                "%-20s %9s %12s %10s %10s %10s%n",
                "site", "versions", "last version", "epsilon", "budget", "remaining");
        for (PrivacyLedgers.SiteRow r : rows) {
            System.out.printf(
                    java.util.Locale.ROOT,
                    "%-20s %9d %12d %10.4f %10.4f %10.4f%n",
                    r.siteId(),
                    r.versions(),
                    r.lastVersion(),
                    r.epsilon(),
                    r.budget(),
                    r.remaining());
        }
        return 0;
    }
}
