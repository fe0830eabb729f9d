package io.fedstream.job.adapter;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Manifest;
import io.fedstream.schemas.avro.Tensor;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The manifests the {@link RoundCoordinator} publishes: version 0 of a federation's spec, a closed
 * round's version (both without chunk digests, which the {@link VersionPublisher} fills in), and
 * the check that a published version a federation continues from matches its spec.
 */
public final class VersionManifests {
    private VersionManifests() {}

    /** Version 0 of {@code spec}: its seed and initialisation, no contributions. */
    static GlobalModel genesis(FederationSpec spec, long now) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("seed", Long.toString(spec.seed()));
        params.put("init", spec.tensors().toString());
        return manifest(
                spec, 0, -1, CloseReason.GENESIS, "genesis", params, List.of(), 0, now, now);
    }

    static void checkMatchesSpec(FederationSpec spec, GlobalModel g) {
        Map<String, float[]> values = TensorCodec.toMap(g.getTensors());
        for (var t : spec.tensors()) {
            float[] v = values.get(t.name());
            if (v == null || v.length != t.size()) {
                throw new IllegalStateException(
                        "published version "
                                + g.getVersion()
                                + " of federation "
                                + spec.id()
                                + " does not match its configured spec at tensor "
                                + t.name()
                                + "; start a new federation id or fix the spec");
            }
        }
    }

    static VersionInfo versionInfo(GlobalModel manifest) {
        VersionInfo info = new VersionInfo();
        info.federationId = manifest.getFederationId();
        info.version = manifest.getVersion();
        info.manifest = AvroCodec.GLOBAL_MODEL.encode(manifest);
        return info;
    }

    /**
     * A chunked version's manifest before its chunk digests are known: no inline tensors, the
     * layout, and empty digests that the {@link VersionPublisher} fills in.
     */
    public static GlobalModel manifest(
            FederationSpec spec,
            long version,
            long parent,
            CloseReason reason,
            String rule,
            Map<String, String> params,
            List<Contribution> contributions,
            double totalWeight,
            long openedAtMs,
            long closedAtMs) {
        Manifest manifest =
                Manifest.newBuilder()
                        .setCloseReason(reason)
                        .setRule(rule)
                        .setRuleParams(params)
                        .setContributions(contributions)
                        .setTotalWeight(totalWeight)
                        .setRoundOpenedAtMs(Instant.ofEpochMilli(openedAtMs))
                        .setRoundClosedAtMs(Instant.ofEpochMilli(closedAtMs))
                        .setTensorsSha256("")
                        .build();
        ChunkLayout layout = spec.layout();
        return GlobalModel.newBuilder()
                .setFederationId(spec.id())
                .setVersion(version)
                .setParentVersion(parent)
                .setTensors(List.<Tensor>of())
                .setManifest(manifest)
                .setChunkElements(layout.chunkElements())
                .setLayout(layout.toAvro())
                .setChunkSha256(List.of())
                .build();
    }
}
