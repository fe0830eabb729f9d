package io.fedstream.testing;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;

/** The Flink MiniCluster the integration tests run their jobs on. */
public final class MiniClusters {
    private MiniClusters() {}

    /**
     * One TaskManager with {@code slots} slots (2 for a job at parallelism 2), to register as a
     * static {@code @RegisterExtension} field: one cluster for all tests of the class.
     */
    public static MiniClusterExtension withSlots(int slots) {
        return new MiniClusterExtension(
                new MiniClusterResourceConfiguration.Builder()
                        .setNumberTaskManagers(1)
                        .setNumberSlotsPerTaskManager(slots)
                        .build());
    }
}
