package io.fedstream.job.adapter;

/** The digest of one chunk of a new global version, for the version publisher. */
public class ChunkDigest {
    public String federationId;
    public long version;
    public int chunkIndex;
    public String sha256;

    public ChunkDigest() {}

    public ChunkDigest(String federationId, long version, int chunkIndex, String sha256) {
        this.federationId = federationId;
        this.version = version;
        this.chunkIndex = chunkIndex;
        this.sha256 = sha256;
    }
}
