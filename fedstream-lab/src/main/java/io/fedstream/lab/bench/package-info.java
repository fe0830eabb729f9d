/**
 * {@code ./fedstream bench}: measurements that print their own table — digest, aggregate (JMH),
 * python, train, decoder, e2e (docs/benchmarks.md).
 */
package io.fedstream.lab.bench;
