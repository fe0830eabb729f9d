package io.fedstream.aggregation.round;

import io.fedstream.schemas.avro.RejectReason;
import java.io.Serializable;
import java.time.Duration;

/**
 * The round rules of FedStream, written once: when an update is admitted into the open round and
 * when the round closes. Plain values in, a decision out, no state and no Flink: the adapter job's
 * {@code RoundCoordinator}, the prompt job's {@code PromptRoundAggregator} and the experiments that
 * simulate rounds ({@code FedItExperiment}'s {@code async}) all ask these rules, so they cannot
 * drift apart.
 *
 * <p>Admission, in this order (the adapter job's order): an update already accepted is {@code
 * DUPLICATE_UPDATE}; a base version newer than the current one is {@code FUTURE_BASE_VERSION}; a
 * staleness (current − base) above {@code maxStaleness} is {@code TOO_STALE} (exactly {@code
 * maxStaleness} is admitted). Checks that need the payload (norm, privacy budget, federation and
 * site) belong to the callers.
 *
 * <p>Closing: a round opens with its first admitted update and gets the deadline {@code opened +
 * timeout}. It closes on {@link Close#QUORUM} as soon as it holds {@code quorum} updates; at the
 * deadline (a timer firing exactly at it counts) on {@link Close#DEADLINE} if it holds at least
 * {@code minUpdates}, else it becomes overdue and closes on {@link Close#DEADLINE} with the update
 * that brings it to {@code minUpdates}.
 *
 * @param quorum a round closes as soon as it holds this many updates
 * @param timeoutMs deadline of a round, in ms from its first update
 * @param minUpdates fewest updates a round closes with at its deadline
 * @param maxStaleness updates staler than this are refused
 */
public record RoundRules(int quorum, long timeoutMs, int minUpdates, long maxStaleness)
        implements Serializable {

    public RoundRules {
        if (quorum < 1 || minUpdates < 1 || minUpdates > quorum) {
            throw new IllegalArgumentException(
                    "need 1 <= round.min-updates <= round.quorum, got min-updates="
                            + minUpdates
                            + ", quorum="
                            + quorum);
        }
        if (timeoutMs <= 0) {
            throw new IllegalArgumentException(
                    "round.timeout must be positive: " + Duration.ofMillis(timeoutMs));
        }
        if (maxStaleness < 0) {
            throw new IllegalArgumentException("staleness.max must be >= 0: " + maxStaleness);
        }
    }

    /** The verdict on one update. */
    public sealed interface Admission {
        /** The update joins the open round with this staleness (current − base version). */
        record Admitted(long staleness) implements Admission {}

        /** The update is refused: the reason and a detail for the dead-letter record. */
        record Refused(RejectReason reason, String detail) implements Admission {}
    }

    /** Whether and how a round closes. */
    public enum Close {
        /** The round stays open. */
        NONE,
        /** It holds {@code quorum} updates. */
        QUORUM,
        /** Its deadline passed and it holds at least {@code minUpdates}. */
        DEADLINE
    }

    /** The refusal of an update (site, update id) that was already accepted. */
    public Admission.Refused duplicate(String updateId, String siteId) {
        return new Admission.Refused(
                RejectReason.DUPLICATE_UPDATE,
                "update id " + updateId + " of site " + siteId + " was already accepted");
    }

    /**
     * The version checks of an update not accepted before: its base version against the current
     * one.
     */
    public Admission admit(long currentVersion, long baseVersion) {
        if (baseVersion > currentVersion) {
            return new Admission.Refused(
                    RejectReason.FUTURE_BASE_VERSION,
                    "base version "
                            + baseVersion
                            + " is newer than the current version "
                            + currentVersion);
        }
        long staleness = currentVersion - baseVersion;
        if (staleness > maxStaleness) {
            return new Admission.Refused(
                    RejectReason.TOO_STALE,
                    "staleness "
                            + staleness
                            + " (base "
                            + baseVersion
                            + ", current "
                            + currentVersion
                            + ") exceeds staleness.max "
                            + maxStaleness);
        }
        return new Admission.Admitted(staleness);
    }

    /** All admission checks in their order: duplicate, then {@link #admit(long, long)}. */
    public Admission admit(
            long currentVersion,
            long baseVersion,
            boolean alreadyAccepted,
            String updateId,
            String siteId) {
        return alreadyAccepted ? duplicate(updateId, siteId) : admit(currentVersion, baseVersion);
    }

    /** The deadline of a round opened at {@code openedAtMs}. */
    public long deadline(long openedAtMs) {
        return openedAtMs + timeoutMs;
    }

    /**
     * After an update was admitted: the round now holds {@code count} updates; {@code overdue} if
     * its deadline passed while it held fewer than {@code minUpdates}.
     */
    public Close afterAdmission(int count, boolean overdue) {
        if (count >= quorum) {
            return Close.QUORUM;
        }
        if (overdue && count >= minUpdates) {
            return Close.DEADLINE;
        }
        return Close.NONE;
    }

    /**
     * When the round's deadline timer fires at {@code nowMs}: {@link Close#DEADLINE} if the
     * deadline is reached and the round holds at least {@code minUpdates}, else {@link Close#NONE}
     * (the round is overdue if {@link #overdue} says so).
     */
    public Close atTimer(int count, long deadlineMs, long nowMs) {
        return overdue(deadlineMs, nowMs) && count >= minUpdates ? Close.DEADLINE : Close.NONE;
    }

    /** Whether the deadline is reached at {@code nowMs} (exactly at it counts). */
    public boolean overdue(long deadlineMs, long nowMs) {
        return nowMs >= deadlineMs;
    }

    /**
     * Whether an accepted update of base version {@code baseVersion} can be forgotten once the
     * current version is {@code currentVersion}: its replay would be refused as too stale anyway.
     */
    public boolean forgettable(long baseVersion, long currentVersion) {
        return baseVersion < currentVersion - maxStaleness;
    }
}
