package io.fedstream.job.adapter;

import java.io.Serializable;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which sites' feedback topics exist, created on demand where allowed. A topic found missing (and
 * not to be created) is asked about again after a minute, so a topic an operator creates later
 * starts receiving feedback without a restart.
 */
public class FeedbackTopics implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(FeedbackTopics.class);
    private static final long RECHECK_MILLIS = 60_000;

    private final Properties client;
    private final boolean create;
    private final int maxCreatedUnregistered;
    private transient Admin admin;
    private transient Set<String> existing;
    private transient Map<String, Long> missingSince;
    private transient int createdUnregistered;

    /**
     * @param client Kafka client properties, bootstrap servers included
     * @param create whether to create missing topics
     * @param maxCreatedUnregistered at most this many topics created for sites that no registry
     *     vouches for
     */
    public FeedbackTopics(Properties client, boolean create, int maxCreatedUnregistered) {
        this.client = client;
        this.create = create;
        this.maxCreatedUnregistered = maxCreatedUnregistered;
    }

    void open() {
        admin = Admin.create(client);
        existing = new HashSet<>();
        missingSince = new HashMap<>();
    }

    void close() {
        if (admin != null) {
            admin.close();
        }
    }

    /** Whether {@code topic} exists (after creating it if allowed). */
    boolean ensure(String topic, boolean registered) {
        if (existing.contains(topic)) {
            return true;
        }
        Long since = missingSince.get(topic);
        long now = System.currentTimeMillis();
        if (since != null && now - since < RECHECK_MILLIS) {
            return false;
        }
        try {
            admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS);
            existing.add(topic);
            missingSince.remove(topic);
            return true;
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                return missing(topic, now, e.getCause().toString());
            }
        } catch (Exception e) {
            return missing(topic, now, e.toString());
        }
        if (!create || (!registered && createdUnregistered >= maxCreatedUnregistered)) {
            return missing(topic, now, "it does not exist");
        }
        try {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) -1)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
            LOG.info("created feedback topic {}", topic);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                return missing(topic, now, "cannot create it: " + e.getCause());
            }
        } catch (Exception e) {
            return missing(topic, now, "cannot create it: " + e);
        }
        if (!registered) {
            createdUnregistered++;
        }
        existing.add(topic);
        missingSince.remove(topic);
        return true;
    }

    private boolean missing(String topic, long now, String why) {
        if (!missingSince.containsKey(topic)) {
            LOG.warn("no feedback for the site of topic {}: {}", topic, why);
        }
        missingSince.put(topic, now);
        return false;
    }
}
