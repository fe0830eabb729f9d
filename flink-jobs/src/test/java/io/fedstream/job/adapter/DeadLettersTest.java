package io.fedstream.job.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Instant;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which dead letters go to which site's feedback topic (the Kafka side is in FeedbackIT). */
class DeadLettersTest {
    static final FeedbackTopics TOPICS = new FeedbackTopics(new Properties(), true, 10);

    static RejectedUpdate dead(String site) {
        return RejectedUpdate.newBuilder()
                .setSourceTopic("adapter-updates")
                .setSourcePartition(0)
                .setSourceOffset(1)
                .setSiteId(site)
                .setReason(RejectReason.TOO_STALE)
                .setDetail("d")
                .setRejectedAtMs(Instant.EPOCH)
                .build();
    }

    @Test
    void aSiteGetsItsOwnTopic() {
        DeadLetters d = new DeadLetters("rejected-updates.", null, TOPICS, 10);
        assertThat(d.feedbackTopic(dead("site-1"))).isEqualTo("rejected-updates.site-1");
    }

    @Test
    void noTopicWithoutASiteOrForANameThatCannotBeATopic() {
        DeadLetters d = new DeadLetters("rejected-updates.", null, TOPICS, 10);
        assertThat(d.feedbackTopic(dead(null))).isNull();
        assertThat(d.feedbackTopic(dead("../etc"))).isNull();
        assertThat(d.feedbackTopic(dead("a b"))).isNull();
        assertThat(d.feedbackTopic(dead("x".repeat(201)))).isNull();
    }

    @Test
    void withARegistryOnlyRegisteredSitesAreTold() {
        DeadLetters d = new DeadLetters("rejected-updates.", Set.of("site-1"), TOPICS, 10);
        assertThat(d.feedbackTopic(dead("site-1"))).isEqualTo("rejected-updates.site-1");
        assertThat(d.feedbackTopic(dead("site-2"))).isNull();
    }

    @Test
    void anEmptyPrefixTurnsFeedbackOff() {
        DeadLetters d = new DeadLetters("", null, TOPICS, 10);
        assertThat(d.feedbackTopic(dead("site-1"))).isNull();
    }
}
