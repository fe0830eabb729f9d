package io.fedstream.job.adapter;

import io.fedstream.aggregation.privacy.RdpAccountant;
import io.fedstream.job.PrivacySpend;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.schemas.avro.SiteSpend;
import io.fedstream.schemas.kafka.TopicReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/** {@link LedgerLookup} over the privacy-ledger topic (read_committed, from the beginning). */
public final class KafkaLedgerLookup implements LedgerLookup {
    private static final long serialVersionUID = 1L;

    private final Properties consumerProperties;
    private final String topic;

    public KafkaLedgerLookup(Properties consumerProperties, String topic) {
        this.consumerProperties = consumerProperties;
        this.topic = topic;
    }

    @Override
    public Map<String, PrivacySpend> spent(String federationId, long upToVersion) {
        AvroCodec.trustGeneratedClasses();
        byte[] key = federationId.getBytes(StandardCharsets.UTF_8);
        Map<String, Long> at = new HashMap<>();
        Map<String, PrivacySpend> out = new HashMap<>();
        TopicReader.readAll(
                consumerProperties,
                topic,
                r -> {
                    if (r.key() == null || !Arrays.equals(r.key(), key)) {
                        return;
                    }
                    PrivacyLedger l = AvroCodec.PRIVACY_LEDGER.decode(r.value());
                    double[] orders =
                            l.getOrders().stream().mapToDouble(Double::doubleValue).toArray();
                    if (!Arrays.equals(orders, RdpAccountant.orders())) {
                        throw new IllegalStateException(
                                "the privacy ledger of federation "
                                        + federationId
                                        + " tracks other Renyi orders than this job: "
                                        + Arrays.toString(orders));
                    }
                    if (l.getVersion() > upToVersion) {
                        return; // a version whose round closed but that was never published
                    }
                    for (SiteSpend s : l.getEntries()) {
                        Long before = at.get(s.getSiteId());
                        if (before == null || before <= l.getVersion()) { // the later record wins
                            at.put(s.getSiteId(), l.getVersion());
                            out.put(s.getSiteId(), spendOf(s));
                        }
                    }
                });
        return out;
    }

    /** The spend a ledger entry records for its site: its Rényi DP and its number of versions. */
    public static PrivacySpend spendOf(SiteSpend s) {
        return new PrivacySpend(
                s.getRdp().stream().mapToDouble(Double::doubleValue).toArray(), s.getVersions());
    }
}
