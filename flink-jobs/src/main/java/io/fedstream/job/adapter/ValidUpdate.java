package io.fedstream.job.adapter;

/**
 * An update that passed stateless validation: metadata plus the delta's tensor bytes in the order
 * of the federation spec (little-endian; {@link #dtypes} holds each tensor's element kind as the
 * ordinal of {@link io.fedstream.aggregation.LittleEndianFloats.Kind}).
 */
public class ValidUpdate {
    public String federationId;
    public String updateId;
    public String siteId;
    public long baseVersion;
    public long numExamples;
    public int sourcePartition;
    public long sourceOffset;
    public byte[] dtypes;
    public byte[][] tensors;

    public ValidUpdate() {}

    @Override
    public String toString() {
        return "ValidUpdate{"
                + federationId
                + "/"
                + updateId
                + " from "
                + siteId
                + ", base "
                + baseVersion
                + "}";
    }
}
