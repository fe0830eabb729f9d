package io.fedstream.aggregation.round;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.aggregation.round.RoundRules.Admission;
import io.fedstream.aggregation.round.RoundRules.Close;
import io.fedstream.schemas.avro.RejectReason;
import org.junit.jupiter.api.Test;

class RoundRulesTest {
    /**
     * quorum 3, deadline 1000 ms after the first update, at least 2 at the deadline, staleness ≤ 2.
     */
    private final RoundRules rules = new RoundRules(3, 1_000, 2, 2);

    @Test
    void anUpdateExactlyAtTheStalenessLimitIsAdmitted() {
        assertThat(rules.admit(7, 5)).isEqualTo(new Admission.Admitted(2));
    }

    @Test
    void anUpdateOneVersionBeyondTheStalenessLimitIsTooStale() {
        assertThat(rules.admit(7, 4))
                .isEqualTo(
                        new Admission.Refused(
                                RejectReason.TOO_STALE,
                                "staleness 3 (base 4, current 7) exceeds staleness.max 2"));
    }

    @Test
    void anUpdateOnTheCurrentVersionIsFresh() {
        assertThat(rules.admit(7, 7)).isEqualTo(new Admission.Admitted(0));
    }

    @Test
    void anUpdateFromTheFutureIsRefused() {
        assertThat(rules.admit(7, 8))
                .isEqualTo(
                        new Admission.Refused(
                                RejectReason.FUTURE_BASE_VERSION,
                                "base version 8 is newer than the current version 7"));
    }

    @Test
    void aDuplicateIsRefusedBeforeItsVersionIsLookedAt() {
        // a replay that is also from the future or too stale is reported as the duplicate it is
        assertThat(rules.admit(7, 8, true, "u1", "s1"))
                .isEqualTo(
                        new Admission.Refused(
                                RejectReason.DUPLICATE_UPDATE,
                                "update id u1 of site s1 was already accepted"));
        assertThat(rules.admit(7, 0, true, "u1", "s1"))
                .extracting(a -> ((Admission.Refused) a).reason())
                .isEqualTo(RejectReason.DUPLICATE_UPDATE);
        assertThat(rules.admit(7, 6, false, "u1", "s1")).isEqualTo(new Admission.Admitted(1));
    }

    @Test
    void theRoundClosesOnQuorumExactlyWhenItIsReached() {
        assertThat(rules.afterAdmission(2, false)).isEqualTo(Close.NONE);
        assertThat(rules.afterAdmission(3, false)).isEqualTo(Close.QUORUM);
        // quorum wins over an overdue deadline
        assertThat(rules.afterAdmission(3, true)).isEqualTo(Close.QUORUM);
    }

    @Test
    void theDeadlineIsTheTimeoutAfterTheFirstUpdate() {
        assertThat(rules.deadline(5_000)).isEqualTo(6_000);
    }

    @Test
    void aTimerExactlyAtTheDeadlineClosesARoundWithTheMinimum() {
        long deadline = rules.deadline(5_000);
        assertThat(rules.atTimer(2, deadline, deadline)).isEqualTo(Close.DEADLINE);
        assertThat(rules.atTimer(2, deadline, deadline - 1)).isEqualTo(Close.NONE);
        assertThat(rules.overdue(deadline, deadline)).isTrue();
        assertThat(rules.overdue(deadline, deadline - 1)).isFalse();
    }

    @Test
    void aRoundBelowTheMinimumAtTheDeadlineStaysOpenUntilTheMinimumArrives() {
        long deadline = rules.deadline(0);
        assertThat(rules.atTimer(1, deadline, deadline)).isEqualTo(Close.NONE);
        assertThat(rules.overdue(deadline, deadline)).isTrue();
        // overdue: the update that brings it to the minimum closes it on the deadline
        assertThat(rules.afterAdmission(2, true)).isEqualTo(Close.DEADLINE);
        // not overdue: the same count keeps it open
        assertThat(rules.afterAdmission(2, false)).isEqualTo(Close.NONE);
    }

    @Test
    void acceptedIdsAreForgottenOnlyOnceTheirReplayWouldBeTooStale() {
        // current 7, max 2: base 5 is still admissible (a replay must be caught as a duplicate)
        assertThat(rules.forgettable(5, 7)).isFalse();
        assertThat(rules.forgettable(4, 7)).isTrue();
        assertThat(rules.admit(7, 4)).isInstanceOf(Admission.Refused.class);
    }

    @Test
    void inconsistentRulesAreRefused() {
        assertThatThrownBy(() -> new RoundRules(2, 1_000, 3, 0))
                .hasMessage(
                        "need 1 <= round.min-updates <= round.quorum, got min-updates=3, quorum=2");
        assertThatThrownBy(() -> new RoundRules(2, 0, 1, 0))
                .hasMessageContaining("round.timeout must be positive");
        assertThatThrownBy(() -> new RoundRules(2, 1_000, 1, -1))
                .hasMessage("staleness.max must be >= 0: -1");
    }
}
