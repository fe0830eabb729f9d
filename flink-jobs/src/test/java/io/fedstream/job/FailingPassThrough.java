package io.fedstream.job;

import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.job.prompt.PromptAggregationJob;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * A pass-through operator (inserted between the job's source and validation through {@link
 * AggregationJob#build(org.apache.flink.streaming.api.environment.StreamExecutionEnvironment,
 * org.apache.flink.configuration.ReadableConfig, List, AggregationJob.Io,
 * java.util.function.UnaryOperator)}, or the prompt job's through {@link
 * PromptAggregationJob#build(org.apache.flink.streaming.api.environment.StreamExecutionEnvironment,
 * org.apache.flink.configuration.ReadableConfig, List, PromptAggregationJob.Io,
 * java.util.function.UnaryOperator)}) that fails the job at chosen points of the checkpoint cycle,
 * after the fault-injecting sources and mappers of Flink's own fault-tolerance tests.
 *
 * <p>A run's faults are a {@link Plan}: a list of (point, record count) pairs, taken in order. A
 * fault arms once the operator's subtasks have passed on that many records in all (replays after a
 * recovery count again), and fires at its point:
 *
 * <ul>
 *   <li>{@link Point#AFTER_COMPLETED_CHECKPOINT}: on the first record after a checkpoint taken
 *       since arming has completed (Flink's "fail only after a checkpoint" pattern: the restore has
 *       real state to start from, and what was emitted after it must not be seen twice);
 *   <li>{@link Point#DURING_SNAPSHOT}: in the next snapshot, which stalls for {@link #STALL_MS} and
 *       then fails, while the checkpoint is in flight: the sinks' transactions of that checkpoint
 *       are open (or pre-committed) and must be aborted on recovery;
 *   <li>{@link Point#ON_CHECKPOINT_COMPLETE}: in the completion notification of a checkpoint taken
 *       since arming, racing the sinks' committers: the checkpoint is complete, its transactions
 *       are pre-committed and may or may not be committed yet, and recovery must commit them
 *       exactly once.
 * </ul>
 *
 * <p>An {@link Point#AFTER_COMPLETED_CHECKPOINT} fault needs a record after that checkpoint, so it
 * must arm well before the input ends; the other two fire on checkpoints, which go on after it.
 *
 * <p>Plans live in a static registry, which works because the MiniCluster runs the job in the
 * test's JVM; each fault fires exactly once, in one subtask.
 */
final class FailingPassThrough extends ProcessFunction<RawRecord, RawRecord>
        implements CheckpointedFunction, CheckpointListener {
    private static final long serialVersionUID = 1L;

    /** How long a {@link Point#DURING_SNAPSHOT} snapshot stalls before it fails. */
    static final long STALL_MS = 500;

    enum Point {
        AFTER_COMPLETED_CHECKPOINT,
        DURING_SNAPSHOT,
        ON_CHECKPOINT_COMPLETE
    }

    record Fault(Point point, long afterRecords) {
        @Override
        public String toString() {
            return point + " after " + afterRecords + " records";
        }
    }

    /** The faults of one run, shared by every subtask and every attempt of the job. */
    static final class Plan {
        private final List<Fault> faults;
        private final List<String> fired = Collections.synchronizedList(new ArrayList<>());
        private long records;
        private int next;
        private long armedAt = -1; // the first checkpoint taken since the current fault armed
        private boolean tripped; // AFTER_COMPLETED_CHECKPOINT: that checkpoint has completed

        Plan(List<Fault> faults) {
            this.faults = List.copyOf(faults);
        }

        /** What fired, in order, with the checkpoint it hit. */
        List<String> fired() {
            return List.copyOf(fired);
        }

        List<Fault> faults() {
            return faults;
        }

        private Fault current() {
            Fault f = next < faults.size() ? faults.get(next) : null;
            return f != null && records >= f.afterRecords() ? f : null;
        }

        private IllegalStateException fire(Fault f, String where) {
            next++;
            armedAt = -1;
            tripped = false;
            String what = "injected fault " + next + " (" + f + "): " + where;
            fired.add(what);
            return new IllegalStateException(what);
        }
    }

    private static final Map<String, Plan> PLANS = new ConcurrentHashMap<>();

    /** Registers {@code plan} under {@code id} and returns the operator to insert. */
    static java.util.function.UnaryOperator<DataStream<RawRecord>> insert(String id, Plan plan) {
        PLANS.put(id, plan);
        return raw ->
                raw.process(new FailingPassThrough(id))
                        .uid("failing-pass-through")
                        .name("failing pass-through");
    }

    private final String planId;

    private FailingPassThrough(String planId) {
        this.planId = planId;
    }

    private Plan plan() {
        return PLANS.get(planId);
    }

    @Override
    public void processElement(RawRecord r, Context ctx, Collector<RawRecord> out) {
        Plan p = plan();
        synchronized (p) {
            Fault f = p.current();
            if (f != null && f.point() == Point.AFTER_COMPLETED_CHECKPOINT && p.tripped) {
                throw p.fire(f, "record " + r + " after checkpoint " + p.armedAt + " completed");
            }
            p.records++;
        }
        out.collect(r);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        Plan p = plan();
        IllegalStateException failure = null;
        synchronized (p) {
            Fault f = p.current();
            if (f != null && f.point() == Point.DURING_SNAPSHOT) {
                failure = p.fire(f, "snapshot of checkpoint " + ctx.getCheckpointId());
            } else if (f != null && p.armedAt < 0) {
                p.armedAt = ctx.getCheckpointId();
            }
        }
        if (failure != null) {
            Thread.sleep(STALL_MS); // the checkpoint stays in flight, its transactions open
            throw failure;
        }
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        Plan p = plan();
        synchronized (p) {
            Fault f = p.current();
            if (f == null || p.armedAt < 0 || checkpointId < p.armedAt) {
                return;
            }
            if (f.point() == Point.ON_CHECKPOINT_COMPLETE) {
                throw p.fire(f, "notification that checkpoint " + checkpointId + " completed");
            }
            p.tripped = true;
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) {
        // stateless: the plan's progress lives outside the job on purpose
    }
}
