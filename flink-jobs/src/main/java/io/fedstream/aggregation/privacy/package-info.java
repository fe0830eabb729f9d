/**
 * Client-level differential privacy, without Flink: the Gaussian noise of DP-FedAvg keyed by the
 * job secret, federation and version so an audit re-derives it ({@link
 * io.fedstream.aggregation.privacy.DpNoise}), the Rényi DP accountant ({@link
 * io.fedstream.aggregation.privacy.RdpAccountant}, checked against Opacus) and a site's budget.
 */
package io.fedstream.aggregation.privacy;
