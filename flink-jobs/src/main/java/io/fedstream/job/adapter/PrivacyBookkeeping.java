package io.fedstream.job.adapter;

import io.fedstream.aggregation.privacy.DpNoise;
import io.fedstream.aggregation.privacy.RdpAccountant;
import io.fedstream.aggregation.privacy.SiteBudget;
import io.fedstream.job.OutRecord;
import io.fedstream.job.PrivacySpend;
import io.fedstream.job.RoundState;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.schemas.avro.SiteSpend;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.MapState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link RoundCoordinator}'s privacy bookkeeping for federations with central DP, on the
 * coordinator's keyed state (its handles, so state names and types are unchanged): each site's
 * spend over the closed versions ({@link PrivacySpend}, by site id), the local DP a pending or
 * accepted update declared (by update key) until its version's ledger record is written, the budget
 * check of an update, and the ledger record of a closing version.
 */
final class PrivacyBookkeeping {
    private static final Logger LOG = LoggerFactory.getLogger(PrivacyBookkeeping.class);

    private final MapState<String, PrivacySpend> privacySpent;
    private final MapState<String, double[]> localDpDeclared;

    PrivacyBookkeeping(
            MapState<String, PrivacySpend> privacySpent,
            MapState<String, double[]> localDpDeclared) {
        this.privacySpent = privacySpent;
        this.localDpDeclared = localDpDeclared;
    }

    /** An update's manifest declared local DP (clip norm, noise multiplier). */
    void declare(String key, double clipNorm, double noiseMultiplier) throws Exception {
        localDpDeclared.put(key, new double[] {clipNorm, noiseMultiplier});
    }

    /** A rejected update: its declaration is no longer needed. */
    void forget(String key) throws Exception {
        localDpDeclared.remove(key);
    }

    /**
     * Why an update of {@code siteId} would exceed the site's budget, given the updates of the open
     * round ({@code BUDGET_EXHAUSTED}'s detail), or null if its budget admits it.
     */
    String refusal(PrivacySpec privacy, String siteId, Iterable<RoundState.Entry> open)
            throws Exception {
        int sofar = 0;
        for (RoundState.Entry e : open) {
            if (e.siteId.equals(siteId)) {
                sofar++;
            }
        }
        PrivacySpend spend = privacySpent.get(siteId);
        double[] rdp = spend == null ? null : spend.rdp;
        if (!SiteBudget.admits(
                rdp, sofar, privacy.noiseMultiplier(), privacy.delta(), privacy.epsilonBudget())) {
            double after =
                    RdpAccountant.epsilon(
                            SiteBudget.afterVersion(rdp, privacy.noiseMultiplier(), sofar + 1),
                            privacy.delta());
            return "site "
                    + siteId
                    + " has spent epsilon "
                    + SiteBudget.epsilon(rdp, privacy.delta())
                    + " at delta "
                    + privacy.delta()
                    + (sofar > 0 ? " and has " + sofar + " update(s) in the open round" : "")
                    + "; this update would bring it to "
                    + after
                    + " > its budget "
                    + privacy.epsilonBudget();
        }
        return null;
    }

    /** A federation with DP continuing without state: its sites' spend from the ledger. */
    void recover(String federationId, long upToVersion, LedgerLookup ledgerLookup)
            throws Exception {
        if (ledgerLookup == null) {
            throw new IllegalStateException(
                    "federation "
                            + federationId
                            + " has privacy in its spec and continues from published version "
                            + upToVersion
                            + ", but the job has no privacy ledger to read its sites' spend from");
        }
        Map<String, PrivacySpend> spent = ledgerLookup.spent(federationId, upToVersion);
        for (Map.Entry<String, PrivacySpend> e : spent.entrySet()) {
            privacySpent.put(e.getKey(), e.getValue());
        }
        LOG.info(
                "federation {}: read the privacy spend of {} sites from the ledger",
                federationId,
                spent.size());
    }

    /**
     * What an audit needs to recompute a DP-FedAvg version, as recorded in its manifest's rule
     * parameters.
     */
    public static Map<String, String> dpParams(PrivacySpec privacy, int quorum) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("dp_clip_norm", Double.toString(privacy.clipNorm()));
        m.put("dp_noise_multiplier", Double.toString(privacy.noiseMultiplier()));
        m.put(
                "dp_expected_contributions",
                Integer.toString(privacy.expectedContributionsOr(quorum)));
        m.put("dp_delta", Double.toString(privacy.delta()));
        m.put("dp_noise", DpNoise.DERIVATION);
        m.put("dp_weight", "f(staleness), example counts ignored");
        return m;
    }

    /**
     * Charges every site of the closing round for its contributions and returns the version's
     * ledger record (the coordinator writes it exactly once: a side output of the checkpointed
     * operator to a transactional sink, with the spend in the same operator's state).
     */
    OutRecord ledger(
            FederationSpec spec, long version, Iterable<RoundState.Entry> members, int quorum)
            throws Exception {
        PrivacySpec privacy = spec.privacy();
        Map<String, Integer> bySite = new LinkedHashMap<>();
        Map<String, double[]> local = new HashMap<>(); // site -> weakest declared local DP
        java.util.Set<String> without = new java.util.HashSet<>();
        for (RoundState.Entry e : members) {
            bySite.merge(e.siteId, 1, Integer::sum);
            String key = UpdateKey.of(e.siteId, e.updateId);
            double[] declared = localDpDeclared.get(key);
            if (declared != null) {
                localDpDeclared.remove(key);
                local.merge(e.siteId, declared, (a, b) -> a[1] <= b[1] ? a : b);
            } else {
                without.add(e.siteId);
            }
        }
        without.forEach(local::remove); // an update without local DP: the site has none here
        List<SiteSpend> spends = new ArrayList<>();
        for (Map.Entry<String, Integer> site : bySite.entrySet()) {
            PrivacySpend before = privacySpent.get(site.getKey());
            double[] rdp =
                    SiteBudget.afterVersion(
                            before == null ? null : before.rdp,
                            privacy.noiseMultiplier(),
                            site.getValue());
            PrivacySpend after = new PrivacySpend(rdp, (before == null ? 0 : before.versions) + 1);
            privacySpent.put(site.getKey(), after);
            spends.add(
                    SiteSpend.newBuilder()
                            .setSiteId(site.getKey())
                            .setContributions(site.getValue())
                            .setEpsilon(RdpAccountant.epsilon(rdp, privacy.delta()))
                            .setRdp(boxed(rdp))
                            .setVersions(after.versions)
                            .setLocalDpClipNorm(
                                    local.get(site.getKey()) == null
                                            ? null
                                            : local.get(site.getKey())[0])
                            .setLocalDpNoiseMultiplier(
                                    local.get(site.getKey()) == null
                                            ? null
                                            : local.get(site.getKey())[1])
                            .build());
        }
        PrivacyLedger record =
                PrivacyLedger.newBuilder()
                        .setFederationId(spec.id())
                        .setVersion(version)
                        .setMechanism("central")
                        .setClipNorm(privacy.clipNorm())
                        .setNoiseMultiplier(privacy.noiseMultiplier())
                        .setDelta(privacy.delta())
                        .setEpsilonBudget(privacy.epsilonBudget())
                        .setSamplingRate(1.0)
                        .setExpectedContributions(privacy.expectedContributionsOr(quorum))
                        .setOrders(boxed(RdpAccountant.orders()))
                        .setEntries(spends)
                        .build();
        return new OutRecord(spec.id(), AvroCodec.PRIVACY_LEDGER.encode(record));
    }

    private static List<Double> boxed(double[] values) {
        List<Double> out = new ArrayList<>(values.length);
        for (double v : values) {
            out.add(v);
        }
        return out;
    }
}
