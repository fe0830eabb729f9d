package io.fedstream.job.adapter;

import io.fedstream.job.ChunkData;
import io.fedstream.job.OutRecord;
import io.fedstream.job.RawRecord;
import io.fedstream.job.RejectionCounters;
import io.fedstream.job.Rejections;
import io.fedstream.schemas.AvroCodec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes and validates raw update records ({@link UpdateValidator#parts}): usable chunk data goes
 * to the main output (for the chunk aggregators), headers and chunk receipts to {@link #EVENTS}
 * (for the round coordinator); what fails goes to the {@link #REJECTED} side output with its
 * reason, and the job carries on. Stateless, so it runs at the source's parallelism.
 */
public class ValidateUpdates extends ProcessFunction<RawRecord, ChunkData> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<OutRecord> REJECTED =
            new OutputTag<>("rejected-by-validation", TypeInformation.of(OutRecord.class));

    public static final OutputTag<UpdateEvent> EVENTS =
            new OutputTag<>("update-events", TypeInformation.of(UpdateEvent.class));

    private final UpdateValidator validator;
    private transient Counter records;
    private transient Counter received;
    private transient RejectionCounters rejected;

    public ValidateUpdates(UpdateValidator validator) {
        this.validator = validator;
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        // records: every record read (chunks, manifests, whole updates, garbage);
        // updates: the updates announced (a manifest or a whole update) that passed validation
        records = getRuntimeContext().getMetricGroup().counter("recordsReceived");
        received = getRuntimeContext().getMetricGroup().counter("updatesReceived");
        rejected = new RejectionCounters(getRuntimeContext().getMetricGroup());
    }

    @Override
    public void processElement(RawRecord raw, Context ctx, Collector<ChunkData> out) {
        records.inc();
        UpdateValidator.Outcome outcome = validator.parts(raw);
        if (outcome instanceof UpdateValidator.Parts p) {
            for (ChunkData c : p.chunks()) {
                out.collect(c);
            }
            for (UpdateEvent e : p.events()) {
                if (e.type == UpdateEvent.HEADER) {
                    received.inc();
                }
                e.sourcePartition = raw.partition;
                e.sourceOffset = raw.offset;
                ctx.output(EVENTS, e);
            }
        } else if (outcome instanceof UpdateValidator.Rejected r) {
            rejected.inc(r.reason());
            ctx.output(REJECTED, Rejections.of(raw, r));
        }
    }
}
