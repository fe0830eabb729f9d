package io.fedstream.audit;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

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
        AvroCodec.trustGeneratedClasses();
        byte[] key = federationId.getBytes(StandardCharsets.UTF_8);
        List<GlobalModel> versions = new ArrayList<>();
        int[] undecodable = {0};
        TopicReader.readAll(
                client,
                globalModelsTopic,
                r -> {
                    if (r.key() != null && java.util.Arrays.equals(r.key(), key)) {
                        try {
                            versions.add(AvroCodec.GLOBAL_MODEL.decode(r.value()));
                        } catch (AvroCodec.DecodeException e) {
                            undecodable[0]++;
                        }
                    }
                });
        Map<FederationAudit.Offset, AdapterUpdate> updates = new HashMap<>();
        TopicReader.readAll(
                client,
                updatesTopic,
                r -> {
                    if (r.key() != null && java.util.Arrays.equals(r.key(), key)) {
                        try {
                            updates.put(
                                    new FederationAudit.Offset(r.partition(), r.offset()),
                                    AvroCodec.ADAPTER_UPDATE.decode(r.value()));
                        } catch (AvroCodec.DecodeException e) {
                            // hostile or broken records were dead-lettered by the job; no manifest
                            // names them
                        }
                    }
                });
        return new Result(
                versions.size(),
                updates.size(),
                undecodable[0],
                FederationAudit.audit(versions, updates));
    }
}
