package io.fedstream.job;

import static io.fedstream.job.Fixtures.update;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.aggregation.privacy.DpNoise;
import io.fedstream.aggregation.privacy.RdpAccountant;
import io.fedstream.audit.FederationAudit;
import io.fedstream.audit.FederationAudit.Finding;
import io.fedstream.audit.FederationAudit.Offset;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.job.adapter.KafkaLedgerLookup;
import io.fedstream.job.adapter.LatestVersionLookup;
import io.fedstream.job.adapter.LedgerLookup;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.SiteSpend;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** Central DP-FedAvg through the job's real operators (in test harnesses). */
class DpFedAvgTest {
    static final byte[] SECRET =
            "dp test secret, 32 bytes long...".getBytes(StandardCharsets.UTF_8);
    static final double C = 0.5;
    static final double SIGMA = 1.0;
    static final double DELTA = 1e-5;
    static final int EXPECTED = 2;

    /** Enough for exactly two versions per site. */
    static final double BUDGET = RdpAccountant.epsilon(1.0, SIGMA, 2, DELTA) * 1.0001;

    static final FederationSpec SPEC =
            Fixtures.SPEC
                    .withChunkElements(3)
                    .withPrivacy(new PrivacySpec(C, SIGMA, DELTA, BUDGET, EXPECTED));

    static RoundPolicy policy() {
        return Fixtures.policy(2, 1, 5); // quorum 2, polynomial staleness (1+s)^-0.5
    }

    @AutoClose private final OpenPipelines open = new OpenPipelines();
    private final Map<Offset, AdapterUpdate> log = new HashMap<>();

    private Pipeline pipeline(byte[] secret, Pipeline.Snapshot restore, LedgerLookup ledger)
            throws Exception {
        return pipeline(secret, restore, ledger, LatestVersionLookup.none());
    }

    private Pipeline pipeline(
            byte[] secret, Pipeline.Snapshot restore, LedgerLookup ledger, LatestVersionLookup l)
            throws Exception {
        byte[] copy = secret.clone();
        Pipeline p =
                new Pipeline(
                        SPEC,
                        policy(),
                        l,
                        Duration.ofSeconds(30),
                        restore,
                        null,
                        () -> copy,
                        ledger);
        return open.add(p);
    }

    /** An update of site {@code site} whose every element is {@code v} (norm v·sqrt(8)). */
    private AdapterUpdate u(String id, String site, long base, float v) {
        return update(id, base, 1000, Fixtures.constantDelta(v)).setSiteId(site).build();
    }

    private void send(Pipeline p, AdapterUpdate u) throws Exception {
        log.put(new Offset(0, p.sendChunked(u)), u);
    }

    @Test
    void aVersionIsTheClippedSumPlusKeyedNoiseOverTheExpectedCount() throws Exception {
        Pipeline p = pipeline(SECRET, null, null);
        p.start();
        send(p, u("u1", "s1", 0, 1f)); // norm 2.83 > C: clipped to 0.5
        send(p, u("u2", "s2", 0, 0.1f)); // norm 0.283 <= C: as is

        assertThat(p.versions).hasSize(2);
        GlobalModel v1 = p.versions.get(1);
        assertThat(v1.getManifest().getRule()).isEqualTo("dp-fedavg");
        assertThat(v1.getManifest().getRuleParams())
                .containsEntry("dp_clip_norm", "0.5")
                .containsEntry("dp_expected_contributions", "2");
        // weights are the staleness discount alone (both fresh: 1), not the 1000 examples
        assertThat(v1.getManifest().getContributions()).allMatch(c -> c.getWeight() == 1.0);

        float[] base = SPEC.layout().flatten(SPEC.initialValues().values().toArray(float[][]::new));
        float[] got = RoundCoordinatorTest.flat(v1);
        double clip1 = C / Math.sqrt(8 * (double) 1f * 1f);
        int ce = SPEC.chunkElements();
        for (int i = 0; i < base.length; i++) {
            int chunk = i / ce;
            int length = Math.min(ce, base.length - chunk * ce);
            double z = DpNoise.normals(SECRET, "f", 1, chunk, length)[i % ce];
            double sum = clip1 * 1f + 1.0 * (double) 0.1f;
            double expected = base[i] + 1.0 / EXPECTED * (sum + SIGMA * C * z);
            assertThat(got[i]).as("element %d", i).isEqualTo((float) expected);
        }
    }

    @Test
    void theSameSecretGivesTheSameBitsAndAnotherSecretOtherNoise() throws Exception {
        List<float[]> runs = new ArrayList<>();
        byte[] other = SECRET.clone();
        other[5] ^= 0x40;
        for (byte[] secret : new byte[][] {SECRET, SECRET, other}) {
            Pipeline p = pipeline(secret, null, null);
            p.start();
            send(p, u("u1", "s1", 0, 1f));
            send(p, u("u2", "s2", 0, 0.1f));
            runs.add(RoundCoordinatorTest.flat(p.versions.get(1)));
        }
        assertThat(runs.get(1)).containsExactly(runs.get(0));
        assertThat(runs.get(2)).isNotEqualTo(runs.get(0));
    }

    @Test
    void theLedgerRecordsEveryVersionsSitesAndTheirComposedEpsilon() throws Exception {
        Pipeline p = pipeline(SECRET, null, null);
        p.start();
        send(p, u("u1", "s1", 0, 1f));
        send(p, u("u2", "s2", 0, 1f)); // version 1: s1, s2
        send(p, u("u3", "s1", 1, 1f));
        send(p, u("u4", "s3", 1, 1f)); // version 2: s1, s3

        assertThat(p.ledger).extracting(PrivacyLedger::getVersion).containsExactly(1L, 2L);
        PrivacyLedger v2 = p.ledger.get(1);
        assertThat(v2.getClipNorm()).isEqualTo(C);
        assertThat(v2.getNoiseMultiplier()).isEqualTo(SIGMA);
        assertThat(v2.getSamplingRate()).isEqualTo(1.0);
        assertThat(v2.getEntries()).extracting(SiteSpend::getSiteId).containsExactly("s1", "s3");
        assertThat(v2.getEntries().get(0).getVersions()).isEqualTo(2);
        assertThat(v2.getEntries().get(0).getEpsilon())
                .isEqualTo(RdpAccountant.epsilon(1.0, SIGMA, 2, DELTA));
        assertThat(v2.getEntries().get(1).getEpsilon())
                .isEqualTo(RdpAccountant.epsilon(1.0, SIGMA, 1, DELTA));
    }

    @Test
    void twoUpdatesOfOneSiteInOneVersionCostLikeDoubleSensitivity() throws Exception {
        FederationSpec generous =
                SPEC.withPrivacy(new PrivacySpec(C, SIGMA, DELTA, 100.0, EXPECTED));
        byte[] secret = SECRET.clone();
        try (Pipeline p =
                new Pipeline(
                        generous,
                        policy(),
                        LatestVersionLookup.none(),
                        Duration.ofSeconds(30),
                        null,
                        null,
                        () -> secret,
                        null)) {
            p.start();
            p.sendChunked(u("u1", "s1", 0, 1f));
            p.sendChunked(u("u2", "s1", 0, 1f));
            SiteSpend s1 = p.ledger.get(0).getEntries().get(0);
            assertThat(s1.getContributions()).isEqualTo(2);
            assertThat(s1.getEpsilon()).isEqualTo(RdpAccountant.epsilon(1.0, SIGMA / 2, 1, DELTA));
        }
    }

    @Test
    void aSiteBeyondItsBudgetIsDeadLetteredAndOthersGoOn() throws Exception {
        Pipeline p = pipeline(SECRET, null, null);
        p.start();
        send(p, u("u1", "s1", 0, 1f));
        send(p, u("u2", "s2", 0, 1f));
        send(p, u("u3", "s1", 1, 1f));
        send(p, u("u4", "s2", 1, 1f)); // both have spent their two versions
        send(p, u("u5", "s1", 2, 1f));

        assertThat(p.rejections).hasSize(1);
        RejectedUpdate r = p.rejections.get(0);
        assertThat(r.getReason()).isEqualTo(RejectReason.BUDGET_EXHAUSTED);
        assertThat(r.getSiteId()).isEqualTo("s1");
        assertThat(r.getDetail()).contains("budget " + BUDGET);

        send(p, u("u6", "s3", 2, 1f));
        send(p, u("u7", "s4", 2, 1f));
        assertThat(p.versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L, 3L);
        assertThat(p.ledger.get(2).getEntries())
                .extracting(SiteSpend::getSiteId)
                .containsExactly("s3", "s4");
        // nobody ever exceeds the budget
        assertThat(p.ledger)
                .flatExtracting(PrivacyLedger::getEntries)
                .allMatch(s -> s.getEpsilon() <= BUDGET);
    }

    @Test
    void aRestoredJobChargesNeitherTwiceNorForgets() throws Exception {
        Pipeline first = pipeline(SECRET, null, null);
        first.start();
        send(first, u("u1", "s1", 0, 1f));
        send(first, u("u2", "s2", 0, 1f));
        send(first, u("u3", "s1", 1, 1f)); // open round: s1 once
        Pipeline.Snapshot snap = first.snapshot();

        Pipeline second = pipeline(SECRET, snap, null);
        send(second, u("u4", "s3", 1, 1f)); // closes version 2
        send(second, u("u5", "s1", 2, 1f)); // s1 already spent two versions

        assertThat(second.ledger).hasSize(1);
        assertThat(second.ledger.get(0).getEntries().get(0).getVersions()).isEqualTo(2);
        assertThat(second.rejections)
                .extracting(RejectedUpdate::getReason)
                .containsExactly(RejectReason.BUDGET_EXHAUSTED);
    }

    @Test
    void aStartWithoutStateReadsTheSpendFromTheLedger() throws Exception {
        Pipeline first = pipeline(SECRET, null, null);
        first.start();
        send(first, u("u1", "s1", 0, 1f));
        send(first, u("u2", "s2", 0, 1f));
        send(first, u("u3", "s1", 1, 1f));
        send(first, u("u4", "s2", 1, 1f));
        GlobalModel v2 = first.versions.get(2);
        List<PrivacyLedger> ledger = new ArrayList<>(first.ledger);
        LedgerLookup fromLedger =
                (federation, upTo) -> {
                    Map<String, PrivacySpend> out = new HashMap<>();
                    for (PrivacyLedger l : ledger) {
                        for (SiteSpend s : l.getEntries()) {
                            out.put(s.getSiteId(), KafkaLedgerLookup.spendOf(s));
                        }
                    }
                    return out;
                };
        LatestVersionLookup published = id -> Optional.of(v2);

        Pipeline fresh = pipeline(SECRET, null, fromLedger, published);
        fresh.start();
        send(fresh, u("u5", "s1", 2, 1f));
        assertThat(fresh.rejections)
                .extracting(RejectedUpdate::getReason)
                .containsExactly(RejectReason.BUDGET_EXHAUSTED);

        Pipeline blind = pipeline(SECRET, null, null, published);
        assertThatThrownBy(blind::start).hasMessageContaining("no privacy ledger");
    }

    @Test
    void theAuditReDerivesTheNoiseGivenTheSecretAndSaysSoWithoutIt() throws Exception {
        Pipeline p = pipeline(SECRET, null, null);
        p.start();
        send(p, u("u1", "s1", 0, 1f));
        send(p, u("u2", "s2", 0, 0.1f));
        send(p, u("u3", "s3", 1, -0.3f));
        send(p, u("u4", "s1", 0, 0.7f)); // stale by 1: weight 1/sqrt(2)
        List<GlobalModel> history = p.versions;
        assertThat(history).hasSize(3);

        assertThat(FederationAudit.audit(history, log, SECRET))
                .allMatch(Finding::ok)
                .last()
                .satisfies(f -> assertThat(f.detail()).contains("re-derived from the secret"));

        List<Finding> blind = FederationAudit.audit(history, log, null);
        assertThat(blind).allMatch(Finding::ok);
        assertThat(blind.get(1).detail()).contains("NOT verified (no privacy secret)");

        byte[] wrong = SECRET.clone();
        wrong[0] ^= 1;
        assertThat(FederationAudit.audit(history, log, wrong).get(1).ok()).isFalse();
    }

    @Test
    void theLedgerRecordsASitesDeclaredLocalDp() throws Exception {
        Pipeline p = pipeline(SECRET, null, null);
        p.start();
        AdapterUpdate local =
                update("u1", 0, 1000, Fixtures.constantDelta(0.1f))
                        .setSiteId("s1")
                        .setMetrics(
                                Map.of(
                                        PrivacySpec.LOCAL_DP_CLIP_METRIC, 0.3,
                                        PrivacySpec.LOCAL_DP_NOISE_METRIC, 2.5))
                        .build();
        send(p, local);
        send(p, u("u2", "s2", 0, 0.1f));

        List<SiteSpend> entries = p.ledger.get(0).getEntries();
        assertThat(entries.get(0).getLocalDpClipNorm()).isEqualTo(0.3);
        assertThat(entries.get(0).getLocalDpNoiseMultiplier()).isEqualTo(2.5);
        assertThat(entries.get(1).getLocalDpClipNorm()).isNull();
        assertThat(entries.get(1).getLocalDpNoiseMultiplier()).isNull();
    }

    @Test
    void theJobRefusesAPrivacySetupThatCannotHoldItsPromise() {
        var feds = List.of(SPEC);
        assertThatThrownBy(() -> AggregationJob.checkPrivacy(policy(), feds, false))
                .hasMessageContaining("fedstream.privacy.secret-file");
        FederationSpec poor = SPEC.withPrivacy(new PrivacySpec(C, SIGMA, DELTA, 1.0, null));
        assertThatThrownBy(() -> AggregationJob.checkPrivacy(policy(), List.of(poor), true))
                .hasMessageContaining("privacy.epsilonBudget 1.0 is below the cost of one version");
        RoundPolicy median =
                new RoundPolicy(
                        2,
                        Duration.ofSeconds(10),
                        1,
                        new StalenessFunction.Polynomial(0.5),
                        5,
                        1.0,
                        "median",
                        Map.of());
        assertThatThrownBy(() -> AggregationJob.checkPrivacy(median, feds, true))
                .hasMessageContaining("fedstream.aggregation.rule=fedavg");
        AggregationJob.checkPrivacy(policy(), feds, true);
    }
}
