package io.fedstream.cli;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.schemas.avro.SiteSpend;
import io.fedstream.schemas.kafka.TopicReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Reading the privacy ledger, for {@code ./fedstream ledger} and for runs that report ε per version
 * (the {@code epsilon} column of a versions CSV: {@link LargestSpend}).
 */
public final class PrivacyLedgers {
    private PrivacyLedgers() {}

    /** One site's row of the budget table. */
    record SiteRow(
            String siteId,
            long versions,
            long lastVersion,
            double epsilon,
            double budget,
            double delta) {
        double remaining() {
            return Math.max(0, budget - epsilon);
        }
    }

    /**
     * The federation's ledger records (read_committed), by version; a version recorded twice (a
     * round closed again after a restart without state) keeps its later record.
     */
    public static TreeMap<Long, PrivacyLedger> read(
            Properties client, String topic, String federationId) {
        AvroCodec.trustGeneratedClasses();
        byte[] key = federationId.getBytes(StandardCharsets.UTF_8);
        TreeMap<Long, PrivacyLedger> out = new TreeMap<>();
        TopicReader.readAll(
                client,
                topic,
                r -> {
                    if (r.key() != null && Arrays.equals(r.key(), key)) {
                        PrivacyLedger l = AvroCodec.PRIVACY_LEDGER.decode(r.value());
                        out.put(l.getVersion(), l);
                    }
                });
        return out;
    }

    /** Every site's newest spend, in order of first contribution. */
    static List<SiteRow> bySite(Iterable<PrivacyLedger> records) {
        Map<String, SiteRow> rows = new LinkedHashMap<>();
        for (PrivacyLedger l : records) {
            for (SiteSpend s : l.getEntries()) {
                SiteRow before = rows.get(s.getSiteId());
                if (before == null || before.lastVersion() <= l.getVersion()) {
                    rows.put(
                            s.getSiteId(),
                            new SiteRow(
                                    s.getSiteId(),
                                    s.getVersions(),
                                    l.getVersion(),
                                    s.getEpsilon(),
                                    l.getEpsilonBudget(),
                                    l.getDelta()));
                }
            }
        }
        return new ArrayList<>(rows.values());
    }

    /**
     * The largest ε any site of a federation has spent, version after version: what the {@code
     * epsilon} column of a local run's versions CSV holds. Unlike the largest ε among one version's
     * contributors it never decreases, and it stays within the budget exactly when every site does.
     */
    static final class LargestSpend {
        private final Map<String, Double> bySite = new java.util.HashMap<>();
        private double largest;

        /**
         * Takes the next version's ledger record (in version order) and returns the largest ε any
         * site has spent up to and including it.
         */
        double add(PrivacyLedger l) {
            for (SiteSpend s : l.getEntries()) {
                bySite.put(s.getSiteId(), s.getEpsilon());
            }
            largest = bySite.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
            return largest;
        }
    }

    /** The largest ε spent so far among the sites that contributed to the version. */
    public static double maxEpsilon(PrivacyLedger l) {
        return l.getEntries().stream().mapToDouble(SiteSpend::getEpsilon).max().orElse(0);
    }
}
