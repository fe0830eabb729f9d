package io.fedstream.job.adapter;

/**
 * What the round coordinator learns about an update, without its data: the manifest (header) or the
 * receipt of one chunk (digest, sum of squares, or the problem validation found).
 */
public class UpdateEvent {
    public static final byte HEADER = 0;
    public static final byte RECEIPT = 1;

    public byte type;
    public String federationId;
    public String updateId;
    public String siteId;
    public int sourcePartition;
    public long sourceOffset;

    // HEADER
    public long baseVersion;
    public long numExamples;
    public String[] chunkSha256;

    /** HEADER: the local DP the site declared (clip norm, noise multiplier), 0 if none. */
    public double localDpClipNorm;

    public double localDpNoiseMultiplier;

    // RECEIPT
    public int chunkIndex;
    public String sha256;
    public double sumSquares;

    /**
     * Whether a data copy of the chunk went to its aggregator (false for a chunk with a problem).
     */
    public boolean hasData;

    /** Name of the RejectReason of a chunk that cannot be used, or null. */
    public String problem;

    public String problemDetail;

    /**
     * Whether the event comes from a whole (legacy) AdapterUpdate record, split by validation: such
     * a record is accounted for (accepted or dead-lettered) once, by its header, never per chunk.
     */
    public boolean whole;

    public UpdateEvent() {}

    @Override
    public String toString() {
        return (type == HEADER ? "Header{" : "Receipt{#" + chunkIndex + " ") + updateId + "}";
    }
}
