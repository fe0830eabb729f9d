package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.audit.DeliveryCheck;
import io.fedstream.audit.DeliveryCheck.Kind;
import io.fedstream.audit.DeliveryCheck.Position;
import io.fedstream.audit.DeliveryCheck.Violation;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The delivery checker on a small clean log (two federations, six update records, one dead letter)
 * and on copies with one promise broken each.
 */
class DeliveryCheckTest {
    static final String TOPIC = "adapter-updates";

    final List<GlobalModel> versions =
            new ArrayList<>(
                    List.of(
                            version("f", 0),
                            version("g", 0),
                            version("f", 1, "u1@0:0", "u2@0:1"),
                            version("g", 1, "w1@1:0", "w2@1:1"),
                            version("f", 2, "u3@0:2")));
    final Set<Position> records =
            new LinkedHashSet<>(
                    List.of(
                            new Position(0, 0),
                            new Position(0, 1),
                            new Position(0, 2),
                            new Position(0, 3),
                            new Position(1, 0),
                            new Position(1, 1)));
    final List<RejectedUpdate> dead = new ArrayList<>(List.of(deadLetter(0, 3)));

    @Test
    void aCleanLogHasNoViolations() {
        DeliveryCheck.Report report = DeliveryCheck.check(versions, records, dead, TOPIC);

        assertThat(report.violations()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.versions()).isEqualTo(5);
        assertThat(report.updateRecords()).isEqualTo(6);
        assertThat(report.deadLetters()).isEqualTo(1);
    }

    @Test
    void aVersionPublishedTwiceIsFlagged() {
        versions.add(version("f", 1, "u1@0:0", "u2@0:1"));

        assertThat(kinds()).contains(Kind.PUBLISHED_TWICE);
    }

    @Test
    void aSkippedVersionIsFlagged() {
        versions.add(version("g", 3, "w3@1:2"));
        records.add(new Position(1, 2));

        assertThat(violations())
                .containsExactly(new Violation(Kind.BROKEN_CHAIN, "g v3 follows v1 on the log"));
    }

    @Test
    void aVersionNamingTheWrongParentIsFlagged() {
        GlobalModel g2 = version("g", 2, "w3@1:2");
        g2.setParentVersion(0);
        versions.add(g2);
        records.add(new Position(1, 2));

        assertThat(violations())
                .containsExactly(new Violation(Kind.BROKEN_CHAIN, "g v2 names parent v0"));
    }

    @Test
    void versionsOutOfOrderOnTheLogAreFlagged() {
        versions.add(2, versions.remove(4)); // f v2 before f v1

        assertThat(kinds()).containsOnly(Kind.BROKEN_CHAIN);
    }

    @Test
    void anAcceptedUpdateInNoManifestIsFlagged() {
        records.add(new Position(1, 7));

        assertThat(violations())
                .containsExactly(
                        new Violation(
                                Kind.IN_NO_MANIFEST,
                                "update record 1@7 is in no manifest and was not dead-lettered"));
    }

    @Test
    void anUpdateInTwoManifestsIsFlagged() {
        versions.add(version("f", 3, "u2@0:1"));

        assertThat(kinds()).containsExactly(Kind.IN_TWO_MANIFESTS);
    }

    @Test
    void theSameUpdateIdCountedFromTwoRecordsIsFlagged() {
        records.add(new Position(0, 9)); // a producer-side duplicate of u1 that was not caught
        versions.add(version("f", 3, "u1@0:9"));

        assertThat(violations())
                .singleElement()
                .satisfies(
                        v -> {
                            assertThat(v.kind()).isEqualTo(Kind.IN_TWO_MANIFESTS);
                            assertThat(v.detail()).startsWith("update id f/u1");
                        });
    }

    @Test
    void deadLetteringTwiceOrAfterCountingIsFlagged() {
        dead.add(deadLetter(0, 3));
        dead.add(deadLetter(0, 0));

        assertThat(kinds())
                .containsExactlyInAnyOrder(
                        Kind.DEAD_LETTERED_TWICE, Kind.COUNTED_AND_DEAD_LETTERED);
    }

    @Test
    void aManifestNamingARecordThatIsNotOnTheTopicIsFlagged() {
        records.remove(new Position(0, 2));

        assertThat(kinds()).containsExactly(Kind.NOT_ON_TOPIC);
    }

    @Test
    void deadLettersOfAnotherTopicAreIgnored() {
        RejectedUpdate other = deadLetter(0, 0);
        other.setSourceTopic("other-topic");
        dead.add(other);

        assertThat(violations()).isEmpty();
    }

    private List<Violation> violations() {
        return DeliveryCheck.check(versions, records, dead, TOPIC).violations();
    }

    private List<Kind> kinds() {
        return violations().stream().map(Violation::kind).toList();
    }

    /** A version with contributions written {@code id@partition:offset}. */
    static GlobalModel version(String fed, long v, String... contributions) {
        List<Contribution> cs = new ArrayList<>();
        for (String c : contributions) {
            String id = c.substring(0, c.indexOf('@'));
            String[] where = c.substring(c.indexOf('@') + 1).split(":");
            cs.add(
                    Contribution.newBuilder()
                            .setUpdateId(id)
                            .setSiteId("s")
                            .setBaseVersion(Math.max(0, v - 1))
                            .setStaleness(0)
                            .setNumExamples(1)
                            .setWeight(1)
                            .setSourcePartition(Integer.parseInt(where[0]))
                            .setSourceOffset(Long.parseLong(where[1]))
                            .build());
        }
        GlobalModel g =
                RoundAggregator.globalModel(
                        Fixtures.SPEC,
                        v,
                        v - 1,
                        new float[][] {new float[6], new float[2]},
                        v == 0 ? CloseReason.GENESIS : CloseReason.QUORUM,
                        "fedavg",
                        Map.of(),
                        cs,
                        cs.size(),
                        0,
                        0);
        g.setFederationId(fed);
        return g;
    }

    static RejectedUpdate deadLetter(int partition, long offset) {
        return RejectedUpdate.newBuilder()
                .setSourceTopic(TOPIC)
                .setSourcePartition(partition)
                .setSourceOffset(offset)
                .setReason(RejectReason.NOT_AVRO)
                .setDetail("not Avro")
                .setRejectedAtMs(Instant.EPOCH)
                .build();
    }
}
