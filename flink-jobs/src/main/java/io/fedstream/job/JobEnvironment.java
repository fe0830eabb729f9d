package io.fedstream.job;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** The execution environment both jobs run in, from the shared {@link FedStreamOptions}. */
public final class JobEnvironment {
    private JobEnvironment() {}

    /** Checkpointing (exactly once), parallelism and state backend as configured. */
    public static void configure(StreamExecutionEnvironment env, ReadableConfig conf) {
        env.enableCheckpointing(
                conf.get(FedStreamOptions.CHECKPOINT_INTERVAL).toMillis(),
                CheckpointingMode.EXACTLY_ONCE);
        env.setParallelism(conf.get(FedStreamOptions.PARALLELISM));
        FedStreamOptions.stateBackendType(conf)
                .ifPresent(
                        type -> {
                            Configuration backend = new Configuration();
                            backend.set(StateBackendOptions.STATE_BACKEND, type);
                            env.configure(backend);
                        });
    }
}
