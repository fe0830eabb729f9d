package io.fedstream.job.adapter;

import io.fedstream.job.OutRecord;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens to a dead letter besides the {@code rejected-updates} topic: it is logged at WARN
 * (rate-limited, {@link RateLimitedLog}) for the operator, and copied to its site's feedback topic
 * ({@code <prefix><site>}) for the site, if the site id is a plain name, is registered (with a key
 * registry), and its topic exists or may be created ({@link FeedbackTopics}). Stateless.
 */
public class DeadLetters extends RichFlatMapFunction<OutRecord, FeedbackRecord> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);

    /** Site ids that can be part of a topic name (Kafka allows [a-zA-Z0-9._-], 249 characters). */
    static final Pattern SITE_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");

    private final String prefix;
    private final Set<String> registeredSites;
    private final FeedbackTopics topics;
    private final int logPerMinute;
    private transient RateLimitedLog log;
    private transient Counter feedbackSent;
    private transient Counter feedbackWithheld;

    /**
     * @param prefix feedback topic prefix, empty for none
     * @param registeredSites the key registry's sites, or null without one (any site id)
     * @param topics which feedback topics exist or may be created; null for none
     */
    public DeadLetters(
            String prefix, Set<String> registeredSites, FeedbackTopics topics, int logPerMinute) {
        this.prefix = prefix;
        this.registeredSites = registeredSites == null ? null : Set.copyOf(registeredSites);
        this.topics = topics;
        this.logPerMinute = logPerMinute;
    }

    @Override
    public void open(OpenContext openContext) {
        AvroCodec.trustGeneratedClasses();
        log = new RateLimitedLog(logPerMinute, 60_000);
        feedbackSent = getRuntimeContext().getMetricGroup().counter("feedbackSent");
        feedbackWithheld = getRuntimeContext().getMetricGroup().counter("feedbackWithheld");
        if (topics != null) {
            topics.open();
        }
    }

    @Override
    public void close() {
        if (topics != null) {
            topics.close();
        }
    }

    @Override
    public void flatMap(OutRecord dead, Collector<FeedbackRecord> out) {
        RejectedUpdate r = AvroCodec.REJECTED_UPDATE.decode(dead.value);
        RateLimitedLog.Decision d = log.offer(System.currentTimeMillis());
        if (d.suppressedBefore() > 0) {
            LOG.warn(
                    "{} more dead letters in the last minute not logged (see ./fedstream"
                            + " rejections)",
                    d.suppressedBefore());
        }
        if (d.write()) {
            LOG.warn(
                    "dead letter: {} {} from site {} of federation {} ({}-{}@{}): {}",
                    r.getReason(),
                    r.getUpdateId() == null ? "record" : r.getUpdateId(),
                    r.getSiteId(),
                    r.getFederationId(),
                    r.getSourceTopic(),
                    r.getSourcePartition(),
                    r.getSourceOffset(),
                    r.getDetail());
        }
        String topic = feedbackTopic(r);
        if (topic == null) {
            return;
        }
        if (topics.ensure(topic, registeredSites != null)) {
            feedbackSent.inc();
            out.collect(new FeedbackRecord(topic, r.getSiteId().toString(), dead.value));
        } else {
            feedbackWithheld.inc();
        }
    }

    /** The feedback topic of a dead letter's site, or null if it gets none. */
    String feedbackTopic(RejectedUpdate r) {
        if (prefix.isEmpty() || topics == null || r.getSiteId() == null) {
            return null;
        }
        String site = r.getSiteId().toString();
        if (!SITE_ID.matcher(site).matches()) {
            return null;
        }
        if (registeredSites != null && !registeredSites.contains(site)) {
            return null; // whoever sent it is not that site: nobody to tell
        }
        return prefix + site;
    }
}
