/**
 * The round rules, once and without Flink: when an update is admitted into the open round
 * (duplicate, base version from the future, staleness limit) and when a round closes (quorum,
 * deadline, minimum at the deadline). Both jobs and the experiments that simulate rounds ask {@link
 * io.fedstream.aggregation.round.RoundRules}.
 */
package io.fedstream.aggregation.round;
