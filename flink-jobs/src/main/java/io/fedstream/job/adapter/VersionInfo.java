package io.fedstream.job.adapter;

/**
 * A version's manifest as the coordinator knows it at the close (a single-object encoded {@link
 * io.fedstream.schemas.avro.GlobalModel} without data or chunk digests), or, with {@link
 * #baseline}, the published version a restarted federation continues from (nothing to publish).
 */
public class VersionInfo {
    public String federationId;
    public long version;
    public boolean baseline;
    public byte[] manifest;

    public VersionInfo() {}
}
