package io.fedstream.job;

import io.fedstream.schemas.AvroCodec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and validates raw update records ({@link UpdateValidator}); what fails goes to the {@link
 * #REJECTED} side output with its reason, and the job carries on.
 */
public class ValidateUpdates extends ProcessFunction<RawRecord, ValidUpdate> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<OutRecord> REJECTED =
            new OutputTag<>("rejected-by-validation", TypeInformation.of(OutRecord.class));

    private final UpdateValidator validator;
    private transient Counter received;
    private transient RejectionCounters rejected;

    public ValidateUpdates(UpdateValidator validator) {
        this.validator = validator;
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        received = getRuntimeContext().getMetricGroup().counter("updatesReceived");
        rejected = new RejectionCounters(getRuntimeContext().getMetricGroup());
    }

    @Override
    public void processElement(RawRecord raw, Context ctx, Collector<ValidUpdate> out) {
        received.inc();
        UpdateValidator.Outcome outcome = validator.validate(raw);
        if (outcome instanceof UpdateValidator.Accepted a) {
            out.collect(a.update());
        } else if (outcome instanceof UpdateValidator.Rejected r) {
            rejected.inc(r.reason());
            ctx.output(
                    REJECTED,
                    Rejections.of(
                            raw.topic,
                            raw.partition,
                            raw.offset,
                            r.reason(),
                            r.detail(),
                            r.federationId(),
                            r.siteId(),
                            r.updateId()));
        }
    }
}
