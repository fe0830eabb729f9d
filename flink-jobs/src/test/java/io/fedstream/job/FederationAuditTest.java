package io.fedstream.job;

import static io.fedstream.job.Fixtures.constantDelta;
import static io.fedstream.job.Fixtures.update;
import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.audit.FederationAudit;
import io.fedstream.audit.FederationAudit.Finding;
import io.fedstream.audit.FederationAudit.Offset;
import io.fedstream.job.adapter.LatestVersionLookup;
import io.fedstream.schemas.ErrorFeedback;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.UpdateEncoding;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.UpdateChunk;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The audit on a history produced by the real round operator, and on tampered copies of it. */
class FederationAuditTest {
    private final List<GlobalModel> history = new ArrayList<>();
    private final Map<Offset, AdapterUpdate> log = new HashMap<>();

    /** The float32 updates before encoding, for the encoded history. */
    private final Map<Offset, AdapterUpdate> original = new HashMap<>();

    @BeforeEach
    void produceHistory() throws Exception {
        produceHistory(Fixtures.policy(2, 1, 5));
    }

    private void produceHistory(RoundPolicy policy) throws Exception {
        produceHistory(policy, RoundCoordinatorTest.SPEC);
    }

    private void produceHistory(RoundPolicy policy, FederationSpec spec) throws Exception {
        produceHistory(policy, spec, List.of());
    }

    /**
     * The history; with {@code encodings}, update i travels as chunks in encoding i mod size and
     * the log holds it as the audit reads it ({@link UpdateChunking#join}: decoded to float32).
     */
    private void produceHistory(
            RoundPolicy policy, FederationSpec spec, List<UpdateEncoding> encodings)
            throws Exception {
        history.clear();
        log.clear();
        try (Pipeline p = new Pipeline(spec, policy, LatestVersionLookup.none())) {
            p.start();
            String[][] updates = {
                {"u1", "0", "10"},
                {"u2", "0", "20"},
                {"u3", "0", "5"},
                {"u4", "1", "7"},
                {"u5", "2", "9"},
                {"u6", "1", "3"}
            };
            float value = 0.1f;
            boolean chunked = false;
            for (String[] u : updates) {
                float[][] delta = constantDelta(value += 0.37f);
                delta[0][1] = -value; // not all equal, so the norm and the order matter
                AdapterUpdate update =
                        update(u[0], Long.parseLong(u[1]), Long.parseLong(u[2]), delta)
                                .setSiteId("s-" + u[0])
                                .build();
                if (!encodings.isEmpty()) {
                    UpdateEncoding enc = encodings.get(log.size() % encodings.size());
                    UpdateChunking.Chunked c =
                            UpdateChunking.split(
                                    update,
                                    spec.layout(),
                                    enc,
                                    new ErrorFeedback((int) spec.layout().totalElements()));
                    Map<Integer, UpdateChunk> byIndex = new HashMap<>();
                    for (UpdateChunk chunk : c.chunks()) {
                        p.send(chunk);
                        byIndex.put(chunk.getChunkIndex(), chunk);
                    }
                    long offset = p.send(c.manifest());
                    log.put(new Offset(0, offset), UpdateChunking.join(c.manifest(), byIndex));
                    original.put(new Offset(0, offset), update);
                    continue;
                }
                long offset = (chunked = !chunked) ? p.sendChunked(update) : p.sendWhole(update);
                log.put(new Offset(0, offset), update);
            }
            history.addAll(p.versions);
        }
    }

    private static boolean allOk(List<Finding> findings) {
        return findings.stream().allMatch(Finding::ok);
    }

    /**
     * A policy of {@code quorum} updates per round (deadline 10 s, at least 1), staleness discount
     * (1+s)^-0.5 up to 5 versions, server learning rate {@code lr}, and {@code rule}.
     */
    private static RoundPolicy policy(
            int quorum, double lr, String rule, Map<String, String> params) {
        return new RoundPolicy(
                quorum,
                java.time.Duration.ofSeconds(10),
                1,
                new io.fedstream.aggregation.StalenessFunction.Polynomial(0.5),
                5,
                lr,
                rule,
                params);
    }

    @Test
    void aGenuineHistoryVerifiesBitForBit() {
        List<Finding> findings = FederationAudit.audit(history, log);

        assertThat(history).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L, 3L);
        assertThat(findings).hasSize(4).allMatch(Finding::ok);
        assertThat(findings.get(3).detail()).contains("recomputed bit for bit");
    }

    @Test
    void aHistoryOfEncodedUpdatesVerifiesBitForBitFromTheDecodedChunks() throws Exception {
        produceHistory(
                Fixtures.policy(2, 1, 5),
                RoundCoordinatorTest.SPEC,
                List.of(
                        UpdateEncoding.parse("int8:64"),
                        UpdateEncoding.parse("nf4:64"),
                        UpdateEncoding.parse("bfloat16")));

        assertThat(history).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L, 3L);
        assertThat(FederationAudit.audit(history, log)).hasSize(4).allMatch(Finding::ok);
        // the versions are of the encoded values: the float32 updates do not give them (those of
        // version 1 are ±constant per block, which INT8 and NF4 encode exactly)
        assertThat(FederationAudit.audit(history, original).subList(2, 4))
                .allMatch(f -> !f.ok() && f.detail().contains("differs"));
    }

    @Test
    void aChangedValueWithAMatchingDigestIsCaught() {
        GlobalModel forged = GlobalModel.newBuilder(history.get(2)).build();
        float[] a = TensorCodec.toFloats(forged.getTensors().get(0));
        a[3] = Math.nextUp(a[3]); // one ulp
        forged.getTensors().set(0, TensorCodec.float32("a", new int[] {2, 3}, a));
        forged.getManifest().setTensorsSha256(GlobalModelAssembler.digest(forged));
        history.set(2, forged);

        List<Finding> findings = FederationAudit.audit(history, log);

        assertThat(findings.get(2).ok()).isFalse();
        assertThat(findings.get(2).detail()).contains("tensor a differs").contains("1 of 6");
    }

    @Test
    void aDigestThatDoesNotMatchTheTensorsIsCaught() {
        history.get(1).getManifest().setTensorsSha256("00".repeat(32));

        assertThat(FederationAudit.audit(history, log).get(1).detail()).startsWith("digest");
    }

    @Test
    void aMissingUpdateAVersionPublishedTwiceAndAGapAreCaught() {
        log.remove(log.keySet().iterator().next());
        assertThat(allOk(FederationAudit.audit(history, log))).isFalse();

        produceAgain();
        List<GlobalModel> twice = new ArrayList<>(history);
        twice.add(history.get(3));
        assertThat(FederationAudit.audit(twice, log))
                .anyMatch(f -> !f.ok() && f.detail().equals("published more than once"));

        List<GlobalModel> gap = new ArrayList<>(history);
        gap.remove(2);
        assertThat(FederationAudit.audit(gap, log))
                .anyMatch(f -> !f.ok() && f.detail().contains("missing"));
    }

    @Test
    void anUpdateCountedInTwoVersionsIsCaught() {
        var c2 = history.get(2).getManifest().getContributions();
        var c1 = history.get(1).getManifest().getContributions().get(0);
        c2.set(0, c1);

        assertThat(FederationAudit.audit(history, log).get(2).detail())
                .contains("already counted in version 1");
    }

    private void produceAgain() {
        history.clear();
        log.clear();
        try {
            produceHistory();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aHistoryAggregatedByARobustRuleIsRecomputedWithThatRule() throws Exception {
        produceHistory(policy(3, 0.8, "trimmed-mean", Map.of("beta", "0.34")));

        List<Finding> findings = FederationAudit.audit(history, log);

        assertThat(history.get(1).getManifest().getRule()).isEqualTo("trimmed-mean(beta=0.34)");
        assertThat(findings).hasSize(2).allMatch(Finding::ok);
        history.get(1).getManifest().setRule("fedavg"); // claims another rule than was applied
        assertThat(FederationAudit.audit(history, log).get(1).ok()).isFalse();
    }

    @Test
    void normClippingIsRecomputedAsTheChunkedJobAppliesIt() throws Exception {
        produceHistory(policy(2, 1.0, "norm-clipping", Map.of("maxNorm", "2.5")));

        List<Finding> findings = FederationAudit.audit(history, log);

        assertThat(history).hasSize(4);
        assertThat(findings).allMatch(Finding::ok);
        history.get(2).getManifest().setRule("fedavg"); // without the clipping it differs
        assertThat(FederationAudit.audit(history, log).get(2).ok()).isFalse();
    }

    @Test
    void multiKrumOnSingleChunkUpdatesIsRecomputedBitForBit() throws Exception {
        // Fixtures.SPEC: 8 values, one chunk per update, so a chunk aggregator sees whole updates
        produceHistory(policy(3, 1.0, "multi-krum", Map.of("f", "0", "m", "2")), Fixtures.SPEC);

        List<Finding> findings = FederationAudit.audit(history, log);

        assertThat(history).hasSizeGreaterThanOrEqualTo(2);
        assertThat(history.get(1).getManifest().getRule()).startsWith("multi-krum");
        assertThat(findings).allMatch(Finding::ok);
        history.get(1).getManifest().setRule("fedavg"); // the mean of all three differs
        assertThat(FederationAudit.audit(history, log).get(1).ok()).isFalse();
    }

    @Test
    void normalizingByExamplesShrinksAStaleRoundsStepAndIsRecomputedBitForBit() throws Exception {
        produceHistory(
                new RoundPolicy(
                        2,
                        java.time.Duration.ofSeconds(10),
                        1,
                        new io.fedstream.aggregation.StalenessFunction.Polynomial(0.5),
                        5,
                        1.0,
                        "fedavg",
                        Map.of(),
                        true));

        List<Finding> findings = FederationAudit.audit(history, log);

        assertThat(findings).hasSize(4).allMatch(Finding::ok);
        // version 2: u3 (5 examples, staleness 1) and u4 (7, fresh); the denominator is the
        // examples, 12, not the weights 5/sqrt(2) + 7
        GlobalModel v1 = history.get(1);
        GlobalModel v2 = history.get(2);
        assertThat(v2.getManifest().getRuleParams())
                .containsEntry(RoundPolicy.NORMALIZATION, "examples");
        assertThat(v2.getManifest().getTotalWeight()).isEqualTo(12.0);
        float[] before = io.fedstream.schemas.TensorCodec.toFloats(v1.getTensors().get(0));
        float[] after = io.fedstream.schemas.TensorCodec.toFloats(v2.getTensors().get(0));
        AdapterUpdate u3 = updateById("u3");
        AdapterUpdate u4 = updateById("u4");
        float[] d3 = io.fedstream.schemas.TensorCodec.toFloats(u3.getTensors().get(0));
        float[] d4 = io.fedstream.schemas.TensorCodec.toFloats(u4.getTensors().get(0));
        for (int i = 0; i < after.length; i++) {
            double expected = before[i] + (5 * Math.pow(2, -0.5) * d3[i] + 7.0 * d4[i]) / 12.0;
            assertThat((double) after[i])
                    .isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-6));
        }
        // a manifest that hides the normalization is caught
        Map<String, String> params = new java.util.HashMap<>(v2.getManifest().getRuleParams());
        params.remove(RoundPolicy.NORMALIZATION);
        v2.getManifest().setRuleParams(params);
        assertThat(FederationAudit.audit(history, log).get(2).ok()).isFalse();
    }

    private AdapterUpdate updateById(String id) {
        return log.values().stream()
                .filter(u -> u.getUpdateId().equals(id))
                .findFirst()
                .orElseThrow();
    }
}
