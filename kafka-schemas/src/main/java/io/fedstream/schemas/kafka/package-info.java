/**
 * The Kafka contract between the jobs, the sites and the operators, in one place: who may do what
 * ({@link io.fedstream.schemas.kafka.FederationAcls}, mirrored by the Strimzi {@code KafkaUser}s in
 * {@code k8s/base/users.yaml}), the jobs' default consumer groups and transactional-id prefixes
 * ({@link io.fedstream.schemas.kafka.ClientIds}), and how a topic is read once to its end without a
 * group ({@link io.fedstream.schemas.kafka.TopicReader}). The topic names are {@link
 * io.fedstream.schemas.Topics}.
 *
 * <p>A package of its own, inside the protocol module's root package, because this is the part that
 * needs Kafka's client types ({@code AclBinding}, consumers) while the wire format does not; it was
 * in the test-broker module ({@code io.fedstream.security}) and in the jobs' module before.
 */
package io.fedstream.schemas.kafka;
