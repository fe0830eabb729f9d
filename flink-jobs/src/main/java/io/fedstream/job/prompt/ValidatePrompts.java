package io.fedstream.job.prompt;

import io.fedstream.aggregation.prompt.TokenEmbeddings;
import io.fedstream.job.OutRecord;
import io.fedstream.job.PromptRoundAggregator;
import io.fedstream.job.RawRecord;
import io.fedstream.job.RejectionCounters;
import io.fedstream.job.Rejections;
import io.fedstream.job.ValidPrompt;
import io.fedstream.schemas.AvroCodec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and validates raw prompt update records ({@link PromptUpdateValidator}) against the
 * embedding table's vocabulary (loaded from its file when the task opens); what fails goes to
 * {@link #REJECTED} with its reason, and the job carries on.
 */
public class ValidatePrompts extends ProcessFunction<RawRecord, ValidPrompt> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<OutRecord> REJECTED =
            new OutputTag<>("rejected-prompts", TypeInformation.of(OutRecord.class));

    private final PromptUpdateValidator validator;
    private final String embeddingsFile;
    private transient TokenEmbeddings table;
    private transient Counter received;
    private transient RejectionCounters rejected;

    public ValidatePrompts(PromptUpdateValidator validator, String embeddingsFile) {
        this.validator = validator;
        this.embeddingsFile = embeddingsFile;
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        table = load(embeddingsFile);
        received = getRuntimeContext().getMetricGroup().counter("updatesReceived");
        rejected = new RejectionCounters(getRuntimeContext().getMetricGroup());
    }

    static TokenEmbeddings load(String file) {
        return PromptRoundAggregator.embeddings(file);
    }

    @Override
    public void processElement(RawRecord raw, Context ctx, Collector<ValidPrompt> out) {
        received.inc();
        PromptUpdateValidator.Outcome outcome = validator.validate(raw, table::contains);
        if (outcome instanceof PromptUpdateValidator.Accepted a) {
            out.collect(a.prompt());
        } else if (outcome instanceof PromptUpdateValidator.Rejected r) {
            rejected.inc(r.reason());
            ctx.output(REJECTED, Rejections.of(raw, r));
        }
    }
}
