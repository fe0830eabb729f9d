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
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Reading the privacy ledger, for {@code ./fedstream ledger} and for runs that report ε per version
 * (the {@code epsilon} columns of a versions CSV: {@link #csvHeader()}, {@link #csv}).
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

    /** The ledger columns of a versions CSV. */
    static String csvHeader() {
        return "epsilon,clip_norm,noise_multiplier,delta";
    }

    /**
     * A version's ledger columns: {@code epsilon} is the largest ε spent so far by a site that
     * contributed to it (empty columns for a version without a ledger record, e.g. version 0).
     */
    static String csv(PrivacyLedger l) {
        if (l == null) {
            return ",,,";
        }
        return String.format(
                Locale.ROOT,
                "%.6f,%s,%s,%s",
                maxEpsilon(l),
                l.getClipNorm(),
                l.getNoiseMultiplier(),
                l.getDelta());
    }

    /** The largest ε spent so far among the sites that contributed to the version. */
    public static double maxEpsilon(PrivacyLedger l) {
        return l.getEntries().stream().mapToDouble(SiteSpend::getEpsilon).max().orElse(0);
    }
}
