/**
 * The adapter job ({@link io.fedstream.job.adapter.AggregationJob}): validation of update records
 * ({@link io.fedstream.job.adapter.UpdateValidator}), the round coordinator that decides round
 * membership per federation ({@link io.fedstream.job.adapter.RoundCoordinator}, with the assembly
 * of chunked updates in {@link io.fedstream.job.adapter.UpdateAssembly}, the central-DP bookkeeping
 * in {@link io.fedstream.job.adapter.PrivacyBookkeeping} and the manifests in {@link
 * io.fedstream.job.adapter.VersionManifests}), the chunk aggregators, the version publisher, dead
 * letters and feedback to the sites, and the lookups a federation starts from. The types these
 * functions keep in state live in {@link io.fedstream.job}, whose names are frozen.
 */
package io.fedstream.job.adapter;
