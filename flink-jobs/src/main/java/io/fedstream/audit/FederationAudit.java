package io.fedstream.audit;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.aggregation.WeightedAccumulator;
import io.fedstream.aggregation.privacy.DpNoise;
import io.fedstream.aggregation.robust.NormClipping;
import io.fedstream.aggregation.robust.RobustRule;
import io.fedstream.aggregation.robust.RobustRules;
import io.fedstream.aggregation.robust.WeightedDelta;
import io.fedstream.job.RoundPolicy;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Tensor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checks a federation's published history against the updates it claims to contain: for every
 * version, that it follows its parent by exactly one, that its digest is the digest of its tensors,
 * and that its tensors are bit for bit its parent plus the staleness-weighted mean of the updates
 * its manifest names (recomputed from the updates on the log, in manifest order), with every update
 * used at most once.
 */
public final class FederationAudit {

    /** Where an update sits on the updates topic. */
    public record Offset(int partition, long offset) {}

    /** The verdict on one version. */
    public record Finding(long version, boolean ok, String detail) {}

    private FederationAudit() {}

    /**
     * @param versions every published record of the federation, in log order
     * @param updates the updates topic's records that decoded, by position
     */
    public static List<Finding> audit(
            List<GlobalModel> versions, Map<Offset, AdapterUpdate> updates) {
        return audit(versions, updates, null);
    }

    /**
     * As {@link #audit(List, Map)}; DP-FedAvg versions are recomputed with their noise re-derived
     * from {@code privacySecret} (the job's), bit for bit. Without the secret everything but the
     * noise is checked (membership, staleness weights, clipping, total weight, digest), and the
     * finding says the values were not.
     */
    public static List<Finding> audit(
            List<GlobalModel> versions, Map<Offset, AdapterUpdate> updates, byte[] privacySecret) {
        List<Finding> out = new ArrayList<>();
        TreeMap<Long, GlobalModel> byVersion = new TreeMap<>();
        for (GlobalModel g : versions) {
            GlobalModel previous = byVersion.put(g.getVersion(), g);
            if (previous != null) {
                out.add(new Finding(g.getVersion(), false, "published more than once"));
            }
        }
        if (byVersion.isEmpty()) {
            return out;
        }
        Map<String, Long> usedBy = new HashMap<>();
        long expected = byVersion.firstKey();
        for (GlobalModel g : byVersion.values()) {
            long v = g.getVersion();
            if (v != expected) {
                out.add(
                        new Finding(
                                v,
                                false,
                                "versions " + expected + ".." + (v - 1) + " are missing"));
            }
            expected = v + 1;
            out.add(check(g, byVersion.get(v - 1), updates, usedBy, privacySecret));
        }
        return out;
    }

    private static Finding check(
            GlobalModel g,
            GlobalModel parent,
            Map<Offset, AdapterUpdate> updates,
            Map<String, Long> usedBy,
            byte[] privacySecret) {
        long v = g.getVersion();
        String digest = GlobalModelAssembler.digest(g);
        if (!digest.equals(g.getManifest().getTensorsSha256())) {
            return new Finding(
                    v,
                    false,
                    "digest "
                            + g.getManifest().getTensorsSha256()
                            + " is not the tensors' "
                            + digest);
        }
        if (g.getParentVersion() != v - 1) {
            return new Finding(
                    v,
                    false,
                    "parent version " + g.getParentVersion() + " does not precede it by one");
        }
        if (g.getManifest().getCloseReason() == CloseReason.GENESIS) {
            return v == 0 && g.getManifest().getContributions().isEmpty()
                    ? new Finding(v, true, "genesis, digest " + digest.substring(0, 12))
                    : new Finding(
                            v, false, "a genesis record must be version 0 without contributions");
        }
        if (parent == null) {
            return new Finding(v, false, "parent version " + (v - 1) + " is not on the log");
        }
        Map<String, String> params = g.getManifest().getRuleParams();
        StalenessFunction f;
        double eta;
        try {
            f = StalenessFunction.parse(params.get("staleness"));
            eta = Double.parseDouble(params.get("server_learning_rate"));
        } catch (RuntimeException e) {
            return new Finding(v, false, "rule parameters cannot be read: " + params);
        }
        List<Tensor> base = parent.getTensors();
        int[] sizes = new int[base.size()];
        float[][] baseValues = new float[base.size()][];
        for (int t = 0; t < sizes.length; t++) {
            baseValues[t] = TensorCodec.toFloats(base.get(t));
            sizes[t] = baseValues[t].length;
        }
        String ruleName = g.getManifest().getRule();
        boolean dp = ruleName.equals(RoundPolicy.DP_RULE);
        double dpClip = 0;
        double dpSigma = 0;
        int dpExpected = 0;
        if (dp) {
            try {
                dpClip = Double.parseDouble(params.get("dp_clip_norm"));
                dpSigma = Double.parseDouble(params.get("dp_noise_multiplier"));
                dpExpected = Integer.parseInt(params.get("dp_expected_contributions"));
            } catch (RuntimeException e) {
                return new Finding(v, false, "DP parameters cannot be read: " + params);
            }
            if (!DpNoise.DERIVATION.equals(params.get("dp_noise"))) {
                return new Finding(
                        v, false, "unknown DP noise derivation '" + params.get("dp_noise") + "'");
            }
        }
        RobustRule robust;
        try {
            robust = ruleName.equals("fedavg") || dp ? null : RobustRules.parse(ruleName);
        } catch (RuntimeException e) {
            return new Finding(v, false, "unknown aggregation rule '" + ruleName + "'");
        }
        // The chunked job applies norm clipping as a running sum in manifest order, with the
        // norm from per-chunk sums of squares added in chunk order.
        NormClipping streamingClip =
                robust instanceof NormClipping nc && g.getChunkElements() > 0 ? nc : null;
        WeightedAccumulator acc = new WeightedAccumulator(sizes);
        List<WeightedDelta> held = new ArrayList<>();
        double totalWeight = 0;
        double examples = 0;
        boolean byExamples = "examples".equals(params.get(RoundPolicy.NORMALIZATION));
        for (Contribution c : g.getManifest().getContributions()) {
            AdapterUpdate u = updates.get(new Offset(c.getSourcePartition(), c.getSourceOffset()));
            // an update is the pair (site, update id), as in the job
            String key = UpdateKey.of(c.getSiteId(), c.getUpdateId());
            String name = c.getSiteId() + ":" + c.getUpdateId();
            String where = name + " at " + c.getSourcePartition() + "@" + c.getSourceOffset();
            if (u == null
                    || !u.getUpdateId().equals(c.getUpdateId())
                    || !u.getSiteId().equals(c.getSiteId())) {
                return new Finding(v, false, "update " + where + " is not on the updates topic");
            }
            Long earlier = usedBy.putIfAbsent(key, v);
            if (earlier != null) {
                return new Finding(
                        v, false, "update " + name + " was already counted in version " + earlier);
            }
            long staleness = parent.getVersion() - u.getBaseVersion();
            double w =
                    dp
                            ? f.apply(Math.max(0, staleness))
                            : u.getNumExamples() * f.apply(Math.max(0, staleness));
            if (staleness != c.getStaleness() || staleness < 0 || w != c.getWeight()) {
                return new Finding(
                        v,
                        false,
                        "update "
                                + where
                                + " has staleness "
                                + staleness
                                + " and weight "
                                + w
                                + ", the manifest says "
                                + c.getStaleness()
                                + " and "
                                + c.getWeight());
            }
            byte[][] delta = new byte[base.size()][];
            LittleEndianFloats.Kind[] kinds = new LittleEndianFloats.Kind[base.size()];
            Map<String, Tensor> named = new HashMap<>();
            u.getTensors().forEach(t -> named.put(t.getName(), t));
            for (int t = 0; t < base.size(); t++) {
                Tensor d = named.get(base.get(t).getName());
                if (d == null) {
                    return new Finding(
                            v, false, "update " + where + " lacks tensor " + base.get(t).getName());
                }
                delta[t] = bytes(d.getData());
                kinds[t] = LittleEndianFloats.Kind.valueOf(d.getDtype().name());
            }
            if (dp) {
                double norm = Math.sqrt(chunkedSumSquares(delta, kinds, g.getChunkElements()));
                acc.add(delta, kinds, w * (norm > dpClip ? dpClip / norm : 1.0));
            } else if (robust == null) {
                acc.add(delta, kinds, w);
            } else if (streamingClip != null) {
                double sumSquares = chunkedSumSquares(delta, kinds, g.getChunkElements());
                double norm = Math.sqrt(sumSquares);
                double clip = norm > streamingClip.maxNorm() ? streamingClip.maxNorm() / norm : 1.0;
                acc.add(delta, kinds, w * clip);
            } else {
                held.add(new WeightedDelta(key, delta, kinds, w));
            }
            totalWeight += w;
            examples += u.getNumExamples();
        }
        if (byExamples) {
            // the denominator is Σ examples (FedBuff), recorded as the manifest's total weight
            totalWeight = examples;
        }
        int count = g.getManifest().getContributions().size();
        if (count == 0) {
            return new Finding(v, false, "no contributions");
        }
        if (totalWeight != g.getManifest().getTotalWeight()) {
            return new Finding(
                    v,
                    false,
                    "total weight "
                            + totalWeight
                            + ", the manifest says "
                            + g.getManifest().getTotalWeight());
        }
        if (dp && privacySecret == null) {
            return new Finding(
                    v,
                    true,
                    count
                            + " updates, "
                            + ruleName
                            + ": members, weights, clipping and total weight verified, digest "
                            + digest.substring(0, 12)
                            + "; the noise and so the values NOT verified (no privacy secret)");
        }
        if (dp) {
            addNoise(acc.sums(), privacySecret, g, dpSigma * dpClip);
        }
        float[][] recomputed =
                dp
                        ? new WeightedAccumulator(acc.sums(), dpExpected, count)
                                .applyTo(baseValues, eta)
                        : robust == null || streamingClip != null
                                ? new WeightedAccumulator(acc.sums(), totalWeight, count)
                                        .applyTo(baseValues, eta)
                                : new WeightedAccumulator(robust.aggregate(held), 1.0, count)
                                        .applyTo(baseValues, eta);
        for (int t = 0; t < recomputed.length; t++) {
            Tensor published = g.getTensors().get(t);
            float[] actual = TensorCodec.toFloats(published);
            int differing = 0;
            for (int i = 0; i < actual.length; i++) {
                if (Float.floatToRawIntBits(actual[i])
                        != Float.floatToRawIntBits(recomputed[t][i])) {
                    differing++;
                }
            }
            if (!published.getName().equals(base.get(t).getName())
                    || actual.length != recomputed[t].length
                    || differing > 0) {
                return new Finding(
                        v,
                        false,
                        "tensor "
                                + published.getName()
                                + " differs from the recomputed aggregate in "
                                + differing
                                + " of "
                                + actual.length
                                + " elements");
            }
        }
        return new Finding(
                v,
                true,
                count
                        + " updates, "
                        + ruleName
                        + (dp ? " with its noise re-derived from the secret," : "")
                        + " recomputed bit for bit, digest "
                        + digest.substring(0, 12));
    }

    /**
     * Adds the version's noise to the per-tensor sums as the chunk aggregators added it: element p
     * of the flattened vector is element p mod chunkElements of chunk p / chunkElements.
     */
    private static void addNoise(double[][] sums, byte[] secret, GlobalModel g, double std) {
        long total = 0;
        for (double[] t : sums) {
            total += t.length;
        }
        int ce = g.getChunkElements();
        int chunk = -1;
        double[] z = null;
        long p = 0;
        for (double[] t : sums) {
            for (int i = 0; i < t.length; i++, p++) {
                int c = (int) (p / ce);
                if (c != chunk) {
                    chunk = c;
                    int length = (int) Math.min(ce, total - (long) c * ce);
                    z = DpNoise.normals(secret, g.getFederationId(), g.getVersion(), c, length);
                }
                t[i] += std * z[(int) (p % ce)];
            }
        }
    }

    /**
     * Σ x² of an update as the chunked job computes it: per chunk of {@code chunkElements} elements
     * of the flattened update, in element order, then the chunks' sums in chunk order.
     */
    static double chunkedSumSquares(
            byte[][] tensors, LittleEndianFloats.Kind[] kinds, int chunkElements) {
        double total = 0;
        double chunk = 0;
        long flat = 0;
        for (int t = 0; t < tensors.length; t++) {
            int n = tensors[t].length / kinds[t].bytes;
            for (int i = 0; i < n; i++) {
                double x = LittleEndianFloats.get(tensors[t], kinds[t], i);
                chunk += x * x;
                if (++flat % chunkElements == 0) {
                    total += chunk;
                    chunk = 0;
                }
            }
        }
        return flat % chunkElements == 0 ? total : total + chunk;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
