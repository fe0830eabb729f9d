package io.fedstream.job;

import io.fedstream.schemas.UpdateKey;

/**
 * One validated chunk of an update on its way to the aggregator of its chunk: the little-endian
 * elements, their kind (ordinal of {@link io.fedstream.aggregation.LittleEndianFloats.Kind}) and
 * the digest validation computed, which the coordinator's decision names so that only the copy it
 * accepted is ever aggregated.
 */
public class ChunkData {
    public String federationId;
    public String updateId;

    /**
     * The site the chunk record names (null in buffered copies restored from a job version before
     * updates were keyed by site): with {@link #updateId}, the update it belongs to ({@link
     * UpdateKey}).
     */
    public String siteId;

    public int chunkIndex;
    public byte kind;
    public String sha256;
    public byte[] data;

    public ChunkData() {}

    /** The key of the chunk aggregator: federation and chunk index. */
    public static String key(String federationId, int chunkIndex) {
        return federationId + "#" + chunkIndex;
    }

    public String key() {
        return key(federationId, chunkIndex);
    }

    /** The update this copy claims to belong to: (site, update id), see {@link UpdateKey}. */
    public String updateKey() {
        return UpdateKey.of(siteId, updateId);
    }

    @Override
    public String toString() {
        return "ChunkData{" + updateId + " #" + chunkIndex + "}";
    }
}
