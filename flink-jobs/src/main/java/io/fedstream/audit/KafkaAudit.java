package io.fedstream.audit;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import io.fedstream.schemas.kafka.TopicReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/** Audits a federation straight from its Kafka topics ({@code ./fedstream audit}). */
public final class KafkaAudit {
    private KafkaAudit() {}

    /** What was read and what the audit found. */
    public record Result(
            int versionsRead,
            int updatesRead,
            int undecodable,
            List<FederationAudit.Finding> findings) {
        public boolean ok() {
            return versionsRead > 0 && findings.stream().allMatch(FederationAudit.Finding::ok);
        }
    }

    public static Result run(
            Properties client, String updatesTopic, String globalModelsTopic, String federationId) {
        return run(client, updatesTopic, globalModelsTopic, federationId, null);
    }

    /**
     * @param privacySecret the job's privacy secret, to re-derive the noise of DP-FedAvg versions;
     *     null checks everything but their noise
     */
    public static Result run(
            Properties client,
            String updatesTopic,
            String globalModelsTopic,
            String federationId,
            byte[] privacySecret) {
        AvroCodec.trustGeneratedClasses();
        byte[] key = federationId.getBytes(StandardCharsets.UTF_8);
        GlobalModelAssembler assembler = new GlobalModelAssembler();
        List<GlobalModel> complete = new ArrayList<>();
        Map<Long, Integer> manifests = new TreeMap<>();
        int[] undecodable = {0};
        TopicReader.readAll(
                client,
                globalModelsTopic,
                r -> {
                    if (r.key() != null && java.util.Arrays.equals(r.key(), key)) {
                        try {
                            if (AvroCodec.GLOBAL_MODEL.accepts(r.value())) {
                                manifests.merge(
                                        AvroCodec.GLOBAL_MODEL.decode(r.value()).getVersion(),
                                        1,
                                        Integer::sum);
                            }
                            complete.addAll(assembler.accept(r.value()));
                        } catch (AvroCodec.DecodeException e) {
                            undecodable[0]++;
                        }
                    }
                });
        // every manifest record counts: a version published twice is a finding
        List<GlobalModel> versions = new ArrayList<>();
        Map<Long, GlobalModel> byVersion = new HashMap<>();
        complete.forEach(g -> byVersion.put(g.getVersion(), g));
        List<FederationAudit.Finding> incomplete = new ArrayList<>();
        manifests.forEach(
                (v, n) -> {
                    GlobalModel g = byVersion.get(v);
                    if (g == null) {
                        incomplete.add(
                                new FederationAudit.Finding(
                                        v,
                                        false,
                                        "its chunks are missing or do not match its manifest"));
                    } else {
                        for (int i = 0; i < n; i++) {
                            versions.add(g);
                        }
                    }
                });
        assembler
                .problems()
                .forEach(p -> incomplete.add(new FederationAudit.Finding(-1, false, p)));

        Map<FederationAudit.Offset, AdapterUpdate> updates = new HashMap<>();
        Map<FederationAudit.Offset, UpdateManifest> chunked = new HashMap<>();
        Map<String, List<UpdateChunk>> chunks = new HashMap<>();
        TopicReader.readAll(
                client,
                updatesTopic,
                r -> {
                    if (r.key() != null && java.util.Arrays.equals(r.key(), key)) {
                        FederationAudit.Offset at =
                                new FederationAudit.Offset(r.partition(), r.offset());
                        try {
                            if (AvroCodec.UPDATE_CHUNK.accepts(r.value())) {
                                UpdateChunk c = AvroCodec.UPDATE_CHUNK.decode(r.value());
                                // an update is the pair (site, update id), as in the job
                                chunks.computeIfAbsent(
                                                UpdateKey.of(c.getSiteId(), c.getUpdateId()),
                                                id -> new ArrayList<>())
                                        .add(c);
                            } else if (AvroCodec.UPDATE_MANIFEST.accepts(r.value())) {
                                chunked.put(at, AvroCodec.UPDATE_MANIFEST.decode(r.value()));
                            } else {
                                updates.put(at, AvroCodec.ADAPTER_UPDATE.decode(r.value()));
                            }
                        } catch (AvroCodec.DecodeException e) {
                            // hostile or broken records were dead-lettered by the job; no manifest
                            // names them
                        }
                    }
                });
        chunked.forEach(
                (at, m) -> {
                    AdapterUpdate u =
                            join(
                                    m,
                                    chunks.getOrDefault(
                                            UpdateKey.of(m.getSiteId(), m.getUpdateId()),
                                            List.of()));
                    if (u != null) {
                        updates.put(at, u);
                    }
                });
        List<FederationAudit.Finding> findings =
                new ArrayList<>(FederationAudit.audit(versions, updates, privacySecret));
        findings.addAll(incomplete);
        return new Result(versions.size(), updates.size(), undecodable[0], findings);
    }

    /** The update a manifest describes, from the chunk copies that match its digests, or null. */
    static AdapterUpdate join(UpdateManifest m, List<UpdateChunk> copies) {
        Map<Integer, UpdateChunk> byIndex = new HashMap<>();
        for (UpdateChunk c : copies) {
            int i = c.getChunkIndex();
            if (i >= 0
                    && i < m.getChunkSha256().size()
                    && !byIndex.containsKey(i)
                    && ChunkLayout.updateChunkSha256(c.getDtype(), c.getData())
                            .equals(m.getChunkSha256().get(i))) {
                byIndex.put(i, c);
            }
        }
        try {
            return UpdateChunking.join(m, byIndex);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
