package io.fedstream.job;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Instant;

/** Builds dead-letter records. */
public final class Rejections {
    private Rejections() {}

    /** A validator's refusal of a record: why, and whose it was (any of the ids may be null). */
    public interface Refusal {
        RejectReason reason();

        String detail();

        String federationId();

        String siteId();

        String updateId();
    }

    /** The dead letter of {@code raw}, which a validator refused. */
    public static OutRecord of(RawRecord raw, Refusal r) {
        return of(
                raw.topic,
                raw.partition,
                raw.offset,
                r.reason(),
                r.detail(),
                r.federationId(),
                r.siteId(),
                r.updateId());
    }

    public static OutRecord of(
            String topic,
            int partition,
            long offset,
            RejectReason reason,
            String detail,
            String federationId,
            String siteId,
            String updateId) {
        RejectedUpdate r =
                RejectedUpdate.newBuilder()
                        .setSourceTopic(topic)
                        .setSourcePartition(partition)
                        .setSourceOffset(offset)
                        .setFederationId(federationId)
                        .setSiteId(siteId)
                        .setUpdateId(updateId)
                        .setReason(reason)
                        .setDetail(detail)
                        .setRejectedAtMs(Instant.now())
                        .build();
        return new OutRecord(
                siteId != null ? siteId : federationId, AvroCodec.REJECTED_UPDATE.encode(r));
    }
}
