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

        /** Chunk indices with a copy whose digest is the manifest's (counted once it is in). */
        public int matched;

        /**
         * The first problem validation found in one of its chunks (a RejectReason name), if any.
         */
        public String problem;

        public String problemDetail;

        public Pending() {}
    }

    /** The receipts of one chunk index of a pending update. */
    public static class Slot {
        /** The distinct digests received for this chunk, and the sum of squares of each. */
        public String[] digests;

        public double[] sumSquares;

        /** Data copies sent to the chunk's aggregator, matching or not. */
        public int copies;

        public Slot() {}

        public boolean has(String digest) {
            return index(digest) >= 0;
        }

        public double sumSquaresOf(String digest) {
            return sumSquares[index(digest)];
        }

        public void add(String digest, double sumSq) {
            if (digest == null || has(digest)) {
                return;
            }
            int n = digests == null ? 0 : digests.length;
            String[] d = new String[n + 1];
            double[] q = new double[n + 1];
            if (n > 0) {
                System.arraycopy(digests, 0, d, 0, n);
                System.arraycopy(sumSquares, 0, q, 0, n);
            }
            d[n] = digest;
            q[n] = sumSq;
            digests = d;
            sumSquares = q;
        }

        private int index(String digest) {
            if (digests != null && digest != null) {
                for (int i = 0; i < digests.length; i++) {
                    if (digests[i].equals(digest)) {
                        return i;
                    }
                }
            }
            return -1;
        }
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
