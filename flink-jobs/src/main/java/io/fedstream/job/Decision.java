package io.fedstream.job;

import io.fedstream.schemas.UpdateKey;

/**
 * What the round coordinator decided, sent to the aggregator of one chunk ({@link #key()}). The
 * coordinator sends the same decisions to every chunk of a federation in the same order, so every
 * chunk of a version is aggregated over the same updates with the same weights.
 */
public class Decision {
    /** Version 0 from the spec's initialisation: compute and publish this chunk. */
    public static final byte GENESIS = 0;

    /** Continue from the published {@link #version}: read this chunk through the lookup. */
    public static final byte CONTINUE = 1;

    /** Update {@link #updateId} is a member of the open round with weight and scale. */
    public static final byte MEMBER = 2;

    /** Discard {@link #count} copies of chunks of {@link #updateId} that no member needs. */
    public static final byte DROP = 3;

    /** Close the round: publish {@link #version} over the members so far. */
    public static final byte CLOSE = 4;

    public byte type;
    public String federationId;
    public int chunkIndex;
    public long version;
    public String updateId;

    /**
     * MEMBER, DROP: the site of {@link #updateId}; the pair is the update's identity ({@link
     * UpdateKey}). Null in decisions restored from a job version before updates were keyed by site.
     */
    public String siteId;

    /** MEMBER: the digest of the copy to aggregate. */
    public String sha256;

    public double weight;

    /** MEMBER: factor the update is scaled by (norm clipping), 1 otherwise. */
    public double scale = 1.0;

    /** MEMBER: further copies to discard (duplicates); DROP: copies to discard. */
    public int count;

    /** CLOSE: Σ weights. */
    public double totalWeight;

    /** CLOSE: the members' {@link UpdateKey}s in accumulation order. */
    public String[] members;

    public Decision() {}

    /** MEMBER, DROP: the update decided on, see {@link UpdateKey}. */
    public String updateKey() {
        return UpdateKey.of(siteId, updateId);
    }

    public String key() {
        return ChunkData.key(federationId, chunkIndex);
    }

    @Override
    public String toString() {
        return "Decision{"
                + type
                + " "
                + federationId
                + "#"
                + chunkIndex
                + " v"
                + version
                + " "
                + updateId
                + "}";
    }
}
