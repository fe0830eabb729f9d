package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Manifest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobProgressTest {

    static GlobalModel version(long v, CloseReason reason, String... sites) {
        List<Contribution> cs =
                java.util.Arrays.stream(sites)
                        .map(
                                s ->
                                        Contribution.newBuilder()
                                                .setUpdateId(s + "/v" + (v - 1))
                                                .setSiteId(s)
                                                .setBaseVersion(v - 2)
                                                .setStaleness(1)
                                                .setNumExamples(10)
                                                .setWeight(10)
                                                .setSourcePartition(0)
                                                .setSourceOffset(0)
                                                .build())
                        .toList();
        return GlobalModel.newBuilder()
                .setFederationId("demo")
                .setVersion(v)
                .setParentVersion(v - 1)
                .setTensors(List.of())
                .setManifest(
                        Manifest.newBuilder()
                                .setCloseReason(reason)
                                .setRule("fedavg")
                                .setContributions(cs)
                                .setTotalWeight(10)
                                .setRoundOpenedAtMs(Instant.ofEpochMilli(1_000))
                                .setRoundClosedAtMs(Instant.ofEpochMilli(61_000))
                                .setTensorsSha256("00")
                                .build())
                .build();
    }

    @Test
    void aVersionShowsItsCloseReasonContributorsStalenessAndRoundTime() {
        String line =
                JobProgress.describe(
                        version(4, CloseReason.QUORUM, "site-1", "site-2"),
                        2,
                        Duration.ofSeconds(60));
        assertThat(line)
                .contains("demo version 4")
                .contains("QUORUM")
                .contains("2 updates from 2 sites [site-1, site-2]")
                .contains("staleness mean 1.00 max 1")
                .contains("round 60.0 s")
                .doesNotContain("deadline");
    }

    @Test
    void aDeadlineWithFewerSitesThanTheQuorumSaysWhy() {
        String line =
                JobProgress.describe(
                        version(5, CloseReason.DEADLINE, "site-1"), 3, Duration.ofSeconds(60));
        assertThat(line)
                .contains("DEADLINE")
                .contains(
                        "closed at its deadline (fedstream.round.timeout PT1M) with 1 of the quorum of 3")
                .contains("fewer sites than the quorum");
    }

    @Test
    void defaultQuorumIsAllSitesButOne() {
        assertThat(JobCommand.defaultQuorum(1)).isEqualTo(1);
        assertThat(JobCommand.defaultQuorum(2)).isEqualTo(1);
        assertThat(JobCommand.defaultQuorum(3)).isEqualTo(2);
    }
}
