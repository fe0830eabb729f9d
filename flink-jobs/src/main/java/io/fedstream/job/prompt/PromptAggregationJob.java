package io.fedstream.job.prompt;

import static io.fedstream.job.FedStreamOptions.MAX_EXAMPLES;
import static io.fedstream.job.FedStreamOptions.ROUND_MIN_UPDATES;
import static io.fedstream.job.FedStreamOptions.ROUND_QUORUM;
import static io.fedstream.job.FedStreamOptions.ROUND_TIMEOUT;
import static io.fedstream.job.FedStreamOptions.STALENESS_MAX;

import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.job.JobEnvironment;
import io.fedstream.job.KafkaIo;
import io.fedstream.job.OutRecord;
import io.fedstream.job.PromptFederation;
import io.fedstream.job.PromptRoundAggregator;
import io.fedstream.job.PromptVersionLookup;
import io.fedstream.job.RawRecord;
import io.fedstream.job.RoundPolicy;
import io.fedstream.job.ValidPrompt;
import io.fedstream.schemas.AvroCodec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;

/**
 * The FedDTPT prompt aggregation job, built like {@link io.fedstream.job.adapter.AggregationJob}:
 *
 * <pre>
 * prompt-updates source ─► validate prompts ─► keyBy(federation) ─► prompt rounds ─► global-prompts sink
 *                              └─ rejected ─┐                          │
 *                                           ├─◄──────── rejected ──────┘
 *                                           └─► rejected-updates sink
 * </pre>
 *
 * Read_committed Kafka source with offsets committed on checkpoints, exactly-once transactional
 * sinks; uids {@code prompt-updates-source}, {@code validate-prompts}, {@code prompt-federations},
 * {@code prompt-rounds}, {@code global-prompts-sink}, {@code prompt-rejected-sink}.
 */
public final class PromptAggregationJob {
    private PromptAggregationJob() {}

    /** The job's connections to the outside world. */
    public record Io(
            Source<RawRecord, ?, ?> updates,
            Sink<OutRecord> globalPrompts,
            Sink<OutRecord> rejected,
            PromptVersionLookup lookup) {

        /** Kafka source and exactly-once sinks as configured ({@link KafkaIo}). */
        public static Io kafka(ReadableConfig conf) {
            KafkaIo kafka = new KafkaIo(conf);
            String ids = conf.get(PromptOptions.TRANSACTIONAL_ID_PREFIX);
            return new Io(
                    kafka.updates(
                            conf.get(PromptOptions.UPDATES_TOPIC),
                            conf.get(PromptOptions.CONSUMER_GROUP)),
                    kafka.sink(conf.get(PromptOptions.GLOBAL_PROMPTS_TOPIC), ids + "-global"),
                    kafka.sink(conf.get(PromptOptions.REJECTED_TOPIC), ids + "-rejected"),
                    new KafkaPromptVersionLookup(
                            kafka.lookupProperties(),
                            conf.get(PromptOptions.GLOBAL_PROMPTS_TOPIC)));
        }
    }

    /** Rounds as configured; prompts are not weighted, so the staleness function is constant. */
    public static RoundPolicy roundPolicy(ReadableConfig conf) {
        return new RoundPolicy(
                conf.get(ROUND_QUORUM),
                conf.get(ROUND_TIMEOUT),
                conf.get(ROUND_MIN_UPDATES),
                new StalenessFunction.Constant(),
                conf.get(STALENESS_MAX),
                1.0);
    }

    public static List<PromptFederation> federations(ReadableConfig conf) {
        String file =
                conf.getOptional(PromptOptions.FEDERATIONS_FILE)
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                PromptOptions.FEDERATIONS_FILE.key()
                                                        + " is required"));
        return PromptFederation.readAll(Path.of(file));
    }

    /** Adds the pipeline to {@code env}. */
    public static void build(
            StreamExecutionEnvironment env,
            ReadableConfig conf,
            List<PromptFederation> federations,
            Io io) {
        build(env, conf, federations, io, UnaryOperator.identity());
    }

    /**
     * Adds the pipeline to {@code env}, with {@code afterSource} applied to the raw records between
     * the source and validation, as in {@link AggregationJob}. Production uses the identity; the
     * fault-tolerance tests insert a pass-through operator there that fails at chosen points of the
     * checkpoint cycle.
     */
    public static void build(
            StreamExecutionEnvironment env,
            ReadableConfig conf,
            List<PromptFederation> federations,
            Io io,
            UnaryOperator<DataStream<RawRecord>> afterSource) {
        AvroCodec.trustGeneratedClasses();
        String embeddings =
                conf.getOptional(PromptOptions.EMBEDDINGS_FILE)
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                PromptOptions.EMBEDDINGS_FILE.key()
                                                        + " is required (./fedstream"
                                                        + " prompt-embeddings writes one)"));
        Map<String, PromptFederation> byId = new LinkedHashMap<>();
        for (PromptFederation f : federations) {
            if (byId.put(f.id(), f) != null) {
                throw new IllegalArgumentException("federation " + f.id() + " is configured twice");
            }
        }
        PromptUpdateValidator validator =
                new PromptUpdateValidator(
                        byId.keySet(), conf.get(PromptOptions.MAX_TOKENS), conf.get(MAX_EXAMPLES));
        DataStream<RawRecord> raw =
                afterSource.apply(
                        env.fromSource(
                                        io.updates(),
                                        WatermarkStrategy.noWatermarks(),
                                        "prompt-updates")
                                .uid("prompt-updates-source"));
        SingleOutputStreamOperator<ValidPrompt> valid =
                raw.process(new ValidatePrompts(validator, embeddings))
                        .uid("validate-prompts")
                        .name("validate prompts");
        DataStream<String> genesis =
                env.fromData(Types.STRING, new ArrayList<>(byId.keySet()).toArray(String[]::new))
                        .uid("prompt-federations")
                        .name("configured prompt federations")
                        .setParallelism(1);
        SingleOutputStreamOperator<OutRecord> versions =
                genesis.keyBy(id -> id, Types.STRING)
                        .connect(valid.keyBy(p -> p.federationId, Types.STRING))
                        .process(
                                new PromptRoundAggregator(
                                        byId,
                                        roundPolicy(conf),
                                        PromptOptions.mergeConfig(conf),
                                        embeddings,
                                        conf.get(PromptOptions.UPDATES_TOPIC),
                                        io.lookup()))
                        .uid("prompt-rounds")
                        .name("prompt rounds");
        versions.sinkTo(io.globalPrompts()).uid("global-prompts-sink").name("global-prompts");
        valid.getSideOutput(ValidatePrompts.REJECTED)
                .union(versions.getSideOutput(PromptRoundAggregator.REJECTED))
                .sinkTo(io.rejected())
                .uid("prompt-rejected-sink")
                .name("rejected prompt updates");
    }

    /** Builds the configured job on {@code env} and runs it (blocking). */
    public static void run(StreamExecutionEnvironment env, ReadableConfig conf) throws Exception {
        JobEnvironment.configure(env, conf);
        build(env, conf, federations(conf), Io.kafka(conf));
        env.execute(conf.get(PromptOptions.JOB_NAME));
    }

    /** Entry point for {@code flink run -c io.fedstream.job.prompt.PromptAggregationJob}. */
    public static void main(String[] args) throws Exception {
        Configuration conf = Configuration.fromMap(ParameterTool.fromArgs(args).toMap());
        run(StreamExecutionEnvironment.getExecutionEnvironment(conf), conf);
    }
}
