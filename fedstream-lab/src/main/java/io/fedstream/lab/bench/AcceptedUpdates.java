package io.fedstream.lab.bench;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * A Flink metric reporter that keeps the round operator's {@code updatesAccepted} counters of the
 * job running in this JVM, so that the bench's sites can see how many updates the job has taken in
 * (and so hold back instead of queueing updates in the broker and the clients' buffers). Add it
 * with {@link #enable}; registered for Flink's {@code ServiceLoader} in {@code
 * META-INF/services/org.apache.flink.metrics.reporter.MetricReporterFactory}.
 */
public final class AcceptedUpdates implements MetricReporter {
    static final String METRIC = "updatesAccepted";
    private static final List<Counter> COUNTERS = new CopyOnWriteArrayList<>();

    /** Reports to this class from the job started with {@code conf}; forgets earlier jobs. */
    static void enable(Configuration conf) {
        COUNTERS.clear();
        conf.setString("metrics.reporters", "bench");
        conf.setString("metrics.reporter.bench.factory.class", Factory.class.getName());
    }

    /** Updates the job has accepted into rounds so far (over all subtasks). */
    static long count() {
        long n = 0;
        for (Counter c : COUNTERS) {
            n += c.getCount();
        }
        return n;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if (METRIC.equals(name) && metric instanceof Counter c) {
            COUNTERS.add(c);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {}

    /** Creates the reporter (Flink finds it by this class name). */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new AcceptedUpdates();
        }
    }
}
