/**
 * A real Apache Kafka broker (KRaft, one node) started inside the JVM: {@link
 * io.fedstream.embedded.EmbeddedKafka}, plain or secured with SASL/SCRAM and ACLs ({@code
 * ScramSetup}). For tests and {@code ./fedstream local}; it knows nothing of FedStream's topics or
 * ACLs, which are the protocol's ({@code io.fedstream.schemas.kafka} in kafka-schemas).
 */
package io.fedstream.embedded;
