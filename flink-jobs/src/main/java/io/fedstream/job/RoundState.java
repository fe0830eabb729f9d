package io.fedstream.job;

import io.fedstream.schemas.UpdateKey;

/**
 * Keyed state POJOs of {@link io.fedstream.job.adapter.RoundCoordinator} and {@link
 * io.fedstream.job.adapter.ChunkAggregator}. Public fields so Flink serializes them as POJOs.
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

        /** The update's site: with {@link #updateId}, its identity ({@link UpdateKey}). */
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

        /**
         * Every receipt of this chunk index, in arrival order, so that each copy that does not end
         * up in a version can be dead-lettered with its own coordinates once the update is decided:
         * its digest ("" if validation could not compute one), the site it names, its problem (a
         * RejectReason name, "" if none) and problem detail, its source partition and offset, and
         * whether it came inside a whole (legacy) update record, which is accounted for by that
         * record's header. Cleared with the slot when the update is decided.
         */
        public String[] copyDigests;

        public String[] copySites;
        public String[] copyProblems;
        public String[] copyProblemDetails;
        public int[] copyPartitions;
        public long[] copyOffsets;
        public boolean[] copyWhole;

        public Slot() {}

        public int copyCount() {
            return copyDigests == null ? 0 : copyDigests.length;
        }

        /** Records one receipt (a data copy or a copy validation found a problem in). */
        public void addCopy(
                String digest,
                String site,
                String problem,
                String problemDetail,
                int partition,
                long offset,
                boolean whole) {
            int n = copyCount();
            copyDigests = java.util.Arrays.copyOf(n == 0 ? new String[0] : copyDigests, n + 1);
            copySites = java.util.Arrays.copyOf(n == 0 ? new String[0] : copySites, n + 1);
            copyProblems = java.util.Arrays.copyOf(n == 0 ? new String[0] : copyProblems, n + 1);
            copyProblemDetails =
                    java.util.Arrays.copyOf(n == 0 ? new String[0] : copyProblemDetails, n + 1);
            copyPartitions = java.util.Arrays.copyOf(n == 0 ? new int[0] : copyPartitions, n + 1);
            copyOffsets = java.util.Arrays.copyOf(n == 0 ? new long[0] : copyOffsets, n + 1);
            copyWhole = java.util.Arrays.copyOf(n == 0 ? new boolean[0] : copyWhole, n + 1);
            copyDigests[n] = digest == null ? "" : digest;
            copySites[n] = site == null ? "" : site;
            copyProblems[n] = problem == null ? "" : problem;
            copyProblemDetails[n] = problemDetail == null ? "" : problemDetail;
            copyPartitions[n] = partition;
            copyOffsets[n] = offset;
            copyWhole[n] = whole;
        }

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

        /** The update's site (null in state of a job version before updates were keyed by site). */
        public String siteId;

        public double weight;
        public byte kind;
        public byte[] data;

        public HeldChunk() {}
    }
}
