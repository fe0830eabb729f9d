/**
 * Robust aggregation rules, without Flink: norm clipping, coordinate median, trimmed mean and
 * Multi-Krum behind one {@link io.fedstream.aggregation.robust.RobustRule} interface, chosen by
 * name in {@link io.fedstream.aggregation.robust.RobustRules}.
 */
package io.fedstream.aggregation.robust;
