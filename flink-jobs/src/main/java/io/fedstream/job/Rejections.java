package io.fedstream.job;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Instant;

/** Builds dead-letter records. */
public final class Rejections {
    private Rejections() {}

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
