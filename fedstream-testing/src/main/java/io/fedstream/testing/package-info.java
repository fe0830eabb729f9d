/**
 * Test fixtures shared by the modules' tests (a test-scope dependency everywhere, never shipped):
 * {@link io.fedstream.testing.DeliveryCheck} (the job's delivery promises checked on the topics),
 * {@link io.fedstream.testing.MiniClusters} (the Flink MiniCluster), {@link
 * io.fedstream.testing.TestTopics} (raw producers, reading until records arrive, a principal's
 * client-properties file), {@link io.fedstream.testing.SigningSites} (sites with signing keys and
 * their registry) and {@link io.fedstream.testing.GlobalVersions} (a global version published as
 * the job publishes it, for worker and command tests without a job).
 *
 * <p>Depends on the protocol (kafka-schemas), the embedded broker and Flink's test utilities only,
 * so the tests of every module, flink-jobs included, can use it without a cycle.
 */
package io.fedstream.testing;
