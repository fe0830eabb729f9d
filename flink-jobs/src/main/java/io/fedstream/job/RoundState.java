package io.fedstream.job;

/**
 * Keyed state POJOs of {@link RoundCoordinator} and {@link ChunkAggregator}. Public fields so Flink
 * serializes them as POJOs.
 */
public final class RoundState {
    private RoundState() {}

    /** The federation's current global version. */
    public static class Global {
        public long version;
        public float[][] tensors;

        public Global() {}

        public Global(long version, float[][] tensors) {
            this.version = version;
            this.tensors = tensors;
        }
    }

    /** The open round (absent when no update has arrived since the last version). */
    public static class Meta {
        public long openedAtMs;
        public long deadlineMs;
        public int count;
        public double totalWeight;
        public boolean overdue;

        public Meta() {}
    }

    /** One accepted update of the open round, as it will appear in the manifest. */
    public static class Entry {
        public String updateId;
        public String siteId;
        public long baseVersion;
        public long staleness;
        public long numExamples;
        public double weight;
        public int sourcePartition;
        public long sourceOffset;

        public Entry() {}
    }

    /** An update the coordinator has seen part of but not yet decided. */
    public static class Pending {
        public String updateId;
        public String siteId;
        public boolean hasHeader;
        public long baseVersion;
        public long numExamples;

        /** Coordinates of the manifest (or, until it arrives, of the first record seen). */
        public int sourcePartition;

        public long sourceOffset;
        public long deadlineMs;

        /** Distinct chunk indices with a receipt. */
        public int indices;

        /** Whether two receipts of one chunk index disagreed on the digest. */
        public boolean conflict;

        public Pending() {}
    }

    /** The receipts of one chunk index of a pending update. */
    public static class Slot {
        public String sha256;
        public double sumSquares;

        /** Data copies sent to the chunk's aggregator. */
        public int copies;

        public Slot() {}
    }

    /** A member's chunk held for a rule that needs all updates at the close. */
    public static class HeldChunk {
        public String updateId;
        public double weight;
        public byte kind;
        public byte[] data;

        public HeldChunk() {}
    }
}
