/**
 * The maths of a global version, without Flink: the weighted accumulation of update chunks ({@link
 * io.fedstream.aggregation.WeightedAccumulator}, {@link io.fedstream.aggregation.VectorAccumulate}
 * over little-endian float32 bytes), the staleness discounts ({@link
 * io.fedstream.aggregation.StalenessFunction}). Sub-packages: {@code round} (when an update counts
 * and when a round closes), {@code robust} (robust aggregation rules), {@code privacy} (DP-FedAvg
 * noise and the RDP accountant), {@code prompt} (the FedDTPT prompt merge). The jobs and the audit
 * call these; none of them imports Flink.
 */
package io.fedstream.aggregation;
