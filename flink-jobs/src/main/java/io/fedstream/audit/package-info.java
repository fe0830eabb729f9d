/**
 * Checks of a federation's published history from the topics, without Flink: the bit-exact
 * recomputation of every version from the updates its manifest names ({@link
 * io.fedstream.audit.FederationAudit}, read from Kafka by {@link io.fedstream.audit.KafkaAudit}).
 */
package io.fedstream.audit;
