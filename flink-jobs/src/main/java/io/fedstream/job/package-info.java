/**
 * What the two Flink jobs share: their options ({@link io.fedstream.job.FedStreamOptions}), the
 * round policy ({@link io.fedstream.job.RoundPolicy}, whose admission and closing rules are {@link
 * io.fedstream.aggregation.round.RoundRules}), the raw and outgoing records, dead-letter records
 * and their counters, one Kafka I/O builder ({@link io.fedstream.job.KafkaIo}) and the execution
 * environment ({@link io.fedstream.job.JobEnvironment}); and the types whose names are stored in
 * savepoints. The adapter job is {@link io.fedstream.job.adapter}, the prompt job {@link
 * io.fedstream.job.prompt}; this package depends on neither.
 *
 * <p><b>Frozen names.</b> A savepoint (and a checkpoint a job restores from) records the class name
 * of every type in keyed state and of every serializer snapshot; a renamed or moved class makes the
 * state of every running federation unreadable. These stay here, named as they are: {@link
 * io.fedstream.job.RoundState} and its nested classes ({@code Global}, {@code Meta}, {@code Entry},
 * {@code Pending}, {@code Slot}, {@code HeldChunk}), {@link io.fedstream.job.Decision}, {@link
 * io.fedstream.job.ChunkData}, {@link io.fedstream.job.BulkArraySerializer} and its nested
 * snapshots ({@code FloatsSnapshot}, {@code DoublesSnapshot}), {@link
 * io.fedstream.job.PrivacySpend}, {@link io.fedstream.job.ValidPrompt} and {@link
 * io.fedstream.job.PromptRoundAggregator} with its nested state classes ({@code Current}, {@code
 * Held}). The prompt job's round function stays here for that reason, and with it the two types it
 * needs ({@link io.fedstream.job.PromptFederation}, {@link io.fedstream.job.PromptVersionLookup}),
 * so that this package does not depend on the prompt job's. The legacy-state snapshot tests
 * (RoundCoordinatorTest, which restores snapshots of an earlier job version) fail if one of these
 * names changes.
 */
package io.fedstream.job;
