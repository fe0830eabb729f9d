package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.privacy.RdpAccountant;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.schemas.avro.SiteSpend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code ./fedstream ledger} on a real broker's privacy-ledger topic. */
class LedgerCommandIT {

    private static SiteSpend spend(String site, int versions) {
        double[] rdp = RdpAccountant.rdp(1.0, 1.5, versions);
        List<Double> boxed = new ArrayList<>();
        for (double r : rdp) {
            boxed.add(r);
        }
        return SiteSpend.newBuilder()
                .setSiteId(site)
                .setContributions(1)
                .setEpsilon(RdpAccountant.epsilon(rdp, 1e-5))
                .setRdp(boxed)
                .setVersions(versions)
                .build();
    }

    private static PrivacyLedger record(String fed, long version, List<SiteSpend> entries) {
        List<Double> orders = new ArrayList<>();
        for (double o : RdpAccountant.orders()) {
            orders.add(o);
        }
        return PrivacyLedger.newBuilder()
                .setFederationId(fed)
                .setVersion(version)
                .setMechanism("central")
                .setClipNorm(0.5)
                .setNoiseMultiplier(1.5)
                .setDelta(1e-5)
                .setEpsilonBudget(20)
                .setSamplingRate(1)
                .setExpectedContributions(2)
                .setOrders(orders)
                .setEntries(entries)
                .build();
    }

    @Test
    void printsEverySitesNewestSpendAndWhatRemains() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            kafka.createTopic(Topics.PRIVACY_LEDGER, 1, Map.of());
            try (KafkaProducer<byte[], byte[]> p =
                    new KafkaProducer<>(
                            kafka.clientProperties(),
                            new ByteArraySerializer(),
                            new ByteArraySerializer())) {
                List<PrivacyLedger> records =
                        List.of(
                                record("f", 1, List.of(spend("s1", 1), spend("s2", 1))),
                                record("other", 1, List.of(spend("x", 1))),
                                record("f", 2, List.of(spend("s1", 2), spend("s3", 1))));
                for (PrivacyLedger l : records) {
                    p.send(
                                    new ProducerRecord<>(
                                            Topics.PRIVACY_LEDGER,
                                            l.getFederationId().getBytes(StandardCharsets.UTF_8),
                                            AvroCodec.PRIVACY_LEDGER.encode(l)))
                            .get();
                }
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            PrintStream before = System.out;
            int code;
            try {
                System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
                code =
                        new CommandLine(new Main())
                                .execute(
                                        "ledger",
                                        "--bootstrap",
                                        kafka.bootstrapServers(),
                                        "--federation",
                                        "f");
            } finally {
                System.setOut(before);
            }
            String out = buf.toString(StandardCharsets.UTF_8);
            System.out.print(out);
            assertThat(code).isZero();
            assertThat(out).contains("2 versions on the ledger (newest 2)").doesNotContain(" x ");
            double two = RdpAccountant.epsilon(1.0, 1.5, 2, 1e-5);
            double one = RdpAccountant.epsilon(1.0, 1.5, 1, 1e-5);
            assertThat(out)
                    .containsPattern(
                            "s1 +2 +2 +" + String.format(java.util.Locale.ROOT, "%.4f", two))
                    .containsPattern(
                            "s2 +1 +1 +" + String.format(java.util.Locale.ROOT, "%.4f", one))
                    .containsPattern(
                            "s3 +1 +2 +"
                                    + String.format(java.util.Locale.ROOT, "%.4f +20.0000", one));

            System.setOut(new PrintStream(new ByteArrayOutputStream(), true));
            try {
                assertThat(
                                new CommandLine(new Main())
                                        .execute(
                                                "ledger",
                                                "--bootstrap",
                                                kafka.bootstrapServers(),
                                                "--federation",
                                                "none"))
                        .isEqualTo(1);
            } finally {
                System.setOut(before);
            }
        }
    }
}
