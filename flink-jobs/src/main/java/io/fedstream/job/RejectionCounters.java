package io.fedstream.job;

import io.fedstream.schemas.avro.RejectReason;
import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * One {@code updatesRejected} counter per reason, as metric group {@code reason=<CODE>}, every one
 * registered at start at zero: an operator finds them all in the metrics list before the first
 * rejection, and a dashboard's rate is 0 rather than absent.
 */
public final class RejectionCounters {
    private final MetricGroup group;
    private final Map<RejectReason, Counter> counters = new EnumMap<>(RejectReason.class);

    public RejectionCounters(MetricGroup group) {
        this.group = group;
        for (RejectReason r : RejectReason.values()) {
            counters.put(r, group.addGroup("reason", r.name()).counter("updatesRejected"));
        }
    }

    public void inc(RejectReason reason) {
        counters.computeIfAbsent(
                        reason, r -> group.addGroup("reason", r.name()).counter("updatesRejected"))
                .inc();
    }
}
