package io.fedstream.job;

/**
 * Keyed state POJOs of {@link RoundAggregator}. Public fields so Flink serializes them as POJOs.
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
}
